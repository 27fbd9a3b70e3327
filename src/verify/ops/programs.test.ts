// Every kind's element programs (programs.ts) against the engine: the op computed through its
// programs must equal the engine's own computation to the bit (NaN as any NaN), on random shapes
// and values including ±0, ±Inf, NaN and subnormals where the op can see them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expf, logf, tanhf } from '../../engine/math.ts';
import { adamwReference, sgdReference } from '../../engine/kernels/reference.ts';
import { dropout } from '../../engine/nn.ts';
import * as ops from '../../engine/ops.ts';
import { randomU32s, rngStream, uniforms } from '../../engine/rng.ts';
import { Tensor, parameter } from '../../engine/tensor.ts';
import { OP, sameResult } from '../scalar.ts';
import { compile, describe, evaluateOp, runElement, wordsOf, type OpDescriptor, type RecordLike } from './index.ts';

const f = Math.fround;
const words = (x: Float32Array | Int32Array) => wordsOf(x);

function assertSame(actual: Uint32Array, expected: Float32Array | Int32Array, label: string): void {
  const w = words(expected);
  assert.equal(actual.length, w.length, `${label}: length`);
  for (let i = 0; i < w.length; i++) {
    if (!sameResult(actual[i], w[i])) {
      assert.fail(`${label}: element ${i}: program 0x${actual[i].toString(16)} engine 0x${w[i].toString(16)}`);
    }
  }
}

/** The descriptor of an engine call, the way the observer would report it. */
function rec(kind: string, attrs: RecordLike['attrs'], inputs: (Tensor | Int32Array)[], output: Tensor | Int32Array): OpDescriptor {
  return describe({ kind, attrs, inputs, output });
}

function check(kind: string, attrs: RecordLike['attrs'], inputs: (Tensor | Int32Array)[], output: Tensor | Int32Array): void {
  const d = rec(kind, attrs, inputs, output);
  const data = inputs.map((t) => (t instanceof Int32Array ? t : t.data));
  assertSame(evaluateOp(d, data), output instanceof Int32Array ? output : output.data, `${kind} [${d.inputs.map((t) => `[${t.shape}]`).join(' ')}] → [${d.output.shape}]`);
  // Every element halts within S - 1 slots.
  const c = compile(d);
  const w = data.map(wordsOf);
  for (let e = 0; e < Math.min(c.E, 64); e++) {
    const { pc } = runElement(c, w, e, c.S - 1);
    assert.ok(pc === 0xffffffff || c.fetch(e, pc) === null, `${kind}: element ${e} still running after S - 1 slots`);
  }
}

const SPECIAL = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000];

/** binary32 values: mostly typical magnitudes, some special values and random bit patterns (`wild`). */
function values(name: string, n: number, wild = true): Float32Array {
  const w = randomU32s(rngStream(7, `ops-programs/${name}`), 0, 2 * n);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const a = w[2 * i], b = w[2 * i + 1];
    const cls = a & 15;
    if (wild && cls === 0) u[i] = b;
    else if (wild && cls === 1) u[i] = SPECIAL[b % SPECIAL.length];
    else u[i] = ((b & 0x80000000) | ((120 + (a >>> 4) % 12) << 23) | (b & 0x7fffff)) >>> 0;
  }
  return out;
}

const T = (data: Float32Array, shape: number[], grad = false) => new Tensor(data, shape, grad);
const sz = (s: number[]) => s.reduce((p, q) => p * q, 1);
const vt = (name: string, shape: number[], wild = true) => T(values(name, sz(shape), wild), shape);

