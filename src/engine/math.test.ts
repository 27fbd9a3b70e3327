// Tests for math.ts: (1) each function equals, bit for bit, a literal transcription of the scalar
// program written in its comment (fround after EVERY op, frexp by comparisons: an independent
// reading of the referee spec); (2) its error against a binary64 reference (Math.* used HERE ONLY,
// as the oracle) stays within ACCURACY_ULP; (3) special values; (4) array helpers = scalar.
//
// The sweeps visit every STRIDE-th binary32 bit pattern. The exhaustive run behind the numbers in
// math.ts (all 2^32 inputs, two shards in parallel):
//   VERITRAIN_MATH_STRIDE=1 VERITRAIN_MATH_SHARD=0/2 npm test -- src/engine/math.test.ts &
//   VERITRAIN_MATH_STRIDE=1 VERITRAIN_MATH_SHARD=1/2 npm test -- src/engine/math.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ACCURACY_ULP,
  cos2pif,
  expArray,
  expf,
  ldexpf,
  logArray,
  logf,
  sigmoidArray,
  sigmoidf,
  sin2pif,
  tanhArray,
  tanhf,
} from './math.ts';

const fr = Math.fround;
const STRIDE = Number(process.env.VERITRAIN_MATH_STRIDE ?? 6007);
const [SHARD, SHARDS] = (process.env.VERITRAIN_MATH_SHARD ?? '0/1').split('/').map(Number);

const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);
const f32 = (bits: number) => ((U[0] = bits), F[0]);
const bitsOf = (x: number) => ((F[0] = x), U[0]);
const D = new Float64Array(1);
const DU = new Uint32Array(D.buffer);

/** |got - ref| in binary32 ulps of ref (ulp below 2^-126 is 2^-149); Infinity for a wrong special. */
function ulpError(got: number, ref: number): number {
  if (Number.isNaN(ref)) return Number.isNaN(got) ? 0 : Infinity;
  const r32 = fr(ref);
  if (!Number.isFinite(r32)) return got === r32 ? 0 : Infinity; // overflow must give ±Inf
  if (!Number.isFinite(got)) return Infinity;
  D[0] = ref;
  const e = Math.max(((DU[1] >>> 20) & 0x7ff) - 1023, -126);
  return Math.abs(got - ref) / 2 ** (e - 23);
}

const sameBits = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);

// ---------------------------------------------------------------------------------------------
// Literal transcriptions of the scalar programs in math.ts comments. Constants by bit pattern.
// ---------------------------------------------------------------------------------------------
const C = {
  LOG2E: f32(0x3fb8aa3b), RINT: f32(0x4b400000), LN2_HI: f32(0x3f317200), LN2_LO: f32(0x35bfbe8e),
  E0: f32(0x3f000000), E1: f32(0x3e2aaa52), E2: f32(0x3d2aab46), E3: f32(0x3c091797), E4: f32(0x3ab5b4fe),
  SQRT2: f32(0x3fb504f3), L0: f32(0x3f2aaabd), L1: f32(0x3eccaf6c), L2: f32(0x3e98f01e),
  T0: f32(0xbeaaaaaa), T1: f32(0x3e08883d), T2: f32(0xbd5cf8c4), T3: f32(0x3cb1d2a8), T4: f32(0xbc062f68),
  T5: f32(0x3b0d140b),
  S0_HI: f32(0x3fc91000), S0_LO: f32(0xb695777a), S1: f32(0xbf255de7), S2: f32(0x3da335bc),
  S3: f32(0xbb9956d5), S4: f32(0x39221d4d), SPLIT: f32(0x45801000),
  C0: f32(0xbf9de9e6), C1: f32(0x3e81e0d8), C2: f32(0xbcaad95b), C3: f32(0x3a6a7bf7),
};
const TWO = (n: number) => ldexpf(1, n);

/** frexp by comparisons only: k with 2^k <= x < 2^(k+1) (binary search), m = ldexp(x, -k). */
function frexpSpec(x: number): [number, number] {
  let lo = -126, hi = 127; // invariant 2^lo <= x < 2^(hi+1)
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (x >= TWO(mid)) lo = mid;
    else hi = mid - 1;
  }
  return [ldexpf(x, -lo), lo];
}

