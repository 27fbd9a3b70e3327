// Composites: every function here is a fixed composition of the primitives in ops.ts, so its
// scalar program is the concatenation of theirs and its gradient comes from autograd.
//
// Fast paths: gelu, softmax (also with the attention's scale and mask) and layerNorm run as one
// fused kernel each (kernels/backend.ts has their programs) when fusionAllowed(): the same binary32
// operations in the same order, forward and backward (kernels/fused.test.ts checks them against
// the composition and autograd). With an op observer set, or finite checks on, the composition
// itself runs, so every primitive is reported.
import { ShapeError } from '../errors.ts';
import { getBackend } from './kernels/current.ts';
import type { SoftmaxOptions } from './kernels/backend.ts';
import {
  add, div, exp, gather, log, matmul, max, maximum, mul, neg, permute, reshape, slice, sqrt, sub, sum,
  tanh, conv2d as conv2dPrim,
} from './ops.ts';
import { uniforms, type RngStream } from './rng.ts';
import { fusionAllowed, isGradEnabled, makeFused, newData, Tensor } from './tensor.ts';
import { traceInput, traceOp, tracing } from './trace.ts';

export { conv2dPrim as conv2d };

export const relu = (x: Tensor): Tensor => maximum(x, 0);

/**
 * sigmoid(x) = 1 / (1 + exp(-max(x, -88))); saturates to exactly 1 above and to ~6e-39 below.
 * The clamp keeps exp finite (expf overflows past 88.72): without it the backward pass computes
 * (-0)·Inf = NaN for x < -88.7, and withFiniteChecks rejects the forward pass.
 */
export const sigmoid = (x: Tensor): Tensor => div(1, add(1, exp(neg(maximum(x, -88)))));

export { tanh };

/** GELU, tanh form (GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Constants are binary32. */
export function gelu(x: Tensor): Tensor {
  if (fusionAllowed()) return geluFused(x);
  const x3 = mul(mul(x, x), x);
  const inner = mul(add(x, mul(x3, 0.044715)), 0.7978845834732056);
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

function geluFused(x: Tensor): Tensor {
  const y = newData(x.size);
  // Keep tanh's values for the backward when there will be one (recomputing them is most of its cost).
  const th = x.requiresGrad && isGradEnabled() ? newData(x.size) : null;
  getBackend().gelu(x.data, y, th);
  return makeFused('gelu', y, x.shape, [x], (g, [prev]) => {
    const gx = newData(x.size);
    getBackend().geluBackward(x.data, g.data, prev ? prev.data : null, gx, th);
    return [new Tensor(gx, x.shape)];
  });
}

/** softmax along an axis: e = exp(x - max(x)), e / sum(e). The max is a constant (no gradient). */
export function softmax(x: Tensor, axis = -1): Tensor {
  if (fusionAllowed() && x.rank > 0 && (axis === -1 || axis === x.rank - 1)) return softmaxFused(x, null, null);
  const e = exp(sub(x, max(x.detach(), axis, true)));
  return div(e, sum(e, axis, true));
}

/**
 * softmax(x·scale + mask) over the last axis, mask [T, L] on x [..., T, L]: the attention
 * weights. Exactly softmax(add(mul(x, scale), mask), -1).
 */
export function scaledMaskedSoftmax(x: Tensor, scale: number, mask: Tensor): Tensor {
  const r = x.rank;
  const fits = r >= 2 && mask.rank === 2 && mask.shape[0] === x.shape[r - 2] && mask.shape[1] === x.shape[r - 1];
  if (fusionAllowed() && fits) return softmaxFused(x, Math.fround(scale), mask);
  return softmax(add(mul(x, scale), mask), -1);
}

function softmaxFused(x: Tensor, scale: number | null, mask: Tensor | null): Tensor {
  const L = x.shape[x.rank - 1];
  const rows = L === 0 ? 0 : x.size / L;
  const o: SoftmaxOptions = { rows, L, scale, mask: mask ? mask.data : null, maskRows: mask ? mask.shape[0] : 1 };
  const y = newData(x.size), e = newData(x.size), s = newData(rows);
  getBackend().softmax(x.data, o, y, e, s);
  return makeFused('softmax', y, x.shape, [x], (g, [prev]) => {
    const gx = newData(x.size);
    getBackend().softmaxBackward(g.data, y, e, s, o, prev ? prev.data : null, gx);
    return [new Tensor(gx, x.shape)];
  });
}

/** log-softmax along an axis: z - log(sum(exp(z))) with z = x - max(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const z = sub(x, max(x.detach(), axis, true));
  return sub(z, log(sum(exp(z), axis, true)));
}

/** Mean cross-entropy of logits [N, C] against integer labels: -sum(onehot · logSoftmax) / N. */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  if (logits.rank !== 2 || logits.shape[0] !== labels.length) {
    throw new ShapeError(`crossEntropy needs logits [N, C] and N labels, got [${logits.shape}] and ${labels.length}`);
  }
  const [N, C] = logits.shape;
  const onehot = newData(N * C, true);
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    if (!(l >= 0 && l < C)) throw new ShapeError(`label ${l} at row ${i} out of range [0, ${C})`);
    onehot[i * C + l] = 1;
  }
  const hot = new Tensor(onehot, [N, C]);
  if (tracing) traceOp('onehot', { classes: C }, [labels], hot);
  const picked = sum(mul(logSoftmax(logits, 1), hot));
  return div(neg(picked), N);
}