test('math programs equal expf, logf, tanhf to the bit', () => {
  const xs: number[] = [];
  const F = new Float32Array(1), U = new Uint32Array(F.buffer);
  const fromBits = (b: number) => ((U[0] = b >>> 0), F[0]);
  for (const b of SPECIAL) xs.push(fromBits(b));
  // every 2^14-th bit pattern, and random ones
  for (let b = 0; b < 2 ** 32; b += 2 ** 14 + 7) xs.push(fromBits(b));
  for (const r of randomU32s(rngStream(7, 'math-random'), 0, 20000)) xs.push(fromBits(r));
  // dense windows at every branch boundary of the three programs
  for (const c of [89, -104, 2 ** -12, 0.625, 9.125, 1.1754943508222875e-38, 1, 1.4142135381698608, 0.7071067690849304, 88.72, -87.3, 4.5]) {
    for (const s of [1, -1]) {
      U[0] = 0;
      F[0] = s * c;
      const base = U[0];
      for (let k = -40; k <= 40; k++) xs.push(fromBits(base + k));
    }
  }
  const x = new Float32Array(xs);
  for (const [kind, fn] of [['exp', expf], ['log', logf], ['tanh', tanhf]] as const) {
    const d: OpDescriptor = { kind, inputs: [{ shape: [x.length], dtype: 'f32' }], output: { shape: [x.length], dtype: 'f32' }, attrs: [] };
    const expected = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) expected[i] = fn(x[i]);
    assertSame(evaluateOp(d, [x]), expected, kind);
    const c = compile(d);
    assert.ok(c.S < 64, `${kind}: ${c.S} slots`);
  }
});

test('elementwise binary ops with broadcasting, unary ops', () => {
  const shapes: [number[], number[]][] = [[[3, 4], [3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[5], []], [[], [2, 2]], [[1, 3, 1], [2, 1, 5]]];
  const fns = { add: ops.add, sub: ops.sub, mul: ops.mul, div: ops.div, maximum: ops.maximum, greater: ops.greater } as const;
  shapes.forEach(([sa, sb], i) => {
    for (const [kind, fn] of Object.entries(fns)) {
      const a = vt(`${kind}a${i}`, sa), b = vt(`${kind}b${i}`, sb);
      check(kind, {}, [a, b], fn(a, b));
    }
  });
  const x = vt('unary', [7, 9]);
  for (const [kind, fn] of Object.entries({ neg: ops.neg, sqrt: ops.sqrt, exp: ops.exp, log: ops.log, tanh: ops.tanh })) {
    check(kind, {}, [x], fn(x));
  }
  const c = new Tensor(new Float32Array([f(0.7)]), []);
  check('const', { value: 0.7 }, [], c);
});

test('reductions: sum (axis, keepDims, whole), max, sumTo', () => {
  const x = vt('red', [3, 4, 5]);
  for (const axis of [0, 1, 2, -1]) {
    for (const keep of [false, true]) {
      const ax = axis < 0 ? axis + 3 : axis;
      check('sum', { axis: ax, keepDims: keep }, [x], ops.sum(x, axis, keep));
      check('max', { axis: ax, keepDims: keep }, [x], ops.max(x, axis, keep));
    }
  }
  check('sum', { axis: null, keepDims: false }, [x], ops.sum(x));
  for (const to of [[4, 5], [5], [3, 1, 5], [1, 4, 1], [], [3, 4, 1], [1, 1, 1]]) {
    check('sumTo', { shape: to }, [x], ops.sumTo(x, to));
  }
});

test('matmul: transposes, batches, shared operands', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[3, 5], [5, 4], false, false], [[5, 3], [5, 4], true, false], [[3, 5], [4, 5], false, true], [[5, 3], [4, 5], true, true],
    [[2, 3, 5], [5, 4], false, false], [[2, 3, 5], [2, 5, 4], false, false], [[2, 2, 3, 5], [2, 2, 4, 5], false, true],
    [[2, 5, 3], [2, 5, 4], true, false], [[2, 3, 5], [4, 5], false, true], [[3, 0], [0, 2], false, false],
  ];
  cases.forEach(([sa, sb, transA, transB], i) => {
    const a = vt(`mma${i}`, sa, false), b = vt(`mmb${i}`, sb, false);
    check('matmul', { transA, transB }, [a, b], ops.matmul(a, b, { transA, transB }));
  });
  // specials reach the products
  const a = vt('mmsa', [4, 6]), b = vt('mmsb', [6, 3]);
  check('matmul', { transA: false, transB: false }, [a, b], ops.matmul(a, b));
});

