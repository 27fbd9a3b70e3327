// The primitives of ops.ts, proven three ways:
// - forward: equal to an independent float64 reference within binary32 rounding, and, where the op
//   has a canonical binary32 program (elementwise + - * /, sqrt, sums, matmul, conv, movements),
//   bit for bit equal to a plain scalar loop of that program;
// - backward: the engine's autograd against central differences of the float64 reference;
// - autograd mechanics, non-finite detection and shape errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NumericError, ShapeError, InputError } from '../errors.ts';
import {
  add, sub, mul, div, maximum, greater, neg, exp, log, sqrt, tanh, sum, max, matmul, reshape, permute,
  slice, pad, concat, expand, gather, im2col, conv2d, broadcastShapes, sumTo,
} from './ops.ts';
import { Tensor, tensor, noGrad, withFiniteChecks, scalar } from './tensor.ts';
import { matmulReference } from './kernels/reference.ts';
import type { MatmulParams } from './kernels/backend.ts';
import {
  F32, rand, randAway, gradCheck, assertBitsEqual, assertClose, ulpDistance, bits, binaryRef, sumRef, maxRef,
  matmulRef, permuteRef, sliceRef, padRef, concatRef, expandRef, gatherRef, im2colRef, conv2dRef, sumErrorBound,
  type CheckInput,
  inputOf,
} from './testing.ts';
import { sizeOf, type Shape } from './tensor.ts';

const inp = inputOf;

// Values on a grid of 1/8 (a) and 1/8 + 1/16 (b): |a - b| >= 1/16 everywhere, so maximum never
// ties and finite differences never cross its kink.
function gridInput(name: string, shape: Shape, offset: number): CheckInput {
  const u = rand(name, sizeOf(shape), 0, 1);
  const data = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) data[i] = Math.floor(u[i] * 16) / 8 - 1 + offset;
  return { name, shape, data };
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary

const BINARY = [
  { name: 'add', op: add, f: (x: number, y: number) => x + y },
  { name: 'sub', op: sub, f: (x: number, y: number) => x - y },
  { name: 'mul', op: mul, f: (x: number, y: number) => x * y },
  { name: 'div', op: div, f: (x: number, y: number) => x / y },
  { name: 'maximum', op: maximum, f: (x: number, y: number) => Math.max(x, y) },
] as const;

const BROADCASTS: [Shape, Shape][] = [
  [[3, 4], [3, 4]],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [[3, 1], [1, 4]],
  [[2, 3, 4], [3, 1]],
  [[1, 3, 1], [2, 1, 4]],
  [[3, 4], []],
  [[], [3, 4]],
  [[3, 4], [1]],
];

function binaryInputs(name: string, aShape: Shape, bShape: Shape): [CheckInput, CheckInput] {
  if (name === 'maximum') return [gridInput('max/a', aShape, 0), gridInput('max/b', bShape, 1 / 16)];
  const a = inp(`${name}/a`, aShape);
  // Divisors away from 0 keep the quotient and its derivatives moderate.
  const b = name === 'div'
    ? { name: `${name}/b`, shape: bShape, data: randAway(`${name}/b`, sizeOf(bShape), -2, 2, 0.5) }
    : inp(`${name}/b`, bShape);
  return [a, b];
}