export function mean(x: Tensor, axis?: number, keepDims = false): Tensor {
  if (axis === undefined) return div(sum(x), x.size);
  const n = x.shape[axis < 0 ? axis + x.rank : axis];
  return div(sum(x, axis, keepDims), n);
}

/** Layer norm over the last axis: (x - mean) / sqrt(var + eps) · gamma + beta (biased variance). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const D = x.rank > 0 ? x.shape[x.rank - 1] : 0;
  if (fusionAllowed() && D > 0 && gamma.rank === 1 && beta.rank === 1 && gamma.size === D && beta.size === D) return layerNormFused(x, gamma, beta, eps);
  const xc = sub(x, mean(x, -1, true));
  const v = mean(mul(xc, xc), -1, true);
  return add(mul(div(xc, sqrt(add(v, eps))), gamma), beta);
}

function layerNormFused(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const D = x.shape[x.rank - 1];
  const o = { rows: x.size / D, D, eps: Math.fround(eps) };
  const y = newData(x.size), mu = newData(o.rows), sd = newData(o.rows);
  getBackend().layerNorm(x.data, gamma.data, beta.data, o, y, mu, sd);
  return makeFused('layerNorm', y, x.shape, [x, gamma, beta], (g, [px, pg, pb]) => {
    const gx = newData(x.size), gg = newData(D), gb = newData(D);
    getBackend().layerNormBackward(x.data, gamma.data, mu, sd, g.data, o, px ? px.data : null, gx, gg, gb);
    // gamma and beta: prev + contribution, as addInto would (their contributions are column sums).
    const acc = (prev: Tensor | null, c: Float32Array, shape: readonly number[]): Tensor => {
      if (!prev) return new Tensor(c, shape);
      const all = { mid: c.length, inner: 1 };
      const out = newData(c.length);
      getBackend().binary('add', prev.data, all, c, all, out);
      return new Tensor(out, shape);
    };
    return [new Tensor(gx, x.shape), acc(pg, gg, gamma.shape), acc(pb, gb, beta.shape)];
  });
}

/** y = x·W + b with W [in, out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (b && fusionAllowed() && x.rank >= 2 && w.rank === 2 && b.rank === 1 && b.size === w.shape[1] && x.shape[x.rank - 1] === w.shape[0]) {
    return linearFused(x, w, b);
  }
  const y = matmul(x, w);
  return b ? add(y, b) : y;
}

/**
 * add(matmul(x, w), b) as one node: the bias is added in the matmul's store (backend.ts
 * MatmulParams.bias, the same f32(C + b[j])). Backward as autograd goes through the two: b gets
 * the column sums of g, then x and w what matmul's backward gives them for g.
 */
function linearFused(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const [K, N] = w.shape;
  const rows = x.size / K;
  const y = newData(rows * N);
  getBackend().matmul(x.data, w.data, y, {
    batch: 1, M: rows, K, N, transA: false, transB: false, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0, bias: b.data,
  });
  const shape = [...x.shape.slice(0, -1), N];
  return makeFused('linear', y, shape, [x, w, b], (g, [px, pw, pb]) => {
    const be = getBackend();
    const acc = (prev: Tensor | null, t: Tensor): Tensor => {
      if (!prev) return t;
      const all = { mid: t.size, inner: 1 };
      const out = newData(t.size);
      be.binary('add', prev.data, all, t.data, all, out);
      return new Tensor(out, t.shape);
    };
    const gb = newData(N);
    be.reduce('sum', g.data, gb, 1, rows, N);
    const gx = x.requiresGrad ? matmul(g, w.detach(), { transB: true }) : null;
    const gw = w.requiresGrad ? matmul(reshape(x.detach(), [rows, K]), reshape(g, [rows, N]), { transA: true }) : null;
    return [gx && acc(px, gx), gw && acc(pw, gw), acc(pb, new Tensor(gb, b.shape))];
  });
}

/**
 * Inverted dropout: keep where u >= p (u uniform from the stream at `offset`), scale by 1/(1-p).
 * The mask is a pure function of (stream, offset), so replay gets the same mask.
 */