function expCoreSpec(x: number): [number, number, number] {
  const { LOG2E, RINT, LN2_HI, LN2_LO, E0, E1, E2, E3, E4 } = C;
  const t = fr(x * LOG2E);
  const k = fr(fr(t + RINT) - RINT);
  const hi = fr(x - fr(k * LN2_HI));
  const lo = fr(k * LN2_LO);
  const r = fr(hi - lo);
  const r2 = fr(r * r);
  const q = fr(fr(fr(fr(E4 * r2) + fr(fr(E3 * r) + E2)) * r2) + fr(fr(E1 * r) + E0));
  const v = fr(fr(r2 * q) - lo);
  const s = fr(1 + hi);
  const e = fr(hi - fr(s - 1));
  const g = fr(e + v);
  const p = fr(s + g);
  const pl = fr(g - fr(p - s));
  return [p, k, pl];
}

function expSpec(x: number): number {
  if (x !== x) return NaN;
  if (x >= 89) return Infinity;
  if (x < -104) return 0;
  const [p, k] = expCoreSpec(x);
  return ldexpf(p, k);
}

function logSpec(x: number): number {
  const { SQRT2, LN2_HI, LN2_LO, L0, L1, L2 } = C;
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let j = 0;
  if (x < TWO(-126)) {
    x = fr(x * TWO(24));
    j = -24;
  }
  let [m, k] = frexpSpec(x);
  k = k + j;
  if (m >= SQRT2) {
    m = fr(m * 0.5);
    k = k + 1;
  }
  const kf = fr(k);
  const f = fr(m - 1);
  const s = fr(f / fr(2 + f));
  const z = fr(s * s);
  const R = fr(z * fr(fr(fr(fr(L2 * z) + L1) * z) + L0));
  const h = fr(0.5 * fr(f * f));
  const c = fr(fr(s * fr(h + R)) - h);
  const kh = fr(kf * LN2_HI);
  const A = fr(kh + f);
  const eA = fr(f - fr(A - kh));
  const B = fr(fr(fr(kf * LN2_LO) + c) + eA);
  return fr(A + B);
}

function tanhSpec(x: number): number {
  const { T0, T1, T2, T3, T4, T5 } = C;
  if (x !== x) return NaN;
  const a = x < 0 ? fr(0 - x) : x;
  if (a < TWO(-12)) return x;
  if (a < 0.625) {
    const u = fr(x * x);
    const P = fr(fr(fr(fr(fr(fr(fr(fr(fr(fr(T5 * u) + T4) * u) + T3) * u) + T2) * u) + T1) * u) + T0);
    return fr(x + fr(fr(x * u) * P));
  }
  let y = 1;
  if (!(a >= 9.125)) {
    const [p, k, pl] = expCoreSpec(fr(2 * a));
    const Fh = ldexpf(p, k);
    const Fl = ldexpf(pl, k);
    const d = fr(Fh + 1);
    const de = fr(1 - fr(d - Fh));
    const q = fr(2 / d);
    const c = fr(fr(de + Fl) / d);
    const w = fr(1 - q);
    const we = fr(fr(1 - w) - q);
    y = fr(w + fr(we + fr(q * c)));
  }
  return x < 0 ? fr(0 - y) : y;
}

function sigmoidSpec(x: number): number {
  if (x !== x) return NaN;
  if (x >= 104) return 1;
  if (x < -104) return 0;
  if (x >= 0) {
    const [p, k, pl] = expCoreSpec(fr(0 - x));
    const Eh = ldexpf(p, k);
    const El = ldexpf(pl, k);
    const d = fr(1 + Eh);
    const de = fr(Eh - fr(d - 1));
    const q = fr(1 / d);
    const c = fr(fr(de + El) / d);
    return fr(q - fr(q * c));
  }
  const [p, k, pl] = expCoreSpec(x);
  const Eh = ldexpf(p, k);
  const El = ldexpf(pl, k);
  const d = fr(1 + Eh);
  const de = fr(Eh - fr(d - 1));
  const q = fr(Eh / d);
  return fr(q + fr(fr(El - fr(q * fr(de + El))) / d));
}

