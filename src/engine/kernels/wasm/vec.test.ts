// The elementwise WASM kernels must equal the reference programs bit for bit: random and special
// operands, every length modulo 4, operands resident in kernel memory or staged, with and without
// weight decay, first and later momentum steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdamwConstants } from '../backend.ts';
import { adamwReference, allFiniteReference, sgdReference } from '../reference.ts';
import { rngStream, subStream, uniforms, randomBelow } from '../../rng.ts';
import { ShapeError } from '../../../errors.ts';
import { createVecKernels } from './vec.ts';
import { assertSameBits, values, valuesWithSpecials } from './check.ts';

const f = Math.fround;
const k = createVecKernels();
const root = rngStream(7, 'vec-kernel-test');
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 31, 257, 1000, 4099];

/** `src` copied into a resident array (in place for the kernel) or a plain one (staged). */
function operand(src: Float32Array, resident: boolean): Float32Array {
  const a = resident ? k.alloc(src.length) : new Float32Array(src.length);
  a.set(src);
  return a;
}

const adamConstants = (wd: number): AdamwConstants => {
  const b1 = f(0.9), b2 = f(0.999), lr = f(0.003);
  return { b1, c1: f(1 - b1), b2, c2: f(1 - b2), sbc2: f(Math.sqrt(f(1 - f(b2 * b2)))), eps: f(1e-8), stepSize: f(lr / f(1 - f(b1 * b1))), decay: f(lr * wd), weightDecay: f(wd) };
};

test('adamw: the WASM kernel equals the reference program, resident or staged, any length', () => {
  let cases = 0;
  for (const n of LENGTHS) {
    for (const specials of [false, true]) {
      for (const wd of [0, 0.01]) {
        const s = subStream(root, `adamw-${n}-${specials}-${wd}`);
        const gen = specials ? valuesWithSpecials : values;
        const w = gen(s, 0, n), g = gen(s, 10 * n + 10, n), m = values(s, 20 * n + 20, n);
        const v = uniforms(s, 30 * n + 30, n); // a second moment is never negative
        if (specials) for (let i = 0; i < n; i += 7) v[i] = 0; // sqrt(+0), the first step's state
        const c = adamConstants(wd);
        const rw = w.slice(), rm = m.slice(), rv = v.slice();
        adamwReference(rw, g, rm, rv, c);
        for (const resident of [true, false]) {
          const kw = operand(w, resident), km = operand(m, resident), kv = operand(v, resident);
          k.adamw(kw, operand(g, resident && n % 2 === 0), km, kv, c);
          const what = `adamw n=${n} specials=${specials} wd=${wd} resident=${resident}`;
          assertSameBits(rw, kw, `${what} w`);
          assertSameBits(rm, km, `${what} m`);
          assertSameBits(rv, kv, `${what} v`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, LENGTHS.length * 8);
});

test('sgd: the WASM kernel equals the reference program (first step, later steps, weight decay)', () => {
  for (const n of LENGTHS) {
    for (const [first, wd, specials] of [[true, 0, false], [false, 0, true], [false, 0.0005, false], [true, 0.0005, true]] as const) {
      const s = subStream(root, `sgd-${n}-${first}-${wd}-${specials}`);
      const gen = specials ? valuesWithSpecials : values;
      const w = gen(s, 0, n), g = gen(s, 10 * n + 10, n), buf = values(s, 20 * n + 20, n);
      const c = { mu: f(0.9), wd: f(wd), lr: f(0.05), first };
      const rw = w.slice(), rb = buf.slice();
      sgdReference(rw, g, rb, c);
      for (const resident of [true, false]) {
        const kw = operand(w, resident), kb = operand(buf, resident);
        k.sgd(kw, operand(g, false), kb, c);
        assertSameBits(rw, kw, `sgd n=${n} first=${first} wd=${wd} resident=${resident} w`);
        assertSameBits(rb, kb, `sgd n=${n} first=${first} wd=${wd} resident=${resident} buf`);
      }
    }
  }
});

test('allFinite finds one NaN or ±Inf anywhere, resident or staged, and passes huge finite values', () => {
  const s = subStream(root, 'finite');
  for (const n of LENGTHS.filter((x) => x > 0)) {
    const x = values(s, n, n);
    x[randomBelow(s, 3 * n, n)] = 3.4028234663852886e38;
    for (const resident of [true, false]) {
      assert.equal(k.allFinite(operand(x, resident)), true, `n=${n}`);
      for (const [j, bad] of [NaN, Infinity, -Infinity].entries()) {
        const y = x.slice();
        const at = randomBelow(s, 5 * n + j, n);
        y[at] = bad;
        assert.equal(k.allFinite(operand(y, resident)), false, `n=${n} ${bad} at ${at} resident=${resident}`);
        assert.equal(allFiniteReference(y), false);
      }
    }
  }
  assert.equal(k.allFinite(new Float32Array(0)), true);
});

test('operands of different lengths are refused before anything is written', () => {
  const w = k.alloc(8).fill(1), m = k.alloc(8), v = k.alloc(8);
  assert.throws(() => k.adamw(w, new Float32Array(7), m, v, adamConstants(0)), ShapeError);
  assert.deepEqual([...w], Array(8).fill(1));
});