test('movement ops: reshape, copy, permute, slice, pad, concat, expand', () => {
  const x = vt('mv', [2, 3, 4]);
  check('reshape', { shape: [6, 4] }, [x], ops.reshape(x, [6, 4]));
  check('copy', {}, [x], T(x.data.slice(), [2, 3, 4]));
  for (const axes of [[2, 0, 1], [1, 0, 2], [0, 2, 1]]) check('permute', { axes }, [x], ops.permute(x, axes));
  check('slice', { axis: 1, start: 1, end: 3 }, [x], ops.slice(x, 1, 1, 3));
  check('slice', { axis: 2, start: 0, end: 1 }, [x], ops.slice(x, 2, 0, 1));
  check('pad', { axis: 2, before: 2, after: 1 }, [x], ops.pad(x, 2, 2, 1));
  check('pad', { axis: 0, before: 0, after: 3 }, [x], ops.pad(x, 0, 0, 3));
  const y = vt('mv2', [2, 5, 4]);
  check('concat', { axis: 1 }, [x, y, x], ops.concat([x, y, x], 1));
  const b = vt('mv3', [3, 1]);
  check('expand', { shape: [2, 3, 4] }, [b], ops.expand(b, [2, 3, 4]));
});

test('gather, scatterAdd, windows, onehot', () => {
  const table = vt('tbl', [7, 3], false);
  const ids = new Int32Array([3, 0, 6, 3, 3, 1]);
  const tp = parameter('t', table.data.slice(), [7, 3]);
  const g = ops.gather(tp, ids, [2, 3]);
  check('gather', {}, [table, ids], g);
  const seed = vt('seed', [2, 3, 3]);
  g.backward(seed);
  check('scatterAdd', { rows: 7 }, [seed, ids], tp.grad!);
  // integer table (the batch labels)
  const labels = new Int32Array([4, 1, 9, 0, 2, 2, 7]);
  const idx = new Int32Array([6, 0, 2]);
  check('gather', {}, [labels, idx], new Int32Array([7, 4, 9]));
  const tokens = new Int32Array([5, 3, 8, 1, 0, 2, 9, 9, 4]);
  const starts = new Int32Array([0, 4, 2]);
  const L = 3;
  for (const shift of [0, 1]) {
    const out = new Int32Array(starts.length * L);
    for (let r = 0; r < starts.length; r++) for (let t = 0; t < L; t++) out[r * L + t] = tokens[starts[r] + shift + t];
    check('windows', { length: L, shift }, [tokens, starts], out);
  }
  const C = 10;
  const hot = new Float32Array(labels.length * C);
  labels.forEach((l, i) => (hot[i * C + l] = 1));
  check('onehot', { classes: C }, [labels], T(hot, [labels.length, C]));
});

test('im2col and col2im (its backward), strides and padding', () => {
  for (const [shape, geo] of [
    [[2, 3, 6, 5], { kh: 3, kw: 3, stride: 1, pad: 1 }],
    [[1, 2, 7, 7], { kh: 3, kw: 2, stride: 2, pad: 0 }],
    [[2, 1, 8, 8], { kh: 5, kw: 5, stride: 1, pad: 2 }],
    [[1, 2, 9, 6], { kh: 3, kw: 3, stride: 3, pad: 2 }],
  ] as const) {
    const xp = parameter('x', values(`i2c${shape}`, sz([...shape])), [...shape]);
    const cols = ops.im2col(xp, geo);
    check('im2col', geo, [T(xp.data, [...shape])], cols);
    const g = vt(`c2i${shape}`, [...cols.shape]);
    cols.backward(g);
    check('col2im', { ...geo, shape: [...shape] }, [g], xp.grad!);
  }
});

test('maxBackward: the gradient goes to the first maximum', () => {
  // ties on purpose: small integers
  const n = 2 * 4 * 3;
  const u = uniforms(rngStream(7, 'maxb'), 0, n);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.floor(u[i] * 3);
  for (const axis of [0, 1, 2]) {
    const xp = parameter('x', x.slice(), [2, 4, 3]);
    const y = ops.max(xp, axis);
    const g = vt(`maxg${axis}`, [...y.shape]);
    y.backward(g);
    check('maxBackward', { axis }, [T(x, [2, 4, 3]), T(y.data, [...y.shape]), g], xp.grad!);
  }
});

