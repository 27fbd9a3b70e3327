// Test support for the engine's own tests (ops.test.ts, nn.test.ts): deterministic inputs, index
// helpers, float64 references of the primitives and a gradient checker that compares the engine's
// autograd (binary32) with central differences of a float64 reference.
//
// Not used by the engine itself. Every reference here is written independently of ops.ts (plain
// loops over multi-indices), so a bug in the engine's index arithmetic cannot hide in both.
import assert from 'node:assert/strict';
import { rngStream, uniforms } from './rng.ts';
import { Tensor, sizeOf, type Shape } from './tensor.ts';
import { mul, sum } from './ops.ts';

const f32 = Math.fround;
/** Rounding applied after each scalar op of a reference: identity (float64) or Math.fround (binary32). */
export type Round = (v: number) => number;
export const F64: Round = (v) => v;
export const F32: Round = f32;

// ---------------------------------------------------------------------------------------------
// Deterministic inputs

const SEED = 20240611;

/** binary32 values uniform in [lo, hi), a pure function of `name`. */
export function rand(name: string, n: number, lo = -1, hi = 1): Float32Array {
  const u = uniforms(rngStream(SEED, `test/${name}`), 0, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u[i];
  return out;
}

/** Values in [lo, hi) whose magnitude is at least `minAbs` (keeps inputs away from kinks at 0). */
export function randAway(name: string, n: number, lo: number, hi: number, minAbs: number): Float32Array {
  const x = rand(name, n, lo, hi);
  for (let i = 0; i < n; i++) if (Math.abs(x[i]) < minAbs) x[i] = x[i] < 0 ? x[i] - minAbs : x[i] + minAbs;
  return x;
}

/** A gradient-check input of `shape` with uniform values in [lo, hi), seeded by its name. */
export const inputOf = (name: string, shape: Shape, lo = -1, hi = 1): CheckInput => ({
  name,
  shape,
  data: rand(name, sizeOf(shape), lo, hi),
});

// ---------------------------------------------------------------------------------------------
// Index helpers


export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: Shape): number {
  let off = 0;
  for (let a = 0; a < shape.length; a++) off = off * shape[a] + idx[a];
  return off;
}

/** Index into `inShape` of the element broadcast onto output multi-index `outIdx`. */
export function broadcastIndex(outIdx: readonly number[], inShape: Shape): number {
  const r = outIdx.length, k = inShape.length;
  let off = 0;
  for (let a = 0; a < k; a++) off = off * inShape[a] + (inShape[a] === 1 ? 0 : outIdx[r - k + a]);
  return off;
}

export function bcastShape(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** Distance in units in the last place between two binary32 values (same sign assumed finite). */
export function ulpDistance(a: number, b: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  const ord = (v: number) => {
    buf.setFloat32(0, v, true);
    const i = buf.getInt32(0, true);
    return i < 0 ? -2147483648 - i : i;
  };
  return Math.abs(ord(a) - ord(b));
}

export function bits(x: Float32Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
}

/** Exact (bitwise, so -0 ≠ +0 and NaN = NaN) equality of two binary32 arrays. */
export function assertBitsEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  const a = Float32Array.from(actual), e = Float32Array.from(expected);
  const au = new Uint32Array(a.buffer), eu = new Uint32Array(e.buffer);
  for (let i = 0; i < a.length; i++) {
    if (au[i] !== eu[i]) assert.fail(`${label}: element ${i} is ${a[i]} (0x${au[i].toString(16)}), expected ${e[i]} (0x${eu[i].toString(16)})`);
  }
}

/** |actual - expected| <= tol(i) for every element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number | ((i: number) => number),
  label: string,
): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const t = typeof tol === 'number' ? tol * Math.max(1, Math.abs(expected[i])) : tol(i);
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= t)) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]} (diff ${d} > tol ${t})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Gradient checking

export interface CheckInput {
  name: string;
  data: Float32Array;
  shape: Shape;
}

export interface GradCheckOptions {
  inputs: CheckInput[];
  /** The engine's forward pass, on tensors built from `inputs` (all requiring gradients). */
  engine: (ts: Tensor[]) => Tensor;
  /** The float64 forward pass on the same values; returns the output, row-major. */
  reference: (xs: Float64Array[]) => ArrayLike<number>;
  /** Forward: |engine - reference| <= fwdTol·max(1, |reference|). Default 1e-6. */
  fwdTol?: number;
  /** Gradient: |analytic - numeric| <= gradTol·max(1, |numeric|). Default 1e-4. */
  gradTol?: number;
  /** Inputs to check the gradient of (indices into `inputs`); default all. */
  wrt?: number[];
  label: string;
}

/**
 * loss = Σ out_i·w_i with fixed pseudo-random w. The analytic gradient comes from the engine
 * (`sum(mul(out, W)).backward()`), the numeric one from central differences of the float64
 * reference with h = 1e-6·max(1, |x|).
 */