function sinHalfPiSpec(f: number): number {
  const { S0_HI, S0_LO, S1, S2, S3, S4, SPLIT } = C;
  if (f === 0) return f;
  if (f < TWO(-60) && f > -TWO(-60)) {
    const g = fr(f * TWO(64));
    const c = fr(SPLIT * g);
    const gh = fr(c - fr(c - g));
    const gl = fr(g - gh);
    return fr(fr(fr(gh * S0_HI) + fr(fr(gl * S0_HI) + fr(g * S0_LO))) * TWO(-64));
  }
  const v = fr(f * f);
  const P = fr(fr(fr(fr(fr(fr(S4 * v) + S3) * v) + S2) * v) + S1);
  const c = fr(SPLIT * f);
  const fh = fr(c - fr(c - f));
  const fl = fr(f - fh);
  return fr(fr(fh * S0_HI) + fr(fr(fl * S0_HI) + fr(f * fr(S0_LO + fr(v * P)))));
}
function cosHalfPiSpec(f: number): number {
  const { C0, C1, C2, C3 } = C;
  const v = fr(f * f);
  return fr(1 + fr(v * fr(fr(fr(fr(fr(fr(C3 * v) + C2) * v) + C1) * v) + C0)));
}
function sincos2piSpec(u: number, cos: boolean): number {
  if (u !== u || u === Infinity || u === -Infinity) return NaN;
  let r = 0;
  if (u < TWO(23) && u > -TWO(23)) {
    const c = u < 0 ? -TWO(23) : TWO(23);
    r = fr(u - fr(fr(u + c) - c));
  }
  const t = fr(4 * r);
  const n = fr(fr(t + C.RINT) - C.RINT);
  const f = fr(t - n);
  const q = n === 0 ? 0 : n === 1 ? 1 : n === 2 || n === -2 ? 2 : 3;
  const S = () => sinHalfPiSpec(f);
  const Co = () => cosHalfPiSpec(f);
  if (!cos) return [S, Co, () => fr(0 - S()), () => fr(0 - Co())][q]();
  return [Co, () => fr(0 - S()), () => fr(0 - Co()), S][q]();
}

// ---------------------------------------------------------------------------------------------
// binary64 references (test oracle only)
// ---------------------------------------------------------------------------------------------
const sigmoidRef = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** sin/cos(2πu) with the reduction done exactly in binary64 first. */
function sincos2piRef(u: number, cos: boolean): number {
  if (!Number.isFinite(u)) return NaN;
  const r = u - Math.round(u);
  const t = 4 * r;
  const n = Math.round(t);
  const f = t - n;
  const s = Math.sin((Math.PI / 2) * f);
  const c = Math.cos((Math.PI / 2) * f);
  const q = ((n % 4) + 4) % 4;
  return cos ? [c, -s, -c, s][q] : [s, c, -s, -c][q];
}

interface Fn {
  name: keyof typeof ACCURACY_ULP;
  impl: (x: number) => number;
  spec: (x: number) => number;
  ref: (x: number) => number;
}
const FNS: Fn[] = [
  { name: 'expf', impl: expf, spec: expSpec, ref: Math.exp },
  { name: 'logf', impl: logf, spec: logSpec, ref: Math.log },
  { name: 'tanhf', impl: tanhf, spec: tanhSpec, ref: Math.tanh },
  { name: 'sigmoidf', impl: sigmoidf, spec: sigmoidSpec, ref: sigmoidRef },
  { name: 'sin2pif', impl: sin2pif, spec: (u) => sincos2piSpec(u, false), ref: (u) => sincos2piRef(u, false) },
  { name: 'cos2pif', impl: cos2pif, spec: (u) => sincos2piSpec(u, true), ref: (u) => sincos2piRef(u, true) },
];

