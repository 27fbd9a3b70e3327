// The kernel interface. The engine's plain TypeScript programs (reference.ts) are the spec; any
// backend (WASM SIMD, later native AVX2 or GPU) must produce the same bits and is tested against them.

/**
 * Batched matrix product: for each batch b, C[b] (M×N) = op(A[b]) (M×K) · op(B[b]) (K×N).
 *
 * Storage is row-major. With `transA`, A[b] is stored K×M and op(A) is its transpose; likewise
 * `transB` (B stored N×K). `aBatchStride`/`bBatchStride` are element offsets between batches
 * (0 broadcasts one matrix to every batch). C is dense: batch × M × N, overwritten.
 *
 * Canonical scalar program (the referee recomputes exactly this), for every b, i, j:
 *   acc = +0
 *   for k = 0 .. K-1 ascending:  acc = f32(acc + f32(A(i,k) * B(k,j)))
 *   C[b,i,j] = acc
 * No FMA: the product is rounded to binary32 before the add. Work may be split across output
 * elements (tiles, SIMD lanes, threads), never across k.
 */
export interface MatmulParams {
  batch: number;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  aOffset: number;
  bOffset: number;
  aBatchStride: number;
  bBatchStride: number;
}

export interface Backend {
  readonly name: string;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void;
  /** Release worker threads etc. The backend must not be used afterwards. */
  close?(): Promise<void> | void;
}