export function gradCheck(o: GradCheckOptions): { out: Tensor; grads: (Tensor | null)[] } {
  const ts = o.inputs.map((i) => new Tensor(Float32Array.from(i.data), i.shape, true));
  const out = o.engine(ts);
  const ref0 = o.reference(o.inputs.map((i) => Float64Array.from(i.data)));
  assertClose(out.data, ref0, o.fwdTol ?? 1e-6, `${o.label} forward`);
  const w = rand(`w/${o.label}`, out.size, -1, 1);
  sum(mul(out, new Tensor(w, out.shape))).backward();
  const gradTol = o.gradTol ?? 1e-4;
  const loss = (xs: Float64Array[]) => {
    const y = o.reference(xs);
    let l = 0;
    for (let i = 0; i < y.length; i++) l += y[i] * w[i];
    return l;
  };
  const wrt = o.wrt ?? o.inputs.map((_, k) => k);
  for (const k of wrt) {
    const g = ts[k].grad;
    assert.ok(g, `${o.label}: no gradient for ${o.inputs[k].name}`);
    assert.equal(g.size, ts[k].size, `${o.label}: gradient size for ${o.inputs[k].name}`);
    const xs = o.inputs.map((i) => Float64Array.from(i.data));
    const num = new Float64Array(ts[k].size);
    for (let j = 0; j < num.length; j++) {
      const x0 = xs[k][j];
      const h = 1e-6 * Math.max(1, Math.abs(x0));
      xs[k][j] = x0 + h;
      const lp = loss(xs);
      xs[k][j] = x0 - h;
      const lm = loss(xs);
      xs[k][j] = x0;
      num[j] = (lp - lm) / (2 * h);
    }
    assertClose(g.data, num, gradTol, `${o.label} d/d${o.inputs[k].name}`);
  }
  return { out, grads: ts.map((t) => t.grad) };
}

// ---------------------------------------------------------------------------------------------
// References of the primitives, written with multi-index loops. `r` rounds after every scalar op
// (F64: exact math in float64; F32: the canonical binary32 program).

export function binaryRef(
  f: (x: number, y: number) => number,
  a: ArrayLike<number>, aShape: Shape,
  b: ArrayLike<number>, bShape: Shape,
  r: Round = F64,
): { data: Float64Array; shape: number[] } {
  const shape = bcastShape(aShape, bShape);
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    out[i] = r(f(a[broadcastIndex(idx, aShape)], b[broadcastIndex(idx, bShape)]));
  }
  return { data: out, shape };
}

export function sumRef(x: ArrayLike<number>, shape: Shape, axis: number | undefined, r: Round = F64): Float64Array {
  if (axis === undefined) {
    let acc = 0;
    for (let i = 0; i < x.length; i++) acc = r(acc + x[i]);
    return Float64Array.of(acc);
  }
  const outShape = shape.filter((_, a) => a !== axis);
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    let acc = 0;
    for (let l = 0; l < shape[axis]; l++) {
      const idx = [...oi.slice(0, axis), l, ...oi.slice(axis)];
      acc = r(acc + x[ravel(idx, shape)]);
    }
    out[o] = acc;
  }
  return out;
}

export function maxRef(x: ArrayLike<number>, shape: Shape, axis: number): Float64Array {
  const outShape = shape.filter((_, a) => a !== axis);
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    let m = -Infinity;
    for (let l = 0; l < shape[axis]; l++) m = Math.max(m, x[ravel([...oi.slice(0, axis), l, ...oi.slice(axis)], shape)]);
    out[o] = m;
  }
  return out;
}

/**
 * Batched op(A)·op(B). a: [...batch, rows, cols]; b: [rows, cols] shared or [...batch, rows, cols].
 * Program per output element: acc = 0; k ascending: acc = r(acc + r(opA(i,k)·opB(k,j))).
 */
export function matmulRef(
  a: ArrayLike<number>, aShape: Shape,
  b: ArrayLike<number>, bShape: Shape,
  transA: boolean, transB: boolean,
  r: Round = F64,
): { data: Float64Array; shape: number[] } {
  const batchShape = aShape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aR = aShape[aShape.length - 2], aC = aShape[aShape.length - 1];
  const bR = bShape[bShape.length - 2], bC = bShape[bShape.length - 1];
  const M = transA ? aC : aR, K = transA ? aR : aC, N = transB ? bR : bC;
  const bShared = bShape.length === 2;
  const A = (bt: number, i: number, k: number) => a[bt * aR * aC + (transA ? k * aC + i : i * aC + k)];
  const B = (bt: number, k: number, j: number) => b[(bShared ? 0 : bt * bR * bC) + (transB ? j * bC + k : k * bC + j)];
  const out = new Float64Array(batch * M * N);
  for (let bt = 0; bt < batch; bt++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc = r(acc + r(A(bt, i, k) * B(bt, k, j)));
        out[(bt * M + i) * N + j] = acc;
      }
    }
  }
  return { data: out, shape: [...batchShape, M, N] };
}