for (const { name, impl, spec, ref } of FNS) {
  test(`${name}: equals its written scalar program and is within ${ACCURACY_ULP[name]} ulp (stride ${STRIDE})`, (t) => {
    const span = 2 ** 32 / SHARDS;
    const lo = SHARD * span;
    const hi = lo + span;
    let max = 0, at = NaN, n = 0;
    for (let b = lo; b < hi; b += STRIDE) {
      const x = f32(b);
      const y = impl(x);
      const s = spec(x);
      if (!sameBits(y, s)) assert.fail(`${name}(${x}) [0x${b.toString(16)}] = ${y}, scalar program gives ${s}`);
      const e = ulpError(y, ref(x));
      if (!(e <= max)) {
        max = e;
        at = x;
      }
      n++;
    }
    t.diagnostic(`${name}: max error ${max.toFixed(4)} ulp at x = ${at} over ${n} inputs`);
    assert.ok(max <= ACCURACY_ULP[name], `${name}: ${max} ulp at ${at}`);
  });
}

test('edge cases: errors near the boundaries, dense', () => {
  // every binary32 in small windows around the places where things change
  const windows: [Fn['name'], number, number][] = [
    ['expf', 88.7, 89.1], // overflow to +Inf
    ['expf', -87.4, -87.3], // results become subnormal
    ['expf', -104.1, -103.2], // last subnormals, then 0
    ['expf', 1e-6, 1.0001e-6], // small x (a full window around 0 holds ~2^31 values)
    ['logf', 0.99, 1.01], // log near 1: no cancellation
    ['logf', 0.7, 0.71], // the SQRT2 normalisation boundary
    ['logf', 1.41, 1.42],
    ['tanhf', 0.62, 0.63], // switch from polynomial to exp
    ['tanhf', 9.0, 9.2], // saturation
    ['tanhf', 1e-4, 1.001e-4],
    ['tanhf', 2.43e-4, 2.45e-4], // 2^-12: tanh(x) = x below
    ['tanhf', -0.63, -0.62],
    ['sigmoidf', -90, -86], // subnormal results
    ['sigmoidf', 0.01, 0.0101],
    ['sin2pif', 0.2499, 0.2501],
    ['sin2pif', 0.4999, 0.5001],
    ['cos2pif', 0.2499, 0.2501],
  ];
  for (const [name, a, b] of windows) {
    const { impl, ref } = FNS.find((f) => f.name === name)!;
    const lo = fr(a), hi = fr(b);
    for (let x = lo; x <= hi; x = nextUp(x)) {
      const e = ulpError(impl(x), ref(x));
      assert.ok(e <= ACCURACY_ULP[name], `${name}(${x}): ${e} ulp`);
    }
  }
  // all subnormal and the smallest normal inputs of log
  for (let b = 1; b < 0x01000000; b += 7) {
    const x = f32(b);
    assert.ok(ulpError(logf(x), Math.log(x)) <= ACCURACY_ULP.logf, `logf(${x})`);
  }
});

function nextUp(x: number): number {
  F[0] = x;
  if (x === 0) return f32(1);
  U[0] += x > 0 ? 1 : -1;
  return F[0];
}

