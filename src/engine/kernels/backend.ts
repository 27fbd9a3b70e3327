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
 * With `bias` (N values; nn.ts linear's bias add, fused): then C[b,i,j] = f32(C[b,i,j] + bias[j]).
 */
/** One Merkle subtree of a tensor's commitment tree: its bytes, its chunk count, the subtree's place. */
export interface SubtreeTask {
  bytes: Uint8Array;
  chunks: number;
  first: number;
  height: number;
}

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
  bias?: Float32Array | null;
}

/**
 * One AdamW update, in place on w, m, v (g read only), all of one length. The constants are
 * binary32 values computed once per step (optim.ts). Canonical program, per element i:
 *   if weightDecay != 0:  w = f32(w - f32(decay * w))
 *   m = f32(f32(b1 * m) + f32(c1 * g))
 *   v = f32(f32(b2 * v) + f32(f32(c2 * g) * g))
 *   denom = f32(f32(f32(sqrt(v)) / sbc2) + eps)
 *   w = f32(w - f32(stepSize * f32(m / denom)))
 */
export interface AdamwConstants {
  b1: number; c1: number; b2: number; c2: number; sbc2: number; eps: number;
  stepSize: number; decay: number; weightDecay: number;
}

/**
 * One SGD-with-momentum update, in place on w and buf. Canonical program, per element i:
 *   if wd != 0:  g = f32(g + f32(wd * w))
 *   buf = first ? g : f32(f32(mu * buf) + g)
 *   w = f32(w - f32(lr * buf))
 */
export interface SgdConstants {
  mu: number; wd: number; lr: number; first: boolean;
}

/**
 * Elementwise binary ops. Canonical program, for every output element i:
 *   out[i] = f32(a[ia(i)] OP b[ib(i)])
 * with OP: add +, sub -, mul *, div /, maximum (IEEE/JS Math.max: NaN if either is NaN,
 * maximum(-0, +0) = +0), greater (1 if a > b else 0; NaN compares false).
 */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'greater';

/**
 * Elementwise unary ops: neg -x (exact), sqrt f32(sqrt(x)) (correctly rounded), exp/log/tanh the
 * scalar programs of math.ts (expf, logf, tanhf).
 */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'tanh';

/**
 * How an operand of an n-element elementwise result is indexed: element i reads
 * x[floor(i / inner) % mid]. Same shape: { mid: n, inner: 1 }; a scalar: { mid: 1, inner: 1 };
 * a bias [C] on [rows, C]: { mid: C, inner: 1 }; per-row statistics [rows] on [rows, C]:
 * { mid: rows, inner: C }. (Broadcasts of other forms are indexed by the engine itself.)
 */
export interface Broadcast {
  mid: number;
  inner: number;
}

/**
 * The geometry of im2col/col2im on x [N, C, H, W] with a kh×kw window: output [C*kh*kw, N*OH*OW],
 * row (c, ky, kx), column (n, oy, ox), reading x[n, c, oy*stride + ky - pad, ox*stride + kx - pad]
 * (+0 outside x). col2im (its backward) adds, rows ascending then columns ascending, each value
 * of g into its source pixel of out (which the caller zeroes).
 */
export interface Im2colGeometry {
  N: number; C: number; H: number; W: number;
  kh: number; kw: number; stride: number; pad: number; OH: number; OW: number;
}

/**
 * Reductions over the middle axis of x viewed as [outer, L, inner]. Canonical program, for every
 * output element (o, i):
 *   acc = +0 (sum) or -Inf (max)
 *   for l = 0 .. L-1 ascending:  acc = f32(acc + x[o, l, i])  or  acc = maximum(acc, x[o, l, i])
 *   out[o*inner + i] = acc
 * Work may be split across output elements, never across l.
 */
export type ReduceOp = 'sum' | 'max';

