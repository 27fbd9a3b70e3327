// The primitives. Each has one canonical scalar program (written beside it): the exact sequence
// of binary32 operations a referee recomputes. Everything else (nn.ts) is composed from these.
//
// Conventions for every program below:
// - f32(v) is rounding to binary32 (round-to-nearest-even). For + - * / and sqrt, computing in
//   float64 then rounding once gives exactly the binary32 result (53 >= 2*24+2), so a store into a
//   Float32Array after one such op is exact; two ops in one expression would not be.
// - Reductions start from acc = +0 (sum) or -Inf (max) and visit elements in ascending index.
import { InputError, ShapeError } from '../errors.ts';
import { getBackend } from './kernels/current.ts';
import type { BinaryOp, Broadcast, UnaryOp } from './kernels/backend.ts';
import { Tensor, makeResult, newData, sizeOf, stridesOf, type Shape } from './tensor.ts';
import { traceOp, tracing } from './trace.ts';

// ---------------------------------------------------------------------------------------------
// Broadcasting

export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`cannot broadcast shapes [${a}] and [${b}]`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const indexMaps = new Map<string, Int32Array>();

/** For each element of `out` (row-major), the index of the element of `inp` broadcast onto it. */
function broadcastMap(out: Shape, inp: Shape): Int32Array {
  const key = `${out}|${inp}`;
  const cached = indexMaps.get(key);
  if (cached) return cached;
  const n = sizeOf(out);
  const map = new Int32Array(n);
  const r = out.length;
  const inStr = stridesOf(inp);
  // Stride of each output axis in the input (0 where broadcast).
  const s = new Array<number>(r).fill(0);
  for (let i = 0; i < r; i++) {
    const j = inp.length - r + i;
    if (j >= 0 && inp[j] !== 1) s[i] = inStr[j];
  }
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let e = 0; e < n; e++) {
    map[e] = off;
    for (let ax = r - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += s[ax];
      if (idx[ax] < out[ax]) break;
      off -= s[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  if (indexMaps.size > 256) indexMaps.clear();
  indexMaps.set(key, map);
  return map;
}

/**
 * If `inp` broadcast onto `out` reads input element floor(i / inner) % mid for output element i
 * (inp is out with 1s outside one contiguous run of axes: a bias [C] on [B, T, C], per-row
 * statistics [B, T, 1], a conv bias [1, C, 1, 1]), that (outer, mid, inner); else null. Only the
 * indexing is faster: every element still gets exactly the operation of the general map.
 */
function runPattern(out: Shape, inp: Shape): { outer: number; mid: number; inner: number } | null {
  const r = out.length;
  const d = (i: number) => inp[inp.length - r + i] ?? 1; // inp aligned to out, 1 where missing
  let first = -1, last = -1;
  for (let i = 0; i < r; i++) {
    if (d(i) === 1 && out[i] !== 1) continue;
    if (d(i) !== out[i]) return null;
    if (out[i] === 1) continue;
    if (first < 0) first = i;
    else if (last !== i - 1) return null; // a broadcast axis between kept axes
    last = i;
  }
  if (first < 0) return { outer: sizeOf(out), mid: 1, inner: 1 };
  let outer = 1, mid = 1, inner = 1;
  for (let i = 0; i < r; i++) {
    if (i < first) outer *= out[i];
    else if (i <= last) mid *= out[i];
    else inner *= out[i];
  }
  return { outer, mid, inner };
}

/**
 * Sum a gradient down to `shape` (the reverse of broadcasting). Program: for each output
 * element, acc = +0, then add the contributions in ascending row-major order of the source.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const r = sumToData(g, shape);
  if (tracing) traceOp('sumTo', { shape: [...shape] }, [g], r);
  return r;
}

function sumToData(g: Tensor, shape: Shape): Tensor {
  const x = g.data;
  const run = runPattern(g.shape, shape);
  // Same additions in the same (ascending source) order as the general loop below: the backend's
  // reduction over the middle axis (backend.ts ReduceOp) of the source viewed as [.., .., ..].
  if (run && run.inner === 1) {
    // Bias gradients: column sums over the rows, rows in ascending order.
    const out = newData(run.mid);
    getBackend().reduce('sum', x, out, 1, run.outer, run.mid);
    return new Tensor(out, shape);
  }
  if (run && run.outer === 1) {
    // Per-row statistics' gradients: row sums.
    const out = newData(run.mid);
    getBackend().reduce('sum', x, out, run.mid, run.inner, 1);
    return new Tensor(out, shape);
  }
  const out = newData(sizeOf(shape), true);
  if (run) {
    const { outer, mid, inner } = run;
    let k = 0;
    for (let o = 0; o < outer; o++) {
      for (let m = 0; m < mid; m++) {
        let acc = out[m];
        for (let j = 0; j < inner; j++) acc = Math.fround(acc + x[k++]);
        out[m] = acc;
      }
    }
    return new Tensor(out, shape);
  }
  const map = broadcastMap(g.shape, shape);
  for (let i = 0; i < x.length; i++) out[map[i]] += x[i];
  return new Tensor(out, shape);
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary: add, sub, mul, div, maximum (differentiable), greater (a mask, not).
// Program: out[i] = f32(a[ia(i)] OP b[ib(i)]) with ia/ib the broadcast index maps.

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAX = 4, GT = 5;
const BIN_NAMES = ['add', 'sub', 'mul', 'div', 'maximum', 'greater'];

const BIN_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'greater'];

/** How `inp` broadcast onto `out` (n elements) is indexed, when the backend's form covers it. */
function broadcastOf(out: Shape, inp: Shape, n: number): Broadcast | null {
  if (sizeOf(inp) === n) return { mid: n, inner: 1 };
  const run = runPattern(out, inp);
  return run ? { mid: run.mid, inner: run.inner } : null;
}

function binaryData(op: number, a: Tensor, b: Tensor, shape: number[]): Float32Array {
  const n = sizeOf(shape);
  const out = newData(n);
  const ba = broadcastOf(shape, a.shape, n), bb = broadcastOf(shape, b.shape, n);
  if (ba && bb) {
    getBackend().binary(BIN_OPS[op], a.data, ba, b.data, bb, out);
    return out;
  }
  // Rare shapes (both broadcast along different axes) go through the general maps; same bits.
  const x = a.data, y = b.data;
  const ia = broadcastMap(shape, a.shape);
  const ib = broadcastMap(shape, b.shape);
  switch (op) {
    case ADD: for (let i = 0; i < n; i++) out[i] = x[ia[i]] + y[ib[i]]; break;
    case SUB: for (let i = 0; i < n; i++) out[i] = x[ia[i]] - y[ib[i]]; break;
    case MUL: for (let i = 0; i < n; i++) out[i] = x[ia[i]] * y[ib[i]]; break;
    case DIV: for (let i = 0; i < n; i++) out[i] = x[ia[i]] / y[ib[i]]; break;
    case MAX: for (let i = 0; i < n; i++) out[i] = Math.max(x[ia[i]], y[ib[i]]); break;
    case GT: for (let i = 0; i < n; i++) out[i] = x[ia[i]] > y[ib[i]] ? 1 : 0; break;
  }
  return out;
}

function asTensor(v: Tensor | number): Tensor {
  if (typeof v !== 'number') return v;
  const t = new Tensor(new Float32Array([v]), []);
  if (tracing) traceOp('const', { value: t.data[0] }, [], t);
  return t;
}

function binary(op: number, av: Tensor | number, bv: Tensor | number): Tensor {
  const a = asTensor(av), b = asTensor(bv);
  const shape = broadcastShapes(a.shape, b.shape);
  const data = binaryData(op, a, b, shape);
  return makeResult(BIN_NAMES[op], data, shape, [a, b], (g) => {
    switch (op) {
      // A gradient nobody needs is still computed while an observer watches (same op sequence).
      case ADD: return [a.requiresGrad || tracing ? sumTo(g, a.shape) : null, b.requiresGrad || tracing ? sumTo(g, b.shape) : null];
      case SUB: return [a.requiresGrad || tracing ? sumTo(g, a.shape) : null, b.requiresGrad ? sumTo(neg(g), b.shape) : null];
      case MUL: return [
        a.requiresGrad ? sumTo(mul(g, b.detach()), a.shape) : null,
        b.requiresGrad ? sumTo(mul(g, a.detach()), b.shape) : null,
      ];
      case DIV: {
        // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b, computed as -(g*out)/b.
        const bd = b.detach();
        const ga = a.requiresGrad ? sumTo(div(g, bd), a.shape) : null;
        const gb = b.requiresGrad ? sumTo(neg(div(mul(g, new Tensor(data, shape)), bd)), b.shape) : null;
        return [ga, gb];
      }
      case MAX: {
        // The gradient goes to a where a > b, else to b (ties to b, so relu'(0) = 0).
        const m = greater(a.detach(), b.detach());
        const ga = a.requiresGrad ? sumTo(mul(g, m), a.shape) : null;
        const gb = b.requiresGrad ? sumTo(sub(g, mul(g, m)), b.shape) : null;
        return [ga, gb];
      }
      default:
        return [null, null];
    }
  });
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary(ADD, a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary(SUB, a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary(MUL, a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary(DIV, a, b);
/** IEEE/JS maximum: NaN if either is NaN; maximum(-0, +0) = +0. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary(MAX, a, b);
/** 1 where a > b, else 0 (NaN compares false). Not differentiable. */
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => binary(GT, a, b);

// ---------------------------------------------------------------------------------------------
// Elementwise unary. Programs: neg: -x (exact); sqrt: f32(sqrt(x)) (correctly rounded);
// exp/log/tanh: the scalar programs of math.ts.

function unaryData(op: UnaryOp, x: Tensor): Float32Array {
  const out = newData(x.size);
  getBackend().unary(op, x.data, out);
  return out;
}

export function neg(x: Tensor): Tensor {
  return makeResult('neg', unaryData('neg', x), x.shape, [x], (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const out = unaryData('exp', x);
  const y = new Tensor(out, x.shape);
  return makeResult('exp', out, x.shape, [x], (g) => [mul(g, y)]);
}

export function log(x: Tensor): Tensor {
  return makeResult('log', unaryData('log', x), x.shape, [x], (g) => [div(g, x.detach())]);
}

export function sqrt(x: Tensor): Tensor {
  const out = unaryData('sqrt', x);
  const y = new Tensor(out, x.shape);
  return makeResult('sqrt', out, x.shape, [x], (g) => [div(g, mul(y, 2))]);
}

export function tanh(x: Tensor): Tensor {
  const out = unaryData('tanh', x);
  const y = new Tensor(out, x.shape);
  // d tanh = 1 - y*y
  return makeResult('tanh', out, x.shape, [x], (g) => [mul(g, sub(1, mul(y, y)))]);
}

// ---------------------------------------------------------------------------------------------
// Reductions over one axis. Program for each output element: acc = +0 (sum) / -Inf (max);
// for l ascending: acc = f32(acc + x[l]) / acc = maximum(acc, x[l]).

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

function reduceShape(shape: Shape, axis: number, keepDims: boolean): number[] {
  const s = [...shape];
  if (keepDims) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

export function sum(x: Tensor, axis?: number, keepDims = false): Tensor {
  if (axis === undefined) {
    // Whole tensor, ascending row-major.
    const acc = getBackend().sumAll(x.data);
    return makeResult('sum', new Float32Array([acc]), [], [x], (g) => [expand(g, x.shape)], { axis: null, keepDims: false });
  }
  const ax = normAxis(axis, x.rank);
  const L = x.shape[ax];
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const out = newData(outer * inner);
  getBackend().reduce('sum', x.data, out, outer, L, inner);
  const shape = reduceShape(x.shape, ax, keepDims);
  const kept = reduceShape(x.shape, ax, true);
  return makeResult('sum', out, shape, [x], (g) => [expand(reshape(g, kept), x.shape)], { axis: ax, keepDims });
}

export function max(x: Tensor, axis: number, keepDims = false): Tensor {
  const ax = normAxis(axis, x.rank);
  const L = x.shape[ax];
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const out = newData(outer * inner);
  const d = x.data;
  getBackend().reduce('max', d, out, outer, L, inner);
  const shape = reduceShape(x.shape, ax, keepDims);
  return makeResult('max', out, shape, [x], (g) => {
    // The gradient goes to the first element equal to the maximum.
    const gi = newData(x.size, true);
    const gd = g.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const m = out[o * inner + i];
        for (let l = 0; l < L; l++) {
          const at = (o * L + l) * inner + i;
          if (d[at] === m) {
            gi[at] = gd[o * inner + i];
            break;
          }
        }
      }
    }
    const r = new Tensor(gi, x.shape);
    if (tracing) traceOp('maxBackward', { axis: ax }, [x, new Tensor(out, shape), g], r);
    return [r];
  }, { axis: ax, keepDims });
}

// ---------------------------------------------------------------------------------------------
// Matrix product (program: see kernels/backend.ts). a: [..., M, K] (or [..., K, M] with transA),
// b: [K, N] shared by every batch, or [..., K, N] with the same batch dims (or [N, K] with transB).

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul needs rank >= 2, got [${a.shape}] and [${b.shape}]`);
  const aR = a.shape[a.rank - 2], aC = a.shape[a.rank - 1];
  const bR = b.shape[b.rank - 2], bC = b.shape[b.rank - 1];
  const M = transA ? aC : aR, K = transA ? aR : aC;
  const Kb = transB ? bC : bR, N = transB ? bR : bC;
  if (K !== Kb) {
    throw new ShapeError(`matmul inner dimensions differ: [${a.shape}]${transA ? 'ᵀ' : ''} · [${b.shape}]${transB ? 'ᵀ' : ''}`);
  }
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  const batch = sizeOf(aBatch);
  if (bBatch.length > 0 && !sameShape(aBatch, bBatch)) {
    throw new ShapeError(`matmul batch dimensions differ: [${a.shape}] and [${b.shape}]`);
  }
  if (transA && batch > 1 && bBatch.length === 0) {
    throw new ShapeError('matmul with transA and a shared b: flatten the batch first');
  }
  const out = newData(batch * M * N);
  // A shared 2-D b with a batched a is one big 2-D product (rows of all batches stacked).
  const flat = bBatch.length === 0 && !transA;
  getBackend().matmul(a.data, b.data, out, {
    batch: flat ? 1 : batch,
    M: flat ? batch * M : M,
    K,
    N,
    transA,
    transB,
    aOffset: 0,
    bOffset: 0,
    aBatchStride: flat ? 0 : aR * aC,
    bBatchStride: bBatch.length === 0 ? 0 : bR * bC,
  });
  const shape = [...aBatch, M, N];
  return makeResult('matmul', out, shape, [a, b], (g) => {
    const ad = a.detach(), bd = b.detach();
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ; dA is that, transposed back where transA.
      // (transA with a shared b only gets here with a batch of one: drop and restore that axis.)
      ga = !transA
        ? matmul(g, bd, { transB: !transB })
        : bBatch.length === 0 && aBatch.length > 0
          ? reshape(matmul(bd, reshape(g, [M, N]), { transA: transB, transB: true }), a.shape)
          : matmul(bd, g, { transA: transB, transB: true });
    }
    if (b.requiresGrad) {
      if (bBatch.length === 0) {
        // Shared b: reduce over every row of every batch in one product (k = batch*M ascending).
        const a2 = reshape(ad, [batch * aR, aC]);
        const g2 = reshape(g, [batch * M, N]);
        gb = transB ? matmul(g2, a2, { transA: true, transB: transA }) : matmul(a2, g2, { transA: !transA });
      } else {
        gb = transB ? matmul(g, ad, { transA: true, transB: transA }) : matmul(ad, g, { transA: !transA });
      }
    }
    return [ga, gb];
  }, { transA, transB });
}

// ---------------------------------------------------------------------------------------------
// Movement: exact copies, no arithmetic. Their backward passes are movements or sums in a fixed
// order (documented where they add).

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg1 = s.indexOf(-1);
  if (neg1 >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== neg1));
    s[neg1] = rest === 0 ? 0 : x.size / rest;
  }
  if (sizeOf(s) !== x.size) throw new ShapeError(`cannot reshape [${x.shape}] to [${shape}]`);
  return makeResult('reshape', x.data, s, [x], (g) => [reshape(g, x.shape)], { shape: s });
}

export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const r = x.rank;
  if (axes.length !== r || [...axes].sort((p, q) => p - q).some((v, i) => v !== i)) {
    throw new ShapeError(`permute axes [${axes}] invalid for rank ${r}`);
  }
  const shape = axes.map((a) => x.shape[a]);
  const inStr = stridesOf(x.shape);
  const s = axes.map((a) => inStr[a]);
  const out = newData(x.size);
  getBackend().gatherStrided(x.data, out, shape, s);
  const inv = new Array<number>(r);
  axes.forEach((a, i) => (inv[a] = i));
  return makeResult('permute', out, shape, [x], (g) => [permute(g, inv)], { axes: [...axes] });
}

/** Elements [start, end) along one axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, x.rank);
  const L = x.shape[ax];
  if (!(0 <= start && start <= end && end <= L)) throw new ShapeError(`slice [${start}, ${end}) out of range 0..${L}`);
  const outer = sizeOf(x.shape.slice(0, ax)), inner = sizeOf(x.shape.slice(ax + 1));
  const len = end - start;
  const out = newData(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    out.set(x.data.subarray((o * L + start) * inner, (o * L + end) * inner), o * len * inner);
  }
  const shape = [...x.shape];
  shape[ax] = len;
  return makeResult('slice', out, shape, [x], (g) => [pad(g, ax, start, L - end)], { axis: ax, start, end });
}

/** Zero padding of `before` and `after` elements along one axis. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  const ax = normAxis(axis, x.rank);
  const L = x.shape[ax];
  const outer = sizeOf(x.shape.slice(0, ax)), inner = sizeOf(x.shape.slice(ax + 1));
  const L2 = before + L + after;
  const out = newData(outer * L2 * inner, true);
  for (let o = 0; o < outer; o++) {
    out.set(x.data.subarray(o * L * inner, (o + 1) * L * inner), (o * L2 + before) * inner);
  }
  const shape = [...x.shape];
  shape[ax] = L2;
  return makeResult('pad', out, shape, [x], (g) => [slice(g, ax, before, before + L)], { axis: ax, before, after });
}

export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat of nothing');
  const ax = normAxis(axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i])) {
      throw new ShapeError(`concat: shapes [${xs[0].shape}] and [${t.shape}] differ off axis ${ax}`);
    }
  }
  const outer = sizeOf(xs[0].shape.slice(0, ax)), inner = sizeOf(xs[0].shape.slice(ax + 1));
  const L2 = xs.reduce((s, t) => s + t.shape[ax], 0);
  const out = newData(outer * L2 * inner);
  let at = 0;
  for (const t of xs) {
    const L = t.shape[ax];
    for (let o = 0; o < outer; o++) {
      out.set(t.data.subarray(o * L * inner, (o + 1) * L * inner), (o * L2 + at) * inner);
    }
    at += L;
  }
  const shape = [...xs[0].shape];
  shape[ax] = L2;
  return makeResult('concat', out, shape, xs, (g) => {
    let s = 0;
    return xs.map((t) => {
      const r = slice(g, ax, s, s + t.shape[ax]);
      s += t.shape[ax];
      return r;
    });
  }, { axis: ax });
}

/** Broadcast to `shape` by copying. Backward: sumTo (ascending row-major source order). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const target = broadcastShapes(x.shape, shape);
  if (!sameShape(target, shape)) throw new ShapeError(`cannot expand [${x.shape}] to [${shape}]`);
  if (sameShape(x.shape, shape)) return x;
  const out = newData(sizeOf(shape));
  const d = x.data;
  const run = runPattern(shape, x.shape);
  if (run) {
    // out[i] = d[floor(i / inner) % mid]: runs of one value, or whole copies of d.
    const { outer, mid, inner } = run;
    if (mid === 1) out.fill(d[0]);
    else if (inner === 1 && mid >= 16) for (let o = 0; o < outer; o++) out.set(d.subarray(0, mid), o * mid);
    else if (inner >= 16) for (let r = 0, k = 0; r < outer * mid; r++, k += inner) out.fill(d[r % mid], k, k + inner);
    else for (let i = 0; i < out.length; i++) out[i] = d[Math.floor(i / inner) % mid];
  } else {
    const map = broadcastMap(shape, x.shape);
    for (let i = 0; i < map.length; i++) out[i] = d[map[i]];
  }
  return makeResult('expand', out, shape, [x], (g) => [sumTo(g, x.shape)], { shape: [...shape] });
}

/**
 * Rows of `table` ([V, ...rest]) at `indices` → [indices.length, ...rest] (embedding lookup).
 * Backward (scatter-add): for each position p ascending, grad[indices[p]] += g[p], so each row's
 * contributions are summed in ascending position order.
 */
export function gather(table: Tensor, indices: Int32Array, indexShape: readonly number[] = [indices.length]): Tensor {
  const V = table.shape[0];
  const row = sizeOf(table.shape.slice(1));
  for (let p = 0; p < indices.length; p++) {
    const id = indices[p];
    if (!(id >= 0 && id < V)) {
      throw new InputError(`gather: index ${id} at position ${p} out of range [0, ${V})`);
    }
  }
  const out = newData(indices.length * row);
  getBackend().gatherRows(table.data, indices, row, out);
  const shape = [...indexShape, ...table.shape.slice(1)];
  return makeResult('gather', out, shape, [table], (g) => {
    const gt = newData(table.size, true);
    getBackend().scatterAddRows(g.data, indices, row, gt);
    const r = new Tensor(gt, table.shape);
    if (tracing) traceOp('scatterAdd', { rows: V }, [g, indices], r);
    return [r];
  }, undefined, [table, indices]);
}

export interface Conv2dGeometry {
  kh: number;
  kw: number;
  stride: number;
  pad: number;
}

function convOut(h: number, w: number, g: Conv2dGeometry): [number, number] {
  const oh = Math.floor((h + 2 * g.pad - g.kh) / g.stride) + 1;
  const ow = Math.floor((w + 2 * g.pad - g.kw) / g.stride) + 1;
  if (oh <= 0 || ow <= 0) throw new ShapeError(`conv window ${g.kh}x${g.kw} larger than padded input ${h}x${w}`);
  return [oh, ow];
}

/**
 * im2col: x [N, C, H, W] → cols [C*KH*KW, N*OH*OW]; row (c, ky, kx), column (n, oy, ox);
 * padded positions are +0. Backward (col2im): rows ascending, then columns ascending, each
 * added into its source pixel.
 */
export function im2col(x: Tensor, geo: Conv2dGeometry): Tensor {
  if (x.rank !== 4) throw new ShapeError(`im2col needs [N, C, H, W], got [${x.shape}]`);
  const [N, C, H, W] = x.shape;
  const { kh, kw, stride, pad: p } = geo;
  const [OH, OW] = convOut(H, W, geo);
  const P = N * OH * OW;
  const rows = C * kh * kw;
  const out = newData(rows * P);
  const igeo = { N, C, H, W, kh, kw, stride, pad: p, OH, OW };
  getBackend().im2col(x.data, igeo, out);
  return makeResult('im2col', out, [rows, P], [x], (g) => {
    const gx = newData(x.size, true);
    getBackend().col2im(g.data, igeo, gx);
    const r = new Tensor(gx, x.shape);
    if (tracing) traceOp('col2im', { kh, kw, stride, pad: p, shape: [...x.shape] }, [g], r);
    return [r];
  }, { kh, kw, stride, pad: p });
}

/**
 * conv2d: x [N, C, H, W], w [OC, C, KH, KW] → [N, OC, OH, OW]. Program for each output element:
 * acc = +0; for (c, ky, kx) ascending: acc = f32(acc + f32(x_padded * w)) — exactly the matmul
 * program over the im2col row order, which is how it is computed (im2col, then W · cols).
 */
export function conv2d(x: Tensor, w: Tensor, opts: { stride?: number; pad?: number } = {}): Tensor {
  if (w.rank !== 4 || x.rank !== 4 || w.shape[1] !== x.shape[1]) {
    throw new ShapeError(`conv2d needs x [N, C, H, W] and w [OC, C, KH, KW], got [${x.shape}] and [${w.shape}]`);
  }
  const geo = { kh: w.shape[2], kw: w.shape[3], stride: opts.stride ?? 1, pad: opts.pad ?? 0 };
  const [N] = x.shape;
  const OC = w.shape[0];
  const [OH, OW] = convOut(x.shape[2], x.shape[3], geo);
  const cols = im2col(x, geo);
  const y = matmul(reshape(w, [OC, -1]), cols); // [OC, N*OH*OW]
  return permute(reshape(y, [OC, N, OH, OW]), [1, 0, 2, 3]);
}
