// The canonical programs, in plain TypeScript: the oracle every fast kernel must equal bit for bit.
import type { AdamwConstants, Backend, MatmulParams, SgdConstants } from './backend.ts';

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

export function adamwReference(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamwConstants): void {
  const { b1, c1, b2, c2, sbc2, eps, stepSize, decay } = c;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    if (c.weightDecay !== 0) w[i] = w[i] - fround(decay * w[i]);
    const mi = fround(fround(b1 * m[i]) + fround(c1 * gi));
    const vi = fround(fround(b2 * v[i]) + fround(fround(c2 * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    const denom = fround(fround(fround(Math.sqrt(vi)) / sbc2) + eps);
    w[i] = w[i] - fround(stepSize * fround(mi / denom));
  }
}

export function sgdReference(w: Float32Array, g: Float32Array, buf: Float32Array, c: SgdConstants): void {
  const { mu, wd, lr, first } = c;
  for (let i = 0; i < w.length; i++) {
    let gi = g[i];
    if (wd !== 0) gi = fround(gi + fround(wd * w[i]));
    const b = first ? gi : fround(fround(mu * buf[i]) + gi);
    buf[i] = b;
    w[i] = w[i] - fround(lr * b);
  }
}

export function allFiniteReference(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

export const referenceBackend: Backend = {
  name: 'reference',
  matmul: matmulReference,
  adamw: adamwReference,
  sgd: sgdReference,
  allFinite: allFiniteReference,
  alloc: (n) => new Float32Array(n),
};