/**
 * GELU, tanh form, exactly nn.ts gelu's composition of primitives. Canonical program per element:
 *   x2 = x*x;  x3 = x2*x;  t = x3*C1;  u = x + t;  v = u*C2;  th = tanhf(v);  h = x*0.5;  a = th + 1
 *   y = h*a
 * with C1 = f32(0.044715), C2 = f32(0.7978845834732056).
 *
 * Its gradient, as autograd accumulates it through that composition (reverse topological order of
 * the composition's nodes; `prev` is the gradient x already holds from consumers processed
 * before, absent when none), per element, with the forward values above:
 *   gh = g*a;  ga = g*h;  gv = ga*(1 - th*th);  gu = gv*C2
 *   acc = prev + gu (or gu);  gx3 = gu*C1;  acc = acc + gx3*x2;  gx2 = gx3*x
 *   acc = acc + gx2*x;  acc = acc + gx2*x;  acc = acc + gh*0.5
 *   out = acc
 */
export const GELU_C1 = Math.fround(0.044715);
export const GELU_C2 = Math.fround(0.7978845834732056);

/**
 * Softmax over the last axis of x viewed as [rows, L], of w = x, w = f32(x*scale), or
 * w = f32(f32(x*scale) + mask[r % maskRows, j]): nn.ts softmax(add(mul(x, scale), mask), -1)'s
 * composition op for op. Canonical program per row r:
 *   w[j] as above;  m = maximum over j ascending from -Inf of w[j]
 *   e[j] = expf(w[j] - m);  s = +0, then for j ascending s = f32(s + e[j]);  y[j] = e[j] / s
 * e and s are outputs too (the backward reads them).
 *
 * Its backward as autograd accumulates it (g: the gradient of y; prev: what x already holds):
 *   gs = +0, then for j ascending gs = f32(gs + (-((g[j]*y[j]) / s)))
 *   gx[j] = ((g[j] / s) + gs) * e[j];  with a scale: gx[j] = gx[j] * scale
 *   out[j] = prev ? prev[j] + gx[j] : gx[j]
 */
export interface SoftmaxOptions {
  rows: number;
  L: number;
  /** Multiply x by this binary32 value first (null: no scaling). */
  scale: number | null;
  /** Added after the scaling, row r % maskRows of a [maskRows, L] array (null: none). */
  mask: Float32Array | null;
  maskRows: number;
}

/**
 * Layer norm over the last axis of x viewed as [rows, D]: nn.ts layerNorm's composition op for op.
 * Canonical program per row (eps a binary32 value, D exact):
 *   s1 = +0, for j ascending s1 = f32(s1 + x[j]);  mu = s1 / D;  xc[j] = x[j] - mu
 *   s2 = +0, for j ascending s2 = f32(s2 + f32(xc[j]*xc[j]));  v = s2 / D;  sd = sqrt(v + eps)
 *   xh[j] = xc[j] / sd;  y[j] = f32(xh[j]*gamma[j]) + beta[j]
 * mu and sd (per row) are outputs too (the backward reads them).
 *
 * Its backward as autograd accumulates it (g: the gradient of y; prev: what x already holds), per
 * row with xc, xh recomputed from mu and sd as above:
 *   g9[j] = g[j]*gamma[j];  gsd = +0, for j ascending gsd = f32(gsd + (-((g9[j]*xh[j]) / sd)))
 *   g5 = (gsd / (sd*2)) / D;  g3[j] = ((g9[j] / sd) + g5*xc[j]) + g5*xc[j]
 *   acc[j] = prev ? prev[j] + g3[j] : g3[j];  gmu = +0, for j ascending gmu = f32(gmu + (-g3[j]))
 *   out[j] = acc[j] + (gmu / D)
 * and, over rows r ascending from +0 per column j: gBeta[j] += g[r, j], gGamma[j] += f32(g[r, j]*xh[r, j])
 * (the contributions to gamma's and beta's gradients).
 */
export interface LayerNormOptions {
  rows: number;
  D: number;
  eps: number;
}

