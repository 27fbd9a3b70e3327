// The canonical programs, in plain TypeScript: the oracle every fast kernel must equal bit for bit.
import type { Backend, MatmulParams } from './backend.ts';

const fround = Math.fround;

export function matmulReference(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void {
  const { batch, M, K, N, transA, transB } = p;
  // (row stride, col stride) of op(A) and op(B) as stored.
  const [aRs, aCs] = transA ? [1, M] : [K, 1];
  const [bRs, bCs] = transB ? [1, K] : [N, 1];
  for (let bi = 0; bi < batch; bi++) {
    const aBase = p.aOffset + bi * p.aBatchStride;
    const bBase = p.bOffset + bi * p.bBatchStride;
    const cBase = bi * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc = fround(acc + fround(a[aBase + i * aRs + k * aCs] * b[bBase + k * bRs + j * bCs]));
        }
        c[cBase + i * N + j] = acc;
      }
    }
  }
}

export const referenceBackend: Backend = {
  name: 'reference',
  matmul: matmulReference,
};