export function dropout(x: Tensor, p: number, stream: RngStream, offset: number): Tensor {
  if (p <= 0) return x;
  const u = uniforms(stream, offset, x.size);
  const pf = Math.fround(p); // every comparison and op of the program is on binary32 values
  const scale = Math.fround(1 / Math.fround(1 - pf));
  const m = new Float32Array(x.size);
  for (let i = 0; i < m.length; i++) m[i] = u[i] >= pf ? scale : 0;
  const mask = new Tensor(m, x.shape);
  if (tracing) {
    const key = traceKey(stream);
    traceInput('step.rngKey', key);
    traceOp('dropoutMask', { p: pf, offset }, [key], mask);
  }
  return mul(x, mask);
}

// One Int32Array per stream, so that every dropout call of a step names the same key input.
const traceKeys = new WeakMap<RngStream, Int32Array>();
function traceKey(s: RngStream): Int32Array {
  let k = traceKeys.get(s);
  if (!k) traceKeys.set(s, (k = new Int32Array(s.key)));
  return k;
}

export function embedding(table: Tensor, ids: Int32Array, shape: readonly number[]): Tensor {
  return gather(table, ids, shape);
}

/** 2×2 max pooling with stride 2 on [N, C, H, W] (H, W even). */
export function maxPool2x2(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  if (x.rank !== 4 || H % 2 || W % 2) throw new ShapeError(`maxPool2x2 needs [N, C, even H, even W], got [${x.shape}]`);
  const r = permute(reshape(x, [N, C, H / 2, 2, W / 2, 2]), [0, 1, 2, 4, 3, 5]);
  return max(reshape(r, [N, C, H / 2, W / 2, 4]), -1);
}

const causalMasks = new Map<number, Tensor>();

/** [T, T] additive mask: 0 on and below the diagonal, -1e30 above (finite, so exp gives exactly 0). */
function causalMask(T: number): Tensor {
  let m = causalMasks.get(T);
  if (!m) {
    const d = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) d[i * T + j] = -1e30;
    m = new Tensor(d, [T, T]);
    causalMasks.set(T, m);
  }
  return m;
}

const ZERO = new Float32Array([0]);

/**
 * The fused form of reshape(slice(x, 0, i, i + 1), shape) for the `n` equal parts of a fresh x
 * that nothing else consumes: part i is a view of x's data (no copy). Autograd through the
 * composition adds one zero-padded gradient per part into x's, ((pad + pad) + pad) in processing
 * order, which is g_i + 0 in part i's block and +0 elsewhere (x + +0 is x except -0 -> +0), so
 * here each part writes g_i + 0 into its block of one zeroed buffer that the parts share.
 */
function partsOf(x: Tensor, n: number): (i: number, shape: readonly number[]) => Tensor {
  const len = x.size / n;
  const shared = new Set<Tensor>();
  return (i, shape) => makeFused('part', x.data.subarray(i * len, (i + 1) * len), shape, [x], (g, [prev]) => {
    if (prev && !shared.has(prev)) throw new ShapeError('partsOf: the split tensor has another consumer');
    let G = prev;
    if (!G) {
      G = new Tensor(newData(x.size, true), x.shape);
      shared.add(G);
    }
    getBackend().binary('add', g.data, { mid: len, inner: 1 }, ZERO, { mid: 1, inner: 1 }, G.data.subarray(i * len, (i + 1) * len));
    return [G];
  });
}

export interface AttentionParams {
  wqkv: Tensor; // [D, 3D]
  bqkv: Tensor; // [3D]
  wo: Tensor; // [D, D]
  bo: Tensor; // [D]
}

/** Multi-head causal self-attention on x [B, T, D]. */
export function causalSelfAttention(x: Tensor, p: AttentionParams, heads: number): Tensor {
  const [B, T, D] = x.shape;
  if (D % heads) throw new ShapeError(`model width ${D} not divisible by ${heads} heads`);
  const dh = D / heads;
  const qkv = permute(reshape(linear(x, p.wqkv, p.bqkv), [B, T, 3, heads, dh]), [2, 0, 3, 1, 4]);
  const split = fusionAllowed() ? partsOf(qkv, 3) : null;
  const part = (i: number) => (split ? split(i, [B, heads, T, dh]) : reshape(slice(qkv, 0, i, i + 1), [B, heads, T, dh]));
  const q = part(0), k = part(1), v = part(2);
  const scale = Math.fround(1 / Math.sqrt(dh));
  let mask = causalMask(T);
  if (tracing) {
    mask = new Tensor(mask.data, mask.shape); // a fresh value of this step's trace
    traceOp('causalMask', { size: T }, [], mask);
  }
  const att = scaledMaskedSoftmax(matmul(q, k, { transB: true }), scale, mask);
  const y = reshape(permute(matmul(att, v), [0, 2, 1, 3]), [B, T, D]);
  return linear(y, p.wo, p.bo);
}