export interface Backend {
  readonly name: string;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void;
  binary(op: BinaryOp, a: Float32Array, ba: Broadcast, b: Float32Array, bb: Broadcast, out: Float32Array): void;
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, L: number, inner: number): void;
  /**
   * A movement (exact copies, no arithmetic): out, dense row-major over `shape`, gets
   * out[e] = x[Σ_k idx_k(e) * strides[k]] where idx(e) is e's multi-index in shape (permute).
   */
  gatherStrided(x: Float32Array, out: Float32Array, shape: readonly number[], strides: readonly number[]): void;
  /** Rows of a table: out[p*row + j] = table[indices[p]*row + j] (copies; indices already checked). */
  gatherRows(table: Float32Array, indices: Int32Array, row: number, out: Float32Array): void;
  /**
   * gather's backward (scatter-add), onto out (as given, usually zeros): for p ascending, for j:
   * out[indices[p]*row + j] = f32(out[..] + g[p*row + j]), so each row sums in ascending p.
   */
  scatterAddRows(g: Float32Array, indices: Int32Array, row: number, out: Float32Array): void;
  /** im2col (program above Im2colGeometry); out is overwritten, padded positions +0. */
  im2col(x: Float32Array, geo: Im2colGeometry, out: Float32Array): void;
  /** col2im onto out (program above Im2colGeometry). */
  col2im(g: Float32Array, geo: Im2colGeometry, out: Float32Array): void;
  /** Sum of all elements: acc = +0; for i ascending: acc = f32(acc + x[i]). */
  sumAll(x: Float32Array): number;
  /** acc, then for i ascending: acc = f32(acc + f32(x[i] * x[i])) (global-norm clipping). */
  sumSquares(x: Float32Array, acc: number): number;
  /** GELU forward (program above GELU_C1); with `th`, also its tanhf(v) values (for the backward). */
  gelu(x: Float32Array, out: Float32Array, th?: Float32Array | null): void;
  /**
   * GELU backward with accumulation into `prev` (program above GELU_C1); out may be prev. With
   * `th` (the forward's tanhf(v) values) tanh is not recomputed: the same values either way.
   */
  geluBackward(x: Float32Array, g: Float32Array, prev: Float32Array | null, out: Float32Array, th?: Float32Array | null): void;
  /** Softmax forward (program above SoftmaxOptions): y and e are rows×L, s is rows. */
  softmax(x: Float32Array, o: SoftmaxOptions, y: Float32Array, e: Float32Array, s: Float32Array): void;
  /** Layer norm forward (program above LayerNormOptions): y is rows×D, mu and sd are rows. */
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, o: LayerNormOptions, y: Float32Array, mu: Float32Array, sd: Float32Array): void;
  /** Layer norm backward (program above LayerNormOptions); out may be prev. */
  layerNormBackward(
    x: Float32Array, gamma: Float32Array, mu: Float32Array, sd: Float32Array, g: Float32Array, o: LayerNormOptions,
    prev: Float32Array | null, out: Float32Array, gGamma: Float32Array, gBeta: Float32Array,
  ): void;
  /** Softmax backward (program above SoftmaxOptions); out may be prev. */
  softmaxBackward(g: Float32Array, y: Float32Array, e: Float32Array, s: Float32Array, o: SoftmaxOptions, prev: Float32Array | null, out: Float32Array): void;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamwConstants): void;
  sgd(w: Float32Array, g: Float32Array, buf: Float32Array, c: SgdConstants): void;
  /** True when no element is NaN or infinite. */
  allFinite(x: Float32Array): boolean;
  /** A zeroed array the backend's kernels can use in place (state that lives across steps). */
  alloc(n: number): Float32Array;
  /**
   * An array for intermediate results (a training step's tensors), valid until the mark() taken
   * before it is released; take it only between mark() and release(). Zeroed only when asked.
   */
  temp(n: number, zero?: boolean): Float32Array;
  /** The position of the temporary arena; release(m) frees every temp() array taken since. */
  mark(): number;
  release(mark: number): void;
  /**
   * Merkle subtree roots (engine/kernels/wasm/merkle.ts) of tensors in this backend's memory, on
   * its threads: 32 bytes per task, in order; null when it cannot (no threads, or data elsewhere).
   */
  subtreeRoots?(tasks: readonly SubtreeTask[]): Uint8Array | null;
  /**
   * Worker threads that poll for the next kernel call stop polling and sleep until it comes, so
   * other parallel work between calls (hashing a state) gets their cores. Speed only.
   */
  idle?(): void;
  /** Release worker threads etc. The backend must not be used afterwards. */
  close?(): Promise<void> | void;
}
