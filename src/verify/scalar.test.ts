import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors.ts';
import { ldexpf } from '../engine/math.ts';
import { add, div, greater, maximum, mul, neg, sqrt, sub } from '../engine/ops.ts';
import { rngStream, randomU32s } from '../engine/rng.ts';
import { Tensor } from '../engine/tensor.ts';
import {
  CANONICAL_NAN, OP, OP_NAMES, UNARY, bitsToF32, evalOp, f32ToBits, isNaNBits, sameResult,
} from './scalar.ts';

const hex = (x: number) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
const ONE = 0x3f800000;

// Words that exercise every special class: zeros, subnormals, min normal, 1, max finite, Inf, NaNs.
const SPECIALS = [
  0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000,
  0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001,
  0x7f800001, 0xff9fffff, 0x40490fdb, 0xc2f6e979,
];

function randomWords(name: string, n: number): number[] {
  return [...randomU32s(rngStream(1, `scalar.test/${name}`), 0, n), ...SPECIALS];
}

test('opcodes are 0..17, each named once; the first six are ops.ts elementwise codes', () => {
  assert.deepEqual(OP_NAMES.map((n) => OP[n]), OP_NAMES.map((_, i) => i));
  assert.deepEqual(OP_NAMES.slice(0, 6), ['add', 'sub', 'mul', 'div', 'max', 'gt']);
  assert.deepEqual([...UNARY].sort((a, b) => a - b), [OP.sqrt, OP.neg, OP.logb, OP.significand, OP.i2f]);
  assert.throws(() => evalOp(18, 0, 0), InputError);
});

test('bits <-> f32: round trip, NaN canonical on the way out, any NaN equals any NaN', () => {
  for (const w of randomWords('bits', 1000)) {
    if (isNaNBits(w)) {
      assert.ok(Number.isNaN(bitsToF32(w)));
      assert.equal(f32ToBits(bitsToF32(w)), CANONICAL_NAN);
      assert.ok(sameResult(w, CANONICAL_NAN));
    } else {
      assert.equal(f32ToBits(bitsToF32(w)), w >>> 0, hex(w));
      assert.ok(!sameResult(w, CANONICAL_NAN));
    }
  }
  assert.equal(f32ToBits(0.1), 0x3dcccccd); // rounds to binary32
  assert.ok(!sameResult(0x00000000, 0x80000000)); // signed zeros differ
});

test('every engine elementwise op gives evalOp bits (ops.ts add/sub/mul/div/maximum/greater/neg/sqrt)', () => {
  const n = 4000;
  const a = new Uint32Array(randomWords('engine-a', n));
  const b = new Uint32Array(randomWords('engine-b', n));
  // every special against every special too
  const sa: number[] = [], sb: number[] = [];
  for (const x of SPECIALS) for (const y of SPECIALS) { sa.push(x); sb.push(y); }
  for (const [A, B] of [[a, b], [new Uint32Array(sa), new Uint32Array(sb)]]) {
    const ta = new Tensor(new Float32Array(A.buffer), [A.length]);
    const tb = new Tensor(new Float32Array(B.buffer), [B.length]);
    const cases: [number, Tensor][] = [
      [OP.add, add(ta, tb)], [OP.sub, sub(ta, tb)], [OP.mul, mul(ta, tb)], [OP.div, div(ta, tb)],
      [OP.max, maximum(ta, tb)], [OP.gt, greater(ta, tb)], [OP.neg, neg(ta)], [OP.sqrt, sqrt(ta)],
    ];
    for (const [op, t] of cases) {
      const got = new Uint32Array(t.data.buffer, t.data.byteOffset, t.size);
      for (let i = 0; i < A.length; i++) {
        const want = evalOp(op, A[i], B[i]);
        assert.ok(sameResult(got[i], want), `${OP_NAMES[op]}(${hex(A[i])}, ${hex(B[i])}): engine ${hex(got[i])}, evalOp ${hex(want)}`);
      }
    }
  }
});