test('causalMask, dropoutMask, select, sumSquares', () => {
  const Tm = 5;
  const mask = new Float32Array(Tm * Tm);
  for (let i = 0; i < Tm; i++) for (let j = i + 1; j < Tm; j++) mask[i * Tm + j] = -1e30;
  check('causalMask', { size: Tm }, [], T(mask, [Tm, Tm]));
  const stream = rngStream(3, 'dropout');
  const x = T(new Float32Array(40).fill(1), [5, 8]);
  for (const [p, offset] of [[0.1, 0], [0.5, 77], [0.25, 2 ** 31]] as const) {
    const y = dropout(x, p, stream, offset);
    check('dropoutMask', { p: f(p), offset }, [new Int32Array(stream.key)], y);
  }
  const c = T(new Float32Array([1, 0, 0.5, -0, NaN, 2]), [6]);
  const a = vt('sela', [6]), b = vt('selb', [6]);
  const sel = new Float32Array(6);
  for (let i = 0; i < 6; i++) sel[i] = c.data[i] !== 0 ? a.data[i] : b.data[i];
  check('select', {}, [c, a, b], T(sel, [6]));
  const gs = [vt('sq1', [3, 4]), vt('sq2', [5]), vt('sq3', [2, 2, 2])];
  let acc = 0;
  for (const g of gs) for (const v of g.data) acc = f(acc + f(v * v));
  check('sumSquares', {}, gs, T(new Float32Array([acc]), []));
  // the same sum as a chain of sumSquaresAcc, one per gradient
  let chained = T(new Float32Array([0]), []);
  for (const g of gs) {
    let a = chained.data[0];
    for (const v of g.data) a = f(a + f(v * v));
    const next = T(new Float32Array([a]), []);
    check('sumSquaresAcc', {}, [chained, g], next);
    chained = next;
  }
  assert.equal(chained.data[0], acc);
});

test('optimizer updates: AdamW (with and without decay), SGD (first step, momentum, decay)', () => {
  const n = 37;
  for (const weightDecay of [0, f(0.01)]) {
    const w = values('aw', n), g = values('ag', n), m = values('am', n, false), v = new Float32Array(values('av', n, false).map(Math.abs));
    const c = { b1: f(0.9), c1: f(0.1), b2: f(0.999), c2: f(1 - f(0.999)), sbc2: f(0.0447), eps: f(1e-8), stepSize: f(0.0031), decay: f(3e-5), weightDecay };
    const [w1, m1, v1] = [w.slice(), m.slice(), v.slice()];
    adamwReference(w1, g, m1, v1, c);
    const s = (x: number) => T(new Float32Array([x]), []);
    check('adamwM', { b1: c.b1, c1: c.c1 }, [T(m, [n]), T(g, [n])], T(m1, [n]));
    check('adamwV', { b2: c.b2, c2: c.c2 }, [T(v, [n]), T(g, [n])], T(v1, [n]));
    check('adamwW', { eps: c.eps, weightDecay }, [T(w, [n]), T(m1, [n]), T(v1, [n]), s(c.stepSize), s(c.sbc2), s(c.decay)], T(w1, [n]));
  }
  for (const wd of [0, f(0.001)]) {
    for (const first of [true, false]) {
      const w = values('sw', n), g = values('sg', n), buf = values('sb', n, false);
      const c = { mu: f(0.9), wd, lr: f(0.05), first };
      const [w1, b1] = [w.slice(), buf.slice()];
      sgdReference(w1, g, b1, c);
      const s = (x: number) => T(new Float32Array([x]), []);
      check('sgdBuf', { mu: c.mu, wd }, [T(buf, [n]), T(g, [n]), T(w, [n]), s(first ? 1 : 0)], T(b1, [n]));
      check('sgdW', {}, [T(w, [n]), T(b1, [n]), s(c.lr)], T(w1, [n]));
    }
  }
});

test('opcode numbers the machine relies on', () => {
  assert.equal(OP.add, 0);
  assert.equal(OP.i2f, 17);
});