export function permuteRef(x: ArrayLike<number>, shape: Shape, axes: readonly number[]): Float64Array {
  const outShape = axes.map((a) => shape[a]);
  const out = new Float64Array(x.length);
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    const ii = new Array<number>(shape.length);
    axes.forEach((a, k) => (ii[a] = oi[k]));
    out[o] = x[ravel(ii, shape)];
  }
  return out;
}

export function sliceRef(x: ArrayLike<number>, shape: Shape, axis: number, start: number, end: number): Float64Array {
  const outShape = [...shape];
  outShape[axis] = end - start;
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, outShape);
    idx[axis] += start;
    out[o] = x[ravel(idx, shape)];
  }
  return out;
}

export function padRef(x: ArrayLike<number>, shape: Shape, axis: number, before: number, after: number): Float64Array {
  const outShape = [...shape];
  outShape[axis] = shape[axis] + before + after;
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, outShape);
    idx[axis] -= before;
    out[o] = idx[axis] >= 0 && idx[axis] < shape[axis] ? x[ravel(idx, shape)] : 0;
  }
  return out;
}

export function concatRef(xs: ArrayLike<number>[], shapes: Shape[], axis: number): Float64Array {
  const outShape = [...shapes[0]];
  outShape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, outShape);
    let t = 0;
    while (idx[axis] >= shapes[t][axis]) idx[axis] -= shapes[t++][axis];
    out[o] = xs[t][ravel(idx, shapes[t])];
  }
  return out;
}

export function expandRef(x: ArrayLike<number>, shape: Shape, to: Shape): Float64Array {
  const out = new Float64Array(sizeOf(to));
  for (let o = 0; o < out.length; o++) out[o] = x[broadcastIndex(unravel(o, to), shape)];
  return out;
}

export function gatherRef(table: ArrayLike<number>, tableShape: Shape, ids: ArrayLike<number>): Float64Array {
  const row = sizeOf(tableShape.slice(1));
  const out = new Float64Array(ids.length * row);
  for (let p = 0; p < ids.length; p++) for (let j = 0; j < row; j++) out[p * row + j] = table[ids[p] * row + j];
  return out;
}

export interface Geo {
  kh: number;
  kw: number;
  stride: number;
  pad: number;
}

/** x [N, C, H, W] → [C·KH·KW, N·OH·OW], written as "column (n, oy, ox) of row (c, ky, kx)". */
export function im2colRef(x: ArrayLike<number>, shape: Shape, g: Geo): { data: Float64Array; shape: number[] } {
  const [N, C, H, W] = shape;
  const OH = Math.floor((H + 2 * g.pad - g.kh) / g.stride) + 1;
  const OW = Math.floor((W + 2 * g.pad - g.kw) / g.stride) + 1;
  const rows = C * g.kh * g.kw, P = N * OH * OW;
  const out = new Float64Array(rows * P);
  for (let row = 0; row < rows; row++) {
    const [c, ky, kx] = unravel(row, [C, g.kh, g.kw]);
    for (let col = 0; col < P; col++) {
      const [n, oy, ox] = unravel(col, [N, OH, OW]);
      const iy = oy * g.stride + ky - g.pad, ix = ox * g.stride + kx - g.pad;
      out[row * P + col] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[ravel([n, c, iy, ix], shape)] : 0;
    }
  }
  return { data: out, shape: [rows, P] };
}

/**
 * Direct convolution: y[n, oc, oy, ox] = Σ over (c, ky, kx) ascending of x_padded·w, with
 * acc = r(acc + r(x·w)) (with r = F32 this is the canonical program of conv2d).
 */
export function conv2dRef(
  x: ArrayLike<number>, xShape: Shape,
  w: ArrayLike<number>, wShape: Shape,
  stride: number, pad: number,
  r: Round = F64,
): { data: Float64Array; shape: number[] } {
  const [N, C, H, W] = xShape;
  const [OC, , KH, KW] = wShape;
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  const shape = [N, OC, OH, OW];
  const out = new Float64Array(sizeOf(shape));
  for (let o = 0; o < out.length; o++) {
    const [n, oc, oy, ox] = unravel(o, shape);
    let acc = 0;
    for (let c = 0; c < C; c++) {
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          const iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
          const xv = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[ravel([n, c, iy, ix], xShape)] : 0;
          acc = r(acc + r(xv * w[ravel([oc, c, ky, kx], wShape)]));
        }
      }
    }
    out[o] = acc;
  }
  return { data: out, shape };
}

/** Standard bound on a recursive-summation error: n·u·Σ|terms| (u = 2^-24), plus a little slack. */
export function sumErrorBound(n: number, absSum: number): number {
  return 1.01 * n * 2 ** -24 * absSum + 1e-30;
}