test('special values are those of IEEE-754 / C', () => {
  const is = (a: number, b: number, msg: string) => assert.ok(sameBits(a, b), `${msg}: got ${a}, want ${b}`);
  const MAX = f32(0x7f7fffff), TINY = f32(1), MINN = f32(0x00800000);
  // exp
  is(expf(0), 1, 'exp(0)');
  is(expf(-0), 1, 'exp(-0)');
  is(expf(-Infinity), 0, 'exp(-Inf)');
  is(expf(Infinity), Infinity, 'exp(Inf)');
  is(expf(NaN), NaN, 'exp(NaN)');
  is(expf(1), fr(Math.E), 'exp(1)');
  is(expf(TINY), 1, 'exp(2^-149)');
  is(expf(f32(0x42b17217)), fr(Math.exp(f32(0x42b17217))), 'exp(88.7228317), the largest finite');
  is(expf(f32(0x42b17218)), Infinity, 'exp(88.7228394) overflows');
  is(expf(f32(0xc2cff1b4)), TINY, 'exp(-103.972076) = 2^-149, the last nonzero result');
  is(expf(f32(0xc2cff1b5)), 0, 'exp(-103.972084) = 0');
  is(expf(-104), 0, 'exp(-104) underflows');
  assert.ok(expf(-100) > 0 && expf(-100) < MINN, 'exp(-100) is subnormal');
  // log
  is(logf(1), 0, 'log(1) = +0');
  is(logf(0), -Infinity, 'log(0)');
  is(logf(-0), -Infinity, 'log(-0)');
  is(logf(-1), NaN, 'log(-1)');
  is(logf(-TINY), NaN, 'log(-2^-149)');
  is(logf(-Infinity), NaN, 'log(-Inf)');
  is(logf(Infinity), Infinity, 'log(Inf)');
  is(logf(NaN), NaN, 'log(NaN)');
  is(logf(TINY), fr(Math.log(TINY)), 'log(2^-149)');
  is(logf(MAX), fr(Math.log(MAX)), 'log(FLT_MAX)');
  is(logf(2), fr(Math.LN2), 'log(2)');
  // tanh
  is(tanhf(0), 0, 'tanh(+0)');
  is(tanhf(-0), -0, 'tanh(-0)');
  is(tanhf(Infinity), 1, 'tanh(Inf)');
  is(tanhf(-Infinity), -1, 'tanh(-Inf)');
  is(tanhf(NaN), NaN, 'tanh(NaN)');
  is(tanhf(TINY), TINY, 'tanh(2^-149)');
  is(tanhf(-1e-20), fr(-1e-20), 'tanh(tiny) = tiny');
  is(tanhf(9.2), 1, 'tanh(9.2)');
  is(tanhf(-20), -1, 'tanh(-20)');
  is(tanhf(MAX), 1, 'tanh(FLT_MAX)');
  // sigmoid
  is(sigmoidf(0), 0.5, 'sigmoid(0)');
  is(sigmoidf(-0), 0.5, 'sigmoid(-0)');
  is(sigmoidf(Infinity), 1, 'sigmoid(Inf)');
  is(sigmoidf(-Infinity), 0, 'sigmoid(-Inf)');
  is(sigmoidf(NaN), NaN, 'sigmoid(NaN)');
  is(sigmoidf(20), 1, 'sigmoid(20)');
  is(sigmoidf(-200), 0, 'sigmoid(-200)');
  is(sigmoidf(-50), fr(Math.exp(-50) / (1 + Math.exp(-50))), 'sigmoid(-50) ~ e^-50');
  assert.ok(sigmoidf(-95) > 0 && sigmoidf(-95) < MINN, 'sigmoid(-95) is subnormal');
  // sin(2πu), cos(2πu)
  is(sin2pif(0), 0, 'sin2pi(0)');
  is(sin2pif(-0), -0, 'sin2pi(-0)');
  is(sin2pif(0.25), 1, 'sin2pi(1/4)');
  is(sin2pif(0.5), 0, 'sin2pi(1/2)');
  is(sin2pif(0.75), -1, 'sin2pi(3/4)');
  is(sin2pif(-0.25), -1, 'sin2pi(-1/4)');
  is(cos2pif(0), 1, 'cos2pi(0)');
  is(cos2pif(0.25), 0, 'cos2pi(1/4)');
  is(cos2pif(0.5), -1, 'cos2pi(1/2)');
  is(cos2pif(0.75), 0, 'cos2pi(3/4)');
  is(cos2pif(0.125), fr(Math.SQRT1_2), 'cos2pi(1/8)');
  is(sin2pif(2 ** 23 + 1), 0, 'sin2pi(integer)');
  is(cos2pif(2 ** 23 + 1), 1, 'cos2pi(integer)');
  is(cos2pif(2 ** 22 + 0.5), -1, 'cos2pi(2^22 + 1/2)');
  is(sin2pif(MAX), 0, 'sin2pi(FLT_MAX)');
  for (const v of [NaN, Infinity, -Infinity]) {
    is(sin2pif(v), NaN, `sin2pi(${v})`);
    is(cos2pif(v), NaN, `cos2pi(${v})`);
  }
});