describe('elementwise binary ops', () => {
  for (const { name, op, f } of BINARY) {
    for (const [aShape, bShape] of BROADCASTS) {
      test(`${name} [${aShape}] with [${bShape}]: forward exact, gradient matches finite differences`, () => {
        const [a, b] = binaryInputs(name, aShape, bShape);
        const { out } = gradCheck({
          label: `${name} [${aShape}]·[${bShape}]`,
          inputs: [a, b],
          engine: ([x, y]) => op(x, y),
          reference: ([x, y]) => binaryRef(f, x, aShape, y, bShape).data,
        });
        // The canonical program: one binary32 operation per element.
        const ref32 = binaryRef(f, a.data, aShape, b.data, bShape, F32);
        assert.deepEqual(out.shape, ref32.shape);
        assertBitsEqual(out.data, ref32.data, `${name} binary32 program`);
      });
    }
  }

  test('a number operand is a binary32 scalar on either side', () => {
    const x = tensor([1, -2, 3.5], [3], true);
    const y = sub(2, mul(x, 0.1));
    assertBitsEqual(y.data, [1, -2, 3.5].map((v) => Math.fround(2 - Math.fround(v * Math.fround(0.1)))), 'sub(2, x*0.1)');
    sum(y).backward();
    assertBitsEqual(x.grad!.data, [-0.1, -0.1, -0.1].map(Math.fround), 'd/dx');
    assert.deepEqual(add(scalar(1), 2).shape, []);
  });

  test('maximum: NaN propagates, maximum(-0, +0) = +0, ties send the gradient to b', () => {
    const m = maximum(tensor([NaN, 1, -0, 0]), tensor([0, NaN, 0, -0]));
    assert.ok(Number.isNaN(m.data[0]) && Number.isNaN(m.data[1]));
    assert.ok(Object.is(m.data[2], 0) && Object.is(m.data[3], 0));
    const a = tensor([1, 2, 3], [3], true), b = tensor([1, 1, 4], [3], true);
    sum(maximum(a, b)).backward();
    assert.deepEqual(a.grad!.toArray(), [0, 1, 0]);
    assert.deepEqual(b.grad!.toArray(), [1, 0, 1]);
  });

  test('greater is a mask without gradient', () => {
    const a = tensor([1, 2, NaN], [3], true);
    const g = greater(a, 1.5);
    assert.deepEqual(g.toArray(), [0, 1, 0]);
    const y = sum(mul(g, a));
    y.backward();
    assert.deepEqual(Array.from(a.grad!.data.subarray(0, 2)), [0, 1]);
  });

  test('sumTo reduces a broadcast gradient in ascending source order', () => {
    // 1 + 1e8 - 1e8 is 0 in binary32 when added in this order and 1 in the reverse one.
    const g = tensor([1, 1e8, -1e8, 1e8, 2, 3, -1e8, 5, 6], [3, 3]);
    assertBitsEqual(sumTo(g, [3]).data, sumRef(g.data, [3, 3], 0, F32), 'sumTo [3]');
    assertBitsEqual(sumTo(g, [1, 3]).data, sumRef(g.data, [3, 3], 0, F32), 'sumTo [1, 3]');
    assertBitsEqual(sumTo(g, [3, 1]).data, sumRef(g.data, [3, 3], 1, F32), 'sumTo [3, 1]');
    assert.equal(sumTo(g, [3]).data[0], 0);
    assert.equal(sumTo(g, [3, 1]).data[0], 0);
    assert.equal(sumTo(g, []).item(), sumRef(g.data, [3, 3], undefined, F32)[0]);
    // The same order in a broadcast gradient: d/db of Σ w·(a + b) for b [3] broadcast over rows.
    const a = tensor(new Float32Array(9), [3, 3]), b = tensor([0, 0, 0], [3], true);
    sum(mul(add(a, b), g)).backward();
    assertBitsEqual(b.grad!.data, sumRef(g.data, [3, 3], 0, F32), 'broadcast add gradient');
  });
});

// ---------------------------------------------------------------------------------------------
// Elementwise unary