test('IEEE corner cases of the engine semantics', () => {
  const cases: [keyof typeof OP, number, number, number][] = [
    ['add', 0x80000000, 0x80000000, 0x80000000], // -0 + -0 = -0
    ['add', 0x80000000, 0x00000000, 0x00000000], // -0 + +0 = +0
    ['sub', 0x3f800000, 0x3f800000, 0x00000000], // x - x = +0
    ['add', 0x7f800000, 0xff800000, CANONICAL_NAN], // Inf - Inf
    ['add', 0x7f7fffff, 0x73000000, 0x7f800000], // max + half ulp: a tie, rounds to even = Inf
    ['add', 0x7f7fffff, 0x72ffffff, 0x7f7fffff], // just below the tie: stays finite
    ['add', 0x4b800000, 0x3f800000, 0x4b800000], // 2^24 + 1: tie, to even
    ['add', 0x4b800001, 0x3f800000, 0x4b800002], // (2^24 + 2) + 1: tie, to even (up)
    ['mul', 0x7f800000, 0x00000000, CANONICAL_NAN], // Inf * 0
    ['mul', 0x00000001, 0x3f000000, 0x00000000], // 2^-149 * 0.5: tie at zero, to even = +0
    ['mul', 0x00000001, 0x3f400000, 0x00000001], // 2^-149 * 0.75: rounds up
    ['mul', 0x00000003, 0x3f000000, 0x00000002], // 3·2^-150: tie, to even (2)
    ['mul', 0x007fffff, 0x3f800001, 0x00800000], // rounds up to the min normal
    ['div', 0x00000000, 0x00000000, CANONICAL_NAN], // 0/0
    ['div', 0x3f800000, 0x80000000, 0xff800000], // 1/-0 = -Inf
    ['div', 0x00800000, 0x40000000, 0x00400000], // min normal / 2: exact subnormal
    ['sqrt', 0x80000000, 0, 0x80000000], // sqrt(-0) = -0
    ['sqrt', 0xbf800000, 0, CANONICAL_NAN],
    ['sqrt', 0x00000001, 0, 0x1a3504f3], // sqrt(2^-149)
    ['max', 0x80000000, 0x00000000, 0x00000000], // max(-0, +0) = +0
    ['max', 0x00000000, 0x80000000, 0x00000000],
    ['min', 0x00000000, 0x80000000, 0x80000000], // min(+0, -0) = -0
    ['max', 0x3f800000, 0x7fc00000, CANONICAL_NAN], // NaN propagates
    ['gt', 0x00000000, 0x80000000, 0], // +0 > -0 is false
    ['eq', 0x00000000, 0x80000000, ONE],
    ['ne', 0x7fc00000, 0x7fc00000, ONE], // NaN != NaN
    ['eq', 0x7f800001, 0x7f800001, 0],
    ['le', 0xff800000, 0x80000001, ONE],
    ['neg', 0x00000000, 0, 0x80000000],
    ['ldexp', 0x3f800000, 0xc3150000, 0x00000001], // ldexp(1, -149) = 2^-149
    ['ldexp', 0x3fc00000, 0xc3150000, 0x00000002], // 1.5·2^-149: tie, to even
    ['ldexp', 0x3f800000, 0x447a0000, 0x7f800000], // ldexp(1, 1000): clamps to 300, Inf
    ['ldexp', 0x7f800000, 0xff800000, 0x7f800000], // Inf·2^-Inf: n clamps to -300
    ['ldexp', 0x3f800000, 0x40200000, CANONICAL_NAN], // n = 2.5
    ['ldexp', 0x3f800000, 0x03000000, CANONICAL_NAN], // n tiny, not an integer
    ['logb', 0x00000001, 0, 0xc3150000], // -149
    ['logb', 0x80000000, 0, 0xff800000], // -Inf
    ['logb', 0xff800000, 0, 0x7f800000], // +Inf
    ['logb', 0x3f800000, 0, 0x00000000], // +0
    ['significand', 0x80000003, 0, 0xbfc00000], // -3·2^-149 = -1.5·2^-148
    ['significand', 0x80000000, 0, 0x80000000],
    ['i2f', 0x01000001, 0, 0x4b800000], // 2^24 + 1: tie, to even
    ['i2f', 0x80000000, 0, 0xcf000000], // -2^31
    ['i2f', 0xffffffff, 0, 0xbf800000], // -1
  ];
  for (const [name, a, b, want] of cases) {
    const got = evalOp(OP[name], a, b);
    assert.equal(got >>> 0, want >>> 0, `${name}(${hex(a)}, ${hex(b)}) = ${hex(got)}, want ${hex(want)}`);
  }
});

test('ldexp is math.ts ldexpf for integral n; logb/significand are logf\'s frexp', () => {
  const words = randomWords('frexp', 20000);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const x = bitsToF32(w);
    const n = (words[(i * 7 + 3) % words.length] % 661) - 330;
    assert.ok(sameResult(evalOp(OP.ldexp, w, f32ToBits(n)), f32ToBits(ldexpf(x, n))), `ldexp(${hex(w)}, ${n})`);
    if (!(Number.isFinite(x) && x !== 0)) continue;
    const k = bitsToF32(evalOp(OP.logb, w, 0));
    const m = bitsToF32(evalOp(OP.significand, w, 0));
    assert.ok(Number.isInteger(k) && Math.abs(m) >= 1 && Math.abs(m) < 2, `frexp(${hex(w)}) = (${m}, ${k})`);
    assert.equal(ldexpf(m, k), x, `significand · 2^logb = x for ${hex(w)}`);
    // logf's frexp, transcribed: for normal x > 0, k and m straight from the exponent field.
    if (x >= 2 ** -126) {
      assert.equal(k, (w >> 23) - 127);
      assert.equal(evalOp(OP.significand, w, 0), ((w & 0x7fffff) | 0x3f800000) >>> 0);
    }
  }
});