test('ldexpf is x·2^n correctly rounded: gradual underflow, overflow, ties to even', () => {
  const TINY = f32(1);
  assert.equal(ldexpf(1, 127), f32(0x7f000000));
  assert.equal(ldexpf(1, 128), Infinity);
  assert.equal(ldexpf(-1, 128), -Infinity);
  assert.equal(ldexpf(1, -149), TINY);
  assert.equal(ldexpf(1, -150), 0); // tie: to even (0)
  assert.equal(ldexpf(1.5, -149), 2 * TINY); // tie: to even (2)
  assert.equal(ldexpf(fr(1 + 2 ** -23), -150), TINY); // above the tie
  assert.equal(ldexpf(3, -150), 2 * TINY); // 1.5 subnormal ulps: tie to even
  assert.equal(ldexpf(TINY, 149), 1);
  assert.equal(ldexpf(TINY, 1000), Infinity);
  assert.equal(ldexpf(f32(0x7f7fffff), -1000), 0);
  assert.ok(Object.is(ldexpf(-0, 5), -0));
  assert.ok(Number.isNaN(ldexpf(NaN, 3)));
  // matches an exact binary64 computation rounded once, on random inputs
  let s = 12345;
  for (let i = 0; i < 100000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const x = f32(s);
    const n = (i % 320) - 160;
    if (Number.isFinite(x)) assert.ok(sameBits(ldexpf(x, n), fr(x * 2 ** n)), `ldexp(${x}, ${n})`);
  }
});

test('array helpers give the scalar programs bit for bit (any length, in place)', () => {
  const n = 1 << 18;
  const src = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // mix: random bit patterns (specials, huge, tiny) and the range exp is used in
    src[i] = i % 3 === 0 ? f32(s) : ((s >>> 8) / 2 ** 24 - 0.5) * (i % 3 === 1 ? 40 : 220);
  }
  const pairs: [(a: Float32Array, b: Float32Array) => Float32Array, (x: number) => number][] = [
    [expArray, expf],
    [logArray, logf],
    [tanhArray, tanhf],
    [sigmoidArray, sigmoidf],
  ];
  for (const [arr, f] of pairs) {
    for (const len of [n, n - 1, n - 2, n - 3, 3, 1, 0]) {
      const a = src.subarray(0, len);
      const out = arr(a, new Float32Array(len));
      for (let i = 0; i < len; i++) {
        if (!sameBits(out[i], f(a[i]))) assert.fail(`${f.name}: element ${i} of ${len} (${a[i]}): ${out[i]} vs ${f(a[i])}`);
      }
    }
    const inPlace = src.slice(0, 1001);
    arr(inPlace, inPlace);
    for (let i = 0; i < 1001; i++) assert.ok(sameBits(inPlace[i], f(src[i])));
  }
});

test('constants in math.ts: each decimal is a binary32 and matches the hex beside it', () => {
  const src = readFileSync(new URL('./math.ts', import.meta.url), 'utf8');
  const re = /const (\w+) = (-?[0-9.e+-]+); \/\/ (0x[0-9a-f]{8})/g;
  let count = 0;
  for (const m of src.matchAll(re)) {
    const v = Number(m[2]);
    assert.equal(fr(v), v, `${m[1]} = ${m[2]} is not a binary32`);
    assert.equal(bitsOf(v), parseInt(m[3], 16), `${m[1]}: ${m[2]} is 0x${bitsOf(v).toString(16)}, comment says ${m[3]}`);
    count++;
  }
  assert.ok(count >= 35, `found only ${count} constants`);
  // and the forbidden functions appear nowhere in the code
  const code = src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  assert.doesNotMatch(code, /Math\.(exp|log|tanh|pow|sin|cos|expm1|log1p|log2|log10|hypot|cbrt|atan|asin|acos|sinh|cosh|random)\b/);
});