describe('elementwise unary ops', () => {
  const shape = [3, 5];
  const cases = [
    { name: 'neg', op: neg, f: (x: number) => -x, lo: -3, hi: 3, exact: true },
    { name: 'sqrt', op: sqrt, f: Math.sqrt, lo: 0.25, hi: 4, exact: true },
    { name: 'exp', op: exp, f: Math.exp, lo: -4, hi: 4, exact: false },
    { name: 'log', op: log, f: Math.log, lo: 0.25, hi: 4, exact: false },
    { name: 'tanh', op: tanh, f: Math.tanh, lo: -3, hi: 3, exact: false },
  ];
  for (const { name, op, f, lo, hi, exact } of cases) {
    test(`${name}: forward within binary32 rounding, gradient matches finite differences`, () => {
      const x = inp(`u/${name}`, shape, lo, hi);
      const { out } = gradCheck({
        label: name,
        inputs: [x],
        engine: ([t]) => op(t),
        reference: ([v]) => v.map(f),
        fwdTol: 3e-7,
      });
      for (let i = 0; i < out.size; i++) {
        const want = Math.fround(f(x.data[i]));
        if (exact) assert.ok(Object.is(out.data[i], want), `${name}(${x.data[i]}) = ${out.data[i]}, want ${want}`);
        // math.ts programs are within 1.3 ulp of the true value: at most 2 ulp from its rounding.
        else assert.ok(ulpDistance(out.data[i], want) <= 2, `${name}(${x.data[i]}) = ${out.data[i]}, true ${f(x.data[i])}`);
      }
    });
  }

  test('exp and tanh also work across their branch points and saturation', () => {
    const xs = [-120, -88, -20, -9.5, -1, -0.6, -0.1, 0, 0.1, 0.6, 1, 9.5, 20, 88];
    const e = exp(tensor(xs));
    const t = tanh(tensor(xs));
    for (let i = 0; i < xs.length; i++) {
      const ew = Math.fround(Math.exp(xs[i]));
      assert.ok(ulpDistance(e.data[i], ew) <= 2 || (ew < 1.2e-38 && Math.abs(e.data[i] - ew) <= 2 ** -149), `exp(${xs[i]})`);
      assert.ok(ulpDistance(t.data[i], Math.fround(Math.tanh(xs[i]))) <= 2, `tanh(${xs[i]})`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Reductions

describe('reductions', () => {
  const shape = [2, 3, 4];
  for (const axis of [undefined, 0, 1, 2, -1]) {
    for (const keepDims of axis === undefined ? [false] : [false, true]) {
      test(`sum axis=${axis} keepDims=${keepDims}`, () => {
        const x = inp('sum/x', shape, -2, 2);
        const ax = axis === undefined ? undefined : (axis + 3) % 3;
        const { out } = gradCheck({
          label: `sum ${axis} ${keepDims}`,
          inputs: [x],
          engine: ([t]) => sum(t, axis, keepDims),
          reference: ([v]) => sumRef(v, shape, ax),
          fwdTol: 1e-6,
        });
        const wantShape = ax === undefined ? [] : shape.map((d, i) => (i === ax ? 1 : d)).filter((d, i) => keepDims || i !== ax);
        assert.deepEqual(out.shape, wantShape);
        assertBitsEqual(out.data, sumRef(x.data, shape, ax, F32), 'sum binary32 program');
      });
    }
  }

  for (const axis of [0, 1, 2, -1]) {
    for (const keepDims of [false, true]) {
      test(`max axis=${axis} keepDims=${keepDims}`, () => {
        const x = inp('max/x', shape, -2, 2);
        const ax = (axis + 3) % 3;
        const { out } = gradCheck({
          label: `max ${axis} ${keepDims}`,
          inputs: [x],
          engine: ([t]) => max(t, axis, keepDims),
          reference: ([v]) => maxRef(v, shape, ax),
        });
        assert.deepEqual(out.shape, shape.map((d, i) => (i === ax ? 1 : d)).filter((d, i) => keepDims || i !== ax));
        assertBitsEqual(out.data, maxRef(x.data, shape, ax), 'max');
      });
    }
  }

  test('max sends the gradient of a tie to the first maximal element only', () => {
    const x = tensor([1, 3, 3, 2, 5, 5], [2, 3], true);
    sum(max(x, 1)).backward();
    assert.deepEqual(x.grad!.toArray(), [0, 1, 0, 0, 1, 0]);
  });

  test('sums accumulate from +0 in ascending order (a case where order changes the bits)', () => {
    const x = tensor([1e8, 1, -1e8, 1]);
    assert.equal(sum(x).item(), Math.fround(Math.fround(Math.fround(1e8 + 1) - 1e8) + 1));
    assert.ok(Object.is(sum(tensor([-0, -0])).item(), 0), 'acc starts at +0');
    assert.ok(Object.is(sum(tensor([-0, -0], [2, 1]), 0).data[0], 0), 'per-axis acc starts at +0');
  });
});

// ---------------------------------------------------------------------------------------------
// Matrix product

interface MatmulCase {
  label: string;
  a: Shape;
  b: Shape;
  transA?: boolean;
  transB?: boolean;
}

const MATMULS: MatmulCase[] = [
  { label: '2-D', a: [3, 4], b: [4, 5] },
  { label: '2-D transA', a: [4, 3], b: [4, 5], transA: true },
  { label: '2-D transB', a: [3, 4], b: [5, 4], transB: true },
  { label: '2-D transA transB', a: [4, 3], b: [5, 4], transA: true, transB: true },
  { label: 'batched [2,3,4,5]·[2,3,5,6]', a: [2, 3, 4, 5], b: [2, 3, 5, 6] },
  { label: 'batched a, shared 2-D b', a: [2, 3, 4], b: [4, 5] },
  { label: 'batched a, shared 2-D b, transB', a: [2, 3, 4], b: [5, 4], transB: true },
  { label: 'batched transB (attention q·kᵀ)', a: [2, 2, 3, 4], b: [2, 2, 5, 4], transB: true },
  { label: 'batched transA', a: [2, 4, 3], b: [2, 4, 5], transA: true },
  { label: 'batched transA transB', a: [2, 4, 3], b: [2, 5, 4], transA: true, transB: true },
  { label: 'batch of one, transA, shared b', a: [1, 4, 3], b: [4, 5], transA: true },
];

/** The kernel called directly with parameters built from the shapes (no flattening tricks). */
function kernelMatmul(c: MatmulCase, a: Float32Array, b: Float32Array): Float32Array {
  const aR = c.a[c.a.length - 2], aC = c.a[c.a.length - 1];
  const bR = c.b[c.b.length - 2], bC = c.b[c.b.length - 1];
  const batch = sizeOf(c.a.slice(0, -2));
  const p: MatmulParams = {
    batch,
    M: c.transA ? aC : aR,
    K: c.transA ? aR : aC,
    N: c.transB ? bR : bC,
    transA: !!c.transA,
    transB: !!c.transB,
    aOffset: 0,
    bOffset: 0,
    aBatchStride: aR * aC,
    bBatchStride: c.b.length === 2 ? 0 : bR * bC,
  };
  const out = new Float32Array(batch * p.M * p.N);
  matmulReference(a, b, out, p);
  return out;
}

describe('matmul', () => {
  for (const c of MATMULS) {
    test(`${c.label}: forward is the canonical k-ascending program, gradients match`, () => {
      const a = inp(`mm/a/${c.label}`, c.a), b = inp(`mm/b/${c.label}`, c.b);
      const tr = { transA: !!c.transA, transB: !!c.transB };
      const { out } = gradCheck({
        label: `matmul ${c.label}`,
        inputs: [a, b],
        engine: ([x, y]) => matmul(x, y, tr),
        reference: ([x, y]) => matmulRef(x, c.a, y, c.b, tr.transA, tr.transB).data,
        fwdTol: 2e-6,
      });
      const ref = matmulRef(a.data, c.a, b.data, c.b, tr.transA, tr.transB, F32);
      assert.deepEqual(out.shape, ref.shape);
      assertBitsEqual(out.data, ref.data, 'matmul vs binary32 loop');
      assertBitsEqual(out.data, kernelMatmul(c, a.data, b.data), 'matmul vs matmulReference');
    });
  }

  test('each product is rounded to binary32 before the add (no FMA)', () => {
    // k=1: (1 + 2^-12)² = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 (tie to even); added to -1 that
    // leaves 2^-11. A fused multiply-add would keep the 2^-24.
    const e = 1 + 2 ** -12;
    assert.equal(matmul(tensor([1, e], [1, 2]), tensor([-1, e], [2, 1])).item(), 2 ** -11);
  });

  test('k ascends: 1 + 1e8 - 1e8 = 0 in binary32 (descending would give 1)', () => {
    assert.equal(matmul(tensor([1, 1e8, -1e8], [1, 3]), tensor([1, 1, 1], [3, 1])).item(), 0);
    assert.equal(matmul(tensor([1, 1, 1], [3, 1]), tensor([1, 1e8, -1e8], [3, 1]), { transA: true }).item(), 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Movement

describe('movement ops', () => {
  const shape = [2, 3, 4];
  const mv = (label: string, engine: (t: Tensor) => Tensor, reference: (v: ArrayLike<number>) => Float64Array, wantShape: Shape) => {
    test(`${label}: exact copy, gradient matches`, () => {
      const x = inp(`mv/${label}`, shape);
      const { out } = gradCheck({ label, inputs: [x], engine: ([t]) => engine(t), reference: (xs) => reference(xs[0]) });
      assert.deepEqual(out.shape, wantShape);
      assertBitsEqual(out.data, reference(x.data), label);
    });
  };
  mv('reshape [2,3,4]→[6,4]', (t) => reshape(t, [6, 4]), (v) => Float64Array.from(v), [6, 4]);
  mv('reshape with -1', (t) => reshape(t, [4, -1, 2]), (v) => Float64Array.from(v), [4, 3, 2]);
  for (const axes of [[2, 0, 1], [1, 0, 2], [0, 2, 1], [2, 1, 0], [0, 1, 2]]) {
    mv(`permute [${axes}]`, (t) => permute(t, axes), (v) => permuteRef(v, shape, axes), axes.map((a) => shape[a]));
  }
  mv('slice axis 0', (t) => slice(t, 0, 1, 2), (v) => sliceRef(v, shape, 0, 1, 2), [1, 3, 4]);
  mv('slice axis 1', (t) => slice(t, 1, 1, 3), (v) => sliceRef(v, shape, 1, 1, 3), [2, 2, 4]);
  mv('slice axis -1', (t) => slice(t, -1, 0, 3), (v) => sliceRef(v, shape, 2, 0, 3), [2, 3, 3]);
  mv('slice empty', (t) => slice(t, 1, 2, 2), (v) => sliceRef(v, shape, 1, 2, 2), [2, 0, 4]);
  mv('pad axis 0', (t) => pad(t, 0, 1, 2), (v) => padRef(v, shape, 0, 1, 2), [5, 3, 4]);
  mv('pad axis 1', (t) => pad(t, 1, 0, 2), (v) => padRef(v, shape, 1, 0, 2), [2, 5, 4]);
  mv('pad axis -1', (t) => pad(t, -1, 3, 1), (v) => padRef(v, shape, 2, 3, 1), [2, 3, 8]);
  mv('expand [2,3,4]→[2,2,3,4]', (t) => expand(t, [2, 2, 3, 4]), (v) => expandRef(v, shape, [2, 2, 3, 4]), [2, 2, 3, 4]);

  test('expand from size-1 axes, from a vector and from a scalar', () => {
    for (const [from, to] of [[[3, 1], [2, 3, 4]], [[4], [3, 4]], [[], [2, 2]], [[1, 3, 1], [2, 3, 2]]] as [Shape, Shape][]) {
      const x = inp(`expand/${from}`, from);
      const { out } = gradCheck({
        label: `expand [${from}]→[${to}]`,
        inputs: [x],
        engine: ([t]) => expand(t, to),
        reference: ([v]) => expandRef(v, from, to),
      });
      assert.deepEqual(out.shape, to);
      assertBitsEqual(out.data, expandRef(x.data, from, to), 'expand');
    }
  });

  test('concat along axes 0, 1 and -1 of three tensors', () => {
    for (const axis of [0, 1, 2]) {
      const shapes: Shape[] = [0, 1, 2].map((k) => shape.map((d, i) => (i === axis ? k + 1 : d)));
      const xs = shapes.map((s, k) => inp(`concat/${axis}/${k}`, s));
      const { out } = gradCheck({
        label: `concat axis ${axis}`,
        inputs: xs,
        engine: (ts) => concat(ts, axis === 2 ? -1 : axis),
        reference: (vs) => concatRef(vs, shapes, axis),
      });
      assert.deepEqual(out.shape, shape.map((d, i) => (i === axis ? 6 : d)));
      assertBitsEqual(out.data, concatRef(xs.map((x) => x.data), shapes, axis), 'concat');
    }
  });

  test('pad writes +0, and its backward is the slice', () => {
    const y = pad(tensor([-0, -1], [2]), 0, 1, 1);
    assertBitsEqual(y.data, [0, -0, -1, 0], 'pad');
  });

  test('gather with repeated indices sums their gradients (ascending positions)', () => {
    const tableShape = [5, 3];
    const table = inp('gather/table', tableShape);
    const ids = Int32Array.from([1, 3, 1, 0, 1, 4]);
    for (const indexShape of [[6], [2, 3]]) {
      const { out, grads } = gradCheck({
        label: `gather [${indexShape}]`,
        inputs: [table],
        engine: ([t]) => gather(t, ids, indexShape),
        reference: ([v]) => gatherRef(v, tableShape, ids),
      });
      assert.deepEqual(out.shape, [...indexShape, 3]);
      assertBitsEqual(out.data, gatherRef(table.data, tableShape, ids), 'gather');
      // Row 2 is never gathered: its gradient is exactly zero.
      assert.deepEqual(Array.from(grads[0]!.data.subarray(6, 9)), [0, 0, 0]);
    }
    assert.throws(() => gather(tensor([1, 2], [2, 1]), Int32Array.from([0, 2])), (e: unknown) => e instanceof InputError && /index 2 at position 1/.test(e.message));
    assert.throws(() => gather(tensor([1, 2], [2, 1]), Int32Array.from([-1])), InputError);
  });
});

// ---------------------------------------------------------------------------------------------
// im2col and conv2d

describe('im2col and conv2d', () => {
  const xShape = [2, 2, 5, 5];
  const geos = [
    { stride: 1, pad: 0 }, { stride: 1, pad: 1 }, { stride: 1, pad: 2 },
    { stride: 2, pad: 0 }, { stride: 2, pad: 1 }, { stride: 2, pad: 2 },
  ];
  for (const { stride, pad: p } of geos) {
    test(`im2col 3x3 stride ${stride} pad ${p}`, () => {
      const geo = { kh: 3, kw: 3, stride, pad: p };
      const x = inp(`im2col/${stride}/${p}`, xShape);
      const { out } = gradCheck({
        label: `im2col s${stride} p${p}`,
        inputs: [x],
        engine: ([t]) => im2col(t, geo),
        reference: ([v]) => im2colRef(v, xShape, geo).data,
      });
      const ref = im2colRef(x.data, xShape, geo);
      assert.deepEqual(out.shape, ref.shape);
      assertBitsEqual(out.data, ref.data, 'im2col');
    });

    test(`conv2d [3,2,3,3] stride ${stride} pad ${p}`, () => {
      const wShape = [3, 2, 3, 3];
      const x = inp(`conv/x/${stride}/${p}`, xShape), w = inp(`conv/w/${stride}/${p}`, wShape);
      const { out } = gradCheck({
        label: `conv2d s${stride} p${p}`,
        inputs: [x, w],
        engine: ([t, k]) => conv2d(t, k, { stride, pad: p }),
        reference: ([v, k]) => conv2dRef(v, xShape, k, wShape, stride, p).data,
        fwdTol: 5e-6,
      });
      const ref = conv2dRef(x.data, xShape, w.data, wShape, stride, p, F32);
      assert.deepEqual(out.shape, ref.shape);
      assertBitsEqual(out.data, ref.data, 'conv2d binary32 program');
    });
  }

  test('non-square kernel, odd sizes, unused input rows', () => {
    const xShape2 = [1, 3, 6, 7], wShape = [2, 3, 2, 3];
    const x = inp('conv2/x', xShape2), w = inp('conv2/w', wShape);
    const { out } = gradCheck({
      label: 'conv2d 2x3 s2',
      inputs: [x, w],
      engine: ([t, k]) => conv2d(t, k, { stride: 2, pad: 0 }),
      reference: ([v, k]) => conv2dRef(v, xShape2, k, wShape, 2, 0).data,
      fwdTol: 5e-6,
    });
    assert.deepEqual(out.shape, [1, 2, 3, 3]);
    assertBitsEqual(out.data, conv2dRef(x.data, xShape2, w.data, wShape, 2, 0, F32).data, 'conv2d');
    assertBitsEqual(im2col(tensor(x.data, xShape2), { kh: 2, kw: 3, stride: 2, pad: 0 }).data,
      im2colRef(x.data, xShape2, { kh: 2, kw: 3, stride: 2, pad: 0 }).data, 'im2col 2x3');
  });
});

// ---------------------------------------------------------------------------------------------
// Forward error of the reductions against float64, with the textbook bound

test('sum and matmul errors stay within n·u·Σ|terms| of the float64 values', () => {
  const n = 1000;
  const x = rand('bound/x', n, -1, 1);
  const s = sum(tensor(x)).item();
  let exact = 0, abs = 0;
  for (const v of x) (exact += v), (abs += Math.abs(v));
  assert.ok(Math.abs(s - exact) <= sumErrorBound(n, abs), `sum error ${Math.abs(s - exact)}`);
  const a = rand('bound/a', 4 * 300, -1, 1), b = rand('bound/b', 300 * 3, -1, 1);
  const c = matmul(tensor(a, [4, 300]), tensor(b, [300, 3]));
  const r = matmulRef(a, [4, 300], b, [300, 3], false, false);
  assertClose(c.data, r.data, (i) => {
    const [row, col] = [Math.floor(i / 3), i % 3];
    let t = 0;
    for (let k = 0; k < 300; k++) t += Math.abs(a[row * 300 + k] * b[k * 3 + col]);
    return sumErrorBound(2 * 300, t);
  }, 'matmul');
});

// ---------------------------------------------------------------------------------------------
// Autograd mechanics

describe('autograd', () => {
  test('a tensor used twice accumulates both gradients', () => {
    const x = tensor([0.5, -1.5, 2], [3], true);
    sum(add(mul(x, x), x)).backward(); // d/dx (x² + x) = 2x + 1
    assert.deepEqual(x.grad!.toArray(), [2, -2, 5]);
    const y = tensor([3], [1], true);
    mul(y, y).backward();
    assert.deepEqual(y.grad!.toArray(), [6]);
  });

  test('leaves handed one gradient array get arrays of their own (in-place updates stay apart)', () => {
    // add hands its gradient to both inputs, reshape passes it on: a, b and c would share one array.
    const a = tensor([1, 2], [2], true), b = tensor([3, 4], [2], true), c = tensor([5, 6], [2, 1], true);
    sum(add(add(a, b), reshape(c, [2]))).backward();
    a.grad!.data[0] = 99; // as clipping or an optimizer writes into .grad
    assert.deepEqual(a.grad!.toArray(), [99, 1]);
    assert.deepEqual(b.grad!.toArray(), [1, 1]);
    assert.deepEqual(c.grad!.toArray(), [1, 1]);
    // A gradient made for one leaf alone (matmul's, mul's) is kept, not copied.
    const w = tensor([1, 2, 3, 4], [2, 2], true);
    sum(mul(w, 2)).backward();
    assert.deepEqual(w.grad!.toArray(), [2, 2, 2, 2]);
  });

  test('backward twice adds into .grad; noGrad records nothing', () => {
    const x = tensor([1, 2], [2], true);
    sum(mul(x, 3)).backward();
    sum(mul(x, 3)).backward();
    assert.deepEqual(x.grad!.toArray(), [6, 6]);
    const z = noGrad(() => mul(x, 3));
    assert.equal(z.requiresGrad, false);
    assert.equal(z.gradFn, null);
  });

  test('only tensors that require gradients get them; detach cuts the graph', () => {
    const x = tensor([1, 2], [2], true), c = tensor([3, 4], [2]);
    sum(add(mul(x, c), mul(x.detach(), x))).backward();
    assert.equal(c.grad, null);
    assert.deepEqual(x.grad!.toArray(), [4, 6]); // c + x (detached factor only)
  });

  test('gradient accumulation order is fixed: ((g_c + g_b) + g_a) for x·a + x·b + x·c', () => {
    // Chosen so that the three possible association orders give different binary32 sums.
    const ga = 1, gb = 1e8, gc = -1e8;
    const x = tensor([0], [1], true);
    add(add(mul(x, ga), mul(x, gb)), mul(x, gc)).backward();
    const f = Math.fround;
    assert.equal(x.grad!.item(), f(f(gc + gb) + ga)); // = 1; the order a, b, c would give 0
    assert.notEqual(f(f(ga + gb) + gc), f(f(gc + gb) + ga));
  });

  test('each leaf owns its gradient buffer (in-place clipping of one cannot change another)', () => {
    const p1 = tensor([1, 2], [2], true), p2 = tensor([3, 4], [2], true), w = tensor([1, 1], [1, 2], true);
    // add hands the same gradient tensor to both inputs; reshape shares data with its input.
    sum(mul(add(p1, p2), tensor([5, 7]))).backward();
    sum(reshape(w, [2])).backward();
    assert.notEqual(p1.grad!.data.buffer, p2.grad!.data.buffer);
    p1.grad!.data[0] *= 0.5;
    assert.deepEqual(p2.grad!.toArray(), [5, 7]);
    assert.deepEqual(w.grad!.shape, [1, 2]);
  });

  test('two identical runs give bit-identical gradients', () => {
    const run = () => {
      const x = new Tensor(rand('det/x', 24, -1, 1), [2, 3, 4], true);
      const w = new Tensor(rand('det/w', 20, -1, 1), [4, 5], true);
      const h = tanh(matmul(x, w));
      const loss = sum(mul(add(h, mul(h, h)), sum(exp(mul(x, 0.5)), -1, true)));
      loss.backward();
      return [bits(x.grad!.data), bits(w.grad!.data), bits(loss.data)];
    };
    assert.deepEqual(run(), run());
  });

  test('a deep chain does not overflow the stack', () => {
    const x = tensor([1], [1], true);
    let y = x;
    for (let i = 0; i < 20000; i++) y = add(y, 1e-3);
    y.backward();
    assert.equal(x.grad!.item(), 1);
  });

  test('backward without a seed needs a scalar', () => {
    const x = tensor([1, 2], [2], true);
    assert.throws(() => mul(x, 2).backward(), ShapeError);
    const y = mul(x, 2);
    y.backward(tensor([1, 10], [2]));
    assert.deepEqual(x.grad!.toArray(), [2, 20]);
  });
});

describe('withFiniteChecks', () => {
  test('names the op that first produced NaN (log of a negative number)', () => {
    const x = tensor([1, -2, 3], [3], true);
    assert.throws(
      () => withFiniteChecks(() => sum(log(mul(x, 2)))),
      (e: unknown) => e instanceof NumericError && /^log produced NaN at element 1/.test(e.message) && /op #2/.test(e.message),
    );
    // Without checking the NaN flows through silently.
    assert.ok(Number.isNaN(sum(log(x)).item()));
  });

  test('names the op that produced Inf, also in the backward pass', () => {
    assert.throws(() => withFiniteChecks(() => exp(tensor([100]))), (e: unknown) => e instanceof NumericError && /^exp produced Infinity/.test(e.message));
    const z = tensor([0, 1], [2], true);
    const y = sum(sqrt(z)); // forward is finite, d sqrt(0) = 1/0 is not
    assert.throws(() => withFiniteChecks(() => y.backward()), (e: unknown) => e instanceof NumericError && /^div produced Infinity/.test(e.message));
  });

  test('the parameter name appears in the details', () => {
    const p = tensor([-1], [1], true);
    p.name = 'layer0.w';
    assert.throws(() => withFiniteChecks(() => log(p)), (e: unknown) => e instanceof NumericError && e.message.includes('layer0.w'));
  });
});

// ---------------------------------------------------------------------------------------------
// Shape errors

describe('shape errors', () => {
  const is = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  test('readable messages for mismatched shapes', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => add(a, tensor(new Float32Array(4), [4])), is(/cannot broadcast shapes \[2,3\] and \[4\]/));
    assert.throws(() => broadcastShapes([2, 3], [3, 2]), is(/cannot broadcast/));
    assert.throws(() => matmul(a, a), is(/matmul inner dimensions differ: \[2,3\] · \[2,3\]/));
    assert.throws(() => matmul(tensor([1, 2], [2]), a), is(/rank >= 2/));
    assert.throws(() => matmul(tensor(new Float32Array(12), [2, 2, 3]), tensor(new Float32Array(18), [3, 3, 2])), is(/batch dimensions differ/));
    assert.throws(() => matmul(tensor(new Float32Array(12), [2, 3, 2]), tensor(new Float32Array(12), [3, 4]), { transA: true }), is(/flatten the batch/));
    assert.throws(() => reshape(a, [4, 2]), is(/cannot reshape \[2,3\] to \[4,2\]/));
    assert.throws(() => reshape(a, [4, -1]), ShapeError);
    assert.throws(() => permute(a, [0, 0]), is(/permute axes \[0,0\] invalid for rank 2/));
    assert.throws(() => slice(a, 1, 2, 4), is(/slice \[2, 4\) out of range 0..3/));
    assert.throws(() => sum(a, 2), is(/axis 2 out of range for rank 2/));
    assert.throws(() => max(a, -3), is(/axis -3 out of range/));
    assert.throws(() => concat([a, tensor(new Float32Array(4), [2, 2])], 0), is(/concat: shapes \[2,3\] and \[2,2\] differ off axis 0/));
    assert.throws(() => concat([], 0), is(/concat of nothing/));
    assert.throws(() => expand(a, [3, 3]), is(/cannot (expand|broadcast)/));
    assert.throws(() => expand(a, [3]), is(/cannot expand \[2,3\] to \[3\]/));
    assert.throws(() => im2col(a, { kh: 1, kw: 1, stride: 1, pad: 0 }), is(/im2col needs \[N, C, H, W\]/));
    assert.throws(() => conv2d(tensor(new Float32Array(9), [1, 1, 3, 3]), tensor(new Float32Array(8), [1, 2, 2, 2])), is(/conv2d needs/));
    assert.throws(() => conv2d(tensor(new Float32Array(4), [1, 1, 2, 2]), tensor(new Float32Array(9), [1, 1, 3, 3])), is(/conv window 3x3 larger than padded input 2x2/));
    assert.throws(() => tensor([1, 2, 3], [2, 2]), is(/data length 3 does not match shape \[2,2\]/));
    assert.throws(() => tensor([1, 2], [2]).item(), is(/item\(\) needs a 1-element tensor/));
  });
});
