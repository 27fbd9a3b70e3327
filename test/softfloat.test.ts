// The on-chain soft-float (contracts/verify/SoftFloat32.sol) against the engine (src/verify/scalar.ts
// evalOp) on 1,000,000 operand pairs per opcode, through eth_call on a real anvil (~40 s in all).
//
// Pairs come from a seeded Philox stream (reproducible: a failure prints the pair, its index and
// both results in hex), aimed at what a soft-float gets wrong: subnormals, ±0, ±Inf, quiet and
// signalling NaNs, the overflow and underflow thresholds, exact rounding ties (add: shifted-out
// bits exactly 100..0; mul: odd significands whose product has one bit too many; div: exact
// quotients among the subnormals; i2f: integers m·2^k + 2^(k-1)), near-ties that only the sticky
// bit decides (div: m·b = K·2^25 ± t; sqrt: M^2 = K·2^26 ± t), results that round onto the min
// normal, to subnormals, to zero and to Inf; a quarter of the freely drawn operands are uniform
// bit patterns. Coverage counts per op are printed and checked, so the generator cannot quietly
// stop producing a class.
//
// VT_SOFTFLOAT_PAIRS=n overrides the pair count per op (for a quick local run; CI uses the default).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { deployFloat32Judge, type Float32Judge } from '../src/chain/float32-judge.ts';
import { rngStream, randomU32s, subStream } from '../src/engine/rng.ts';
import { OP, OP_NAMES, UNARY, bitsToF32, evalOp } from '../src/verify/scalar.ts';

const PAIRS_PER_OP = Number(process.env.VT_SOFTFLOAT_PAIRS ?? 1_000_000);
const BATCH = 25_000;
const WORDS = 6; // random words per pair
const SEED = 0x5f32;

const SIGN = 0x80000000;
const MANT = 0x7fffff;
const INF = 0x7f800000;

const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);
const f32Bits = (x: number) => ((F[0] = x), U[0]);

/** A binary32 with significand `sig` (1 <= sig < 2^24, leading bit anywhere) normalised to biased exponent e. */
function place(sign: number, e: number, sig: number): number {
  const n = 32 - Math.clz32(sig);
  return (sign | (e << 23) | ((sig << (24 - n)) & MANT)) >>> 0;
}

/** An odd integer with exactly n bits (1 <= n <= 24). */
const oddOf = (n: number, w: number) => (n === 1 ? 1 : ((w & ((1 << (n - 1)) - 1)) | 1 | (1 << (n - 1))) >>> 0);

const clampExp = (e: number) => (e < 1 ? 1 : e > 254 ? 254 : e);

const EDGE_MANT = [0, 1, 2, 3, 0x400000, 0x3fffff, 0x7ffffe, 0x7fffff, 0x555555, 0x2aaaaa];
const SPECIAL = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xffbfffff,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,
  0x3f800000, 0xbf800000, 0x34000000, 0x4b000000, 0x4b800000, 0x43960000, 0xc3960000, 0x3f000000,
];

/** One operand word from 3 random words: a mix of classes (w0's low 4 bits pick the class). */
function operand(w0: number, w1: number, w2: number): number {
  const sign = w2 & SIGN;
  switch (w0 & 15) {
    case 0: case 1: case 2: case 3: return w1; // uniform bit patterns
    case 4: return SPECIAL[w1 & 1 ? (w1 >>> 1) % 4 : (w1 >>> 1) % SPECIAL.length]; // ±0 and ±Inf weighted up
    case 5: { // NaN: quiet or signalling, random payload and sign
      const m = w1 & MANT;
      return (sign | INF | (w2 & 1 ? m | 0x400000 : (m & 0x3fffff) || 1)) >>> 0;
    }
    case 6: return (sign | ((w1 & MANT) >>> (w2 % 24))) >>> 0; // subnormal (or zero), any bit length
    case 7: return (sign | ((w1 % 3) << 23) | (w1 & 16 ? EDGE_MANT[w2 % 10] : w1 & MANT)) >>> 0; // around 2^-126
    case 8: return (sign | ((250 + (w1 % 5)) << 23) | (w1 & 16 ? EDGE_MANT[w2 % 10] : w1 & MANT)) >>> 0; // near overflow
    case 9: return place(sign, 1 + (w1 % 254), oddOf(1 + ((w1 >>> 8) % 24), w2)); // few significant bits
    case 10: return (sign | f32Bits(w1 % 2049)) >>> 0; // small integers
    case 11: return (sign | ((120 + (w1 % 15)) << 23) | (w2 & MANT)) >>> 0; // around 1
    case 12: return (sign | ((1 + (w1 % 254)) << 23) | EDGE_MANT[w2 % 10]) >>> 0; // edge significands
    default: return (sign | ((100 + (w1 % 55)) << 23) | (w2 & MANT)) >>> 0; // typical magnitudes
  }
}

/** b derived from a: equal, negated, a few ulps away, same exponent, or a few binades below. */
function related(a: number, w: number, w2: number): number {
  const sign = w2 & SIGN;
  switch (w % 6) {
    case 0: return a;
    case 1: return (a ^ SIGN) >>> 0;
    case 2: return (a + 1 + ((w >>> 8) & 3)) >>> 0; // a few ulps (may step into Inf/NaN: fine)
    case 3: return ((a ^ SIGN) - ((w >>> 8) & 3)) >>> 0; // -a, a few ulps smaller: near cancellation
    case 4: return (sign | (a & 0x7f800000) | (w2 & MANT)) >>> 0;
    default: {
      const e = ((a >>> 23) & 0xff) - ((w >>> 8) % 32);
      return (sign | (e > 0 ? e << 23 : 0) | (w2 & MANT)) >>> 0;
    }
  }
}

/** A target biased result exponent: among subnormals / min normal, near overflow, or anywhere. */
function targetExp(w: number): number {
  const r = w % 10;
  if (r < 4) return -26 + ((w >>> 4) % 30); // -26..3
  if (r < 6) return 250 + ((w >>> 4) % 8); // 250..257
  return 1 + ((w >>> 4) % 254);
}

/**
 * Odd significands of na and nb bits: a product of na+nb bits needs rounding; with one bit more
 * than the precision it is an exact tie. Exponents aim the result at a threshold.
 */
function product(w0: number, w1: number, w2: number, w3: number, sa: number, sb: number): [number, number] {
  const na = 1 + (w0 >>> 8) % 24;
  const nb = Math.max(1, Math.min(24, ((w0 >>> 16) & 1 ? 25 : 2 + ((w0 >>> 17) % 25)) - na + 1));
  const t = targetExp(w1);
  const ea = clampExp(Math.max(t + 127 - 254, 1) + ((w2 >>> 8) % 254));
  const eb = clampExp(t + 127 - ea);
  return [place(sa, ea, oddOf(na, w2)), place(sb, eb, oddOf(nb, w3))];
}

/** The inverse of odd m modulo 2^32 (Newton: each step doubles the correct low bits). */
function inverseOdd(m: number): number {
  let x = m;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(m, x));
  return x >>> 0;
}

/**
 * Quotients of two binary32 significands: exact ones of nq bits aimed at the subnormals (ties
 * there) and elsewhere, and near-ties: a/b = m ± t/b with m a 25-bit odd integer (a midpoint
 * between two 24-bit significands) and t small, so only the remainder (sticky bit) tells the
 * rounding which way to go. For those, b = ∓t/m mod 2^25 makes m·b = K·2^25 ∓ t, and a = K·2^25.
 */
function quotient(w0: number, w1: number, w2: number, w3: number, w4: number, sa: number, sb: number): [number, number] {
  const eb = 1 + ((w4 >>> 8) % 254);
  const t = (w0 >>> 24) & 1 ? targetExp(w1) : -24 + ((w1 >>> 4) % 26);
  if ((w0 >>> 25) & 1) {
    const m = (0x1000000 | (w2 & 0xffffff) | 1) >>> 0;
    const tt = 1 + 2 * (w3 % 8);
    let b = (Math.imul(inverseOdd(m), (w3 >>> 3) & 1 ? -tt : tt) & 0x1ffffff) >>> 0;
    if (b >= 0x1000000) b = 0x2000000 - b; // keep b to 24 bits: flips the side of the midpoint
    const k = Math.round((m * b) / 2 ** 25); // m·b is within 2^4 of k·2^25 (exact in binary64)
    if (k === 0 || k >= 0x1000000) return [place(sa, clampExp(t + eb - 127), m >>> 1), place(sb, eb, b || 1)];
    return [place(sa, clampExp(t + eb - 127), k), place(sb, eb, b)];
  }
  const nq = 1 + (w0 >>> 8) % 24;
  const nb = nq >= 24 ? 1 : 1 + ((w0 >>> 16) % (24 - nq)); // q·b fits 24 bits
  const q = oddOf(nq, w2), bs = oddOf(nb, w3);
  return [place(sa, clampExp(t + eb - 127), q * bs), place(sb, eb, bs)];
}

/** An odd square root of c (c = 1 mod 8) modulo 2^26, by Hensel lifting. */
function sqrtMod26(c: number): number {
  let r = 1;
  for (let i = 3; i < 26; i++) {
    if (((r * r - c) / 2 ** i) % 2 !== 0) r += 2 ** (i - 1); // r^2 = c mod 2^i -> mod 2^(i+1)
  }
  return r;
}

/**
 * x whose square root lies within t·2^-26 ulp of a midpoint (R + 1/2)·ulp, above or below it, so
 * that only the remainder (sticky bit) decides the rounding: M = 2R + 1 of 25 bits with
 * M^2 = K·2^26 ± t (t small), and x = K·2^26·4^j, so sqrt(x) = (M ∓ t/2M)/2 · 2^(13+j).
 */
function sqrtNearTie(w1: number, w2: number): number {
  const above = (w2 & 1) === 1; // sqrt(x) above the midpoint: M^2 = K·2^26 - t
  const t = 8 * ((w2 >>> 1) % 512) + (above ? 7 : 1);
  let m = sqrtMod26(above ? 2 ** 26 - t : t) % 2 ** 25;
  if (m < 2 ** 24) m = 2 ** 25 - m; // the other root, 25 bits
  const k = (m * m + (above ? t : -t)) / 2 ** 26; // exact: m^2 < 2^50
  const nk = 32 - Math.clz32(k);
  // value = k·2^(e - 127 - (nk - 1)) must be k·2^26 times an even power of two
  let e = 2 + ((w1 >>> 8) % 250);
  if ((e - nk) % 2 !== 0) e--;
  return place(0, e, k);
}

/** Op-specific constructions, from 5 random words: ties and threshold crossings. Returns [a, b]. */
function constructed(op: number, w0: number, w1: number, w2: number, w3: number, w4: number): [number, number] {
  const sa = w3 & SIGN, sb = w4 & SIGN;
  switch (op) {
    case OP.add: case OP.sub: {
      const k = (w0 >>> 8) % 4;
      if (k < 2) {
        // Tie: b's significand ends in exactly 100..0 over the d bits shifted out of a's range.
        const d = 1 + ((w0 >>> 12) % 25);
        const ea = (w0 & 0x10000) ? 1 + d + ((w1 >>> 8) % (254 - d)) : 1 + d + ((w1 >>> 8) % 8);
        const a = (sa | (ea << 23) | (w1 & MANT)) >>> 0;
        const mb = ((w2 << d) | (1 << (d - 1))) & 0xffffff; // low d bits 100..0, 24-bit significand
        const eb = ea - d;
        return [a, (sb | (eb << 23) | (mb & MANT)) >>> 0];
      }
      if (k === 2) {
        // Near overflow: both large, same sign.
        const ea = 240 + (w1 % 15), eb = 254 - ((w2 >>> 8) % 26);
        return [(sa | (ea << 23) | (w1 & MANT)) >>> 0, (sa | (eb << 23) | (w2 & MANT)) >>> 0];
      }
      // Around the subnormal range, any signs: cancellation into subnormals, sums onto 2^-126.
      return [(sa | ((w1 % 4) << 23) | (w2 & MANT)) >>> 0, (sb | ((w2 % 4) << 23) | (w1 & MANT)) >>> 0];
    }
    case OP.mul: case OP.div: {
      if ((w0 >>> 28) === 0) {
        // About 2^-126 times or over about 1 (a few ulps either side): results that round onto
        // the min normal from below, or stay just under it.
        const a = (sa | ((w1 % 2) << 23) | (0x7fffff - (w2 % 8))) >>> 0;
        const b = (sb | (w1 & 2 ? 0x3f800000 + (w3 % 8) : 0x3f7fffff - (w3 % 8))) >>> 0;
        return [a, b];
      }
      return op === OP.mul ? product(w0, w1, w2, w3, sa, sb) : quotient(w0, w1, w2, w3, w4, sa, sb);
    }
    case OP.sqrt: {
      const r = (w0 >>> 8) % 4;
      if (r === 0) {
        // An exact square q^2 (q of <= 12 bits), or a few ulps away.
        const q = 1 + (w2 % 4095);
        const x = place(0, 1 + ((w1 >>> 8) % 254), q * q);
        return [(x + ((w3 & 3) === 0 ? (w3 >>> 2) % 7 - 3 : 0)) >>> 0, w4];
      }
      return [sqrtNearTie(w1, w2), w4];
    }
    case OP.ldexp: {
      const a = operand(w0 >>> 8, w1, w2);
      const r = w3 % 20;
      let n: number;
      if (r < 10) n = (w4 % 601) - 300; // any integer in range
      else if (r < 14) n = targetExp(w4) - ((a >>> 23) & 0xff); // onto a threshold
      else if (r < 16) n = (w4 & 1 ? 1 : -1) * (298 + (w4 >>> 1) % 5); // around the clamp at ±300
      else if (r < 18) n = ((w4 % 601) - 300) + ((w4 >>> 12) & 1 ? 0.5 : 2 ** -((w4 >>> 13) % 30)); // not integers
      else return [a, operand(w4, w3, w4 >>> 7)]; // any word, NaN and ±Inf included
      return [a, f32Bits(n)];
    }
    case OP.logb: case OP.significand: {
      // Subnormals of every bit length, and normals at every exponent.
      const a = (w0 >>> 8) & 1 ? (sa | ((1 << (w1 % 23)) | (w2 & ((1 << (w1 % 23)) - 1)))) : (sa | ((w1 % 256) << 23) | (w2 & MANT));
      return [a >>> 0, w4];
    }
    case OP.i2f: {
      // Integers of 24..32 bits: ties (a 24-bit odd m, then 100..0), near ties, and the extremes.
      const k = 1 + (w1 % 8); // bits dropped
      const m = 0x800000 | (w2 & MANT);
      let v = m * 2 ** k + 2 ** (k - 1) + ((w0 >>> 8) % 3) - 1;
      if (v >= 2 ** 31) v = (w0 >>> 12) & 1 ? 2 ** 31 - 1 - (w3 & 255) : 2 ** 31;
      const neg = sa !== 0;
      return [(neg ? -v : v) >>> 0, w4]; // -2^31 included; +2^31 wraps to it
    }
    default: {
      // Comparisons, max, min, neg: equal values, signed zeros, NaN against everything.
      const r = (w0 >>> 8) % 4;
      if (r === 0) return [sa, sb]; // ±0 against ±0
      const a = operand(w0 >>> 12, w1, w2);
      if (r === 1) return [a, a];
      if (r === 2) return [a, (a ^ SIGN) >>> 0];
      return [(sa | INF | 1 | (w3 & MANT)) >>> 0, operand(w4, w3, w1)];
    }
  }
}

/**
 * Pairs number [start, start + n) of the op's stream, interleaved a0 b0 a1 b1 ... A pure function
 * of (SEED, op, index): pair i is reproducible on its own.
 */
function pairsOf(op: number, start: number, n: number): Uint32Array {
  const w = randomU32s(subStream(rngStream(SEED, 'softfloat'), OP_NAMES[op]), start * WORDS, n * WORDS);
  const out = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const o = i * WORDS;
    const w0 = w[o], w1 = w[o + 1], w2 = w[o + 2], w3 = w[o + 3], w4 = w[o + 4], w5 = w[o + 5];
    const mode = w5 >>> 28;
    let a: number, b: number;
    if (mode < 7) {
      a = operand(w0, w1, w2);
      b = operand(w0 >>> 4, w3, w4);
    } else if (mode < 10) {
      a = operand(w0, w1, w2);
      b = related(a, w3, w4);
    } else {
      [a, b] = constructed(op, w0, w1, w2, w3, w4 ^ w5);
    }
    if (op === OP.sub && (w5 & 1)) b = (b ^ SIGN) >>> 0; // sub of a constructed sum pair
    out[2 * i] = a;
    out[2 * i + 1] = UNARY.has(op) && (w5 & 2) ? 0 : b;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Coverage: what the pairs actually exercised, per op.

const KIND = ['nanQ', 'nanS', 'inf', 'zero', 'sub'] as const;
function kindOf(w: number): number {
  const abs = (w & 0x7fffffff) >>> 0;
  if (abs > INF) return abs & 0x400000 ? 0 : 1;
  if (abs === INF) return 2;
  if (abs === 0) return 3;
  if (abs < 0x800000) return 4;
  return -1;
}

/** |v| (binary64) lies exactly halfway between two adjacent binary32 values (or max and 2^128). */
function isTie(v: number): boolean {
  const av = Math.abs(v);
  if (!Number.isFinite(av) || av === 0) return false;
  const r = Math.fround(av);
  if (r === av) return false;
  if (r === Infinity) return av === 2 ** 128 - 2 ** 103;
  F[0] = r;
  U[0] = r < av ? U[0] + 1 : U[0] - 1;
  const other = F[0] === Infinity ? 2 ** 128 : F[0];
  return av * 2 === r + other;
}

/** |v| is not a tie but within 2^-12 ulp of a binary32 midpoint (sqrt and div, whose binary64 results carry 29 more bits). */
function isNearTie(v: number): boolean {
  const av = Math.abs(v);
  if (!Number.isFinite(av) || av === 0 || av >= 2 ** 128 || av < 2 ** -126) return false;
  const r = Math.fround(av);
  if (r === av) return false;
  F[0] = r;
  U[0] = r < av ? U[0] + 1 : U[0] - 1;
  const other = F[0] === Infinity ? 2 ** 128 : F[0];
  const ulp = Math.abs(other - r);
  return Math.abs(av - (r + other) / 2) <= ulp * 2 ** -12;
}

interface Coverage {
  pairs: number;
  operands: Record<(typeof KIND)[number], number>;
  ties: number; // exact ties (add, sub, mul, div, ldexp, i2f)
  nearTies: number; // div, sqrt: within 2^-12 ulp of a midpoint, not on it (sqrt has no exact ties)
  subnormalResults: number;
  minNormalResults: number;
  overflows: number; // ±Inf from finite operands
  underflowsToZero: number; // ±0 from nonzero finite operands
  equalPairs: number; // a == b as numbers (comparisons, max, min)
}

function newCoverage(): Coverage {
  return {
    pairs: 0, operands: { nanQ: 0, nanS: 0, inf: 0, zero: 0, sub: 0 }, ties: 0, nearTies: 0,
    subnormalResults: 0, minNormalResults: 0, overflows: 0, underflowsToZero: 0, equalPairs: 0,
  };
}

function cover(c: Coverage, op: number, a: number, b: number, r: number): void {
  c.pairs++;
  const ka = op === OP.i2f ? -1 : kindOf(a), kb = UNARY.has(op) ? -1 : kindOf(b);
  if (ka >= 0) c.operands[KIND[ka]]++;
  if (kb >= 0 && kb !== ka) c.operands[KIND[kb]]++;
  const x = bitsToF32(a), y = bitsToF32(b);
  const absR = (r & 0x7fffffff) >>> 0;
  const finiteIn = Number.isFinite(x) && (UNARY.has(op) || Number.isFinite(y));
  if (absR !== 0 && absR < 0x800000) c.subnormalResults++;
  if (absR === 0x800000) c.minNormalResults++;
  if (absR === INF && finiteIn && op !== OP.logb && !(op === OP.div && y === 0)) c.overflows++;
  const scales = op === OP.mul || op === OP.div || op === OP.ldexp; // the ops that can underflow
  if (absR === 0 && finiteIn && x !== 0 && scales && (op === OP.ldexp || y !== 0)) c.underflowsToZero++;
  if (x === y) c.equalPairs++;
  let exact = NaN; // the exact result in binary64, where it is exact
  if (op === OP.add) exact = x + y; // exact whenever it can be a tie (exponents <= 28 apart)
  else if (op === OP.sub) exact = x - y;
  else if (op === OP.mul) exact = x * y; // 48-bit products: always exact
  else if (op === OP.div) exact = x / y; // a binary32 midpoint quotient is exact, others are far from one
  else if (op === OP.ldexp && Number.isInteger(y) && Math.abs(y) <= 300) exact = x * 2 ** y;
  else if (op === OP.i2f) exact = a | 0;
  else if (op === OP.sqrt) exact = Math.sqrt(x);
  if (isTie(exact)) c.ties++;
  else if ((op === OP.div || op === OP.sqrt) && isNearTie(exact)) c.nearTies++;
}

test('pair generator is a pure function of (seed, op, index)', () => {
  const whole = pairsOf(OP.mul, 0, 300);
  const part = pairsOf(OP.mul, 100, 50);
  assert.deepEqual(part, whole.subarray(200, 300));
});

// ---------------------------------------------------------------------------------------------
// The run: every op through Float32Judge.computeBatch on anvil, the engine's result computed
// while the next batch is in flight.

const hex = (x: number) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

async function runOp(judge: Float32Judge, op: number, total: number, cov: Coverage): Promise<void> {
  const batches = Math.ceil(total / BATCH);
  const check = (start: number, pairs: Uint32Array, out: Uint32Array) => {
    const n = pairs.length / 2;
    assert.equal(out.length, n, `${OP_NAMES[op]}: computeBatch returned ${out.length} results for ${n} pairs`);
    for (let i = 0; i < n; i++) {
      const a = pairs[2 * i], b = pairs[2 * i + 1];
      const want = evalOp(op, a, b) >>> 0;
      const got = out[i];
      if (got !== want) {
        assert.fail(`${OP_NAMES[op]}(${hex(a)}, ${hex(b)}) [pair ${start + i} of seed ${SEED}]: ` +
          `chain ${hex(got)} (${bitsToF32(got)}), engine ${hex(want)} (${bitsToF32(want)})`);
      }
      cover(cov, op, a, b, want);
    }
  };
  // Up to two calls in flight: anvil works on one while this process builds and checks another.
  const inFlight: { start: number; pairs: Uint32Array; out: Promise<Uint32Array> }[] = [];
  try {
    for (let k = 0; k < batches; k++) {
      const start = k * BATCH;
      const pairs = pairsOf(op, start, Math.min(BATCH, total - start));
      inFlight.push({ start, pairs, out: judge.computeBatch(op, pairs) });
      if (inFlight.length === 2) {
        const done = inFlight.shift()!;
        check(done.start, done.pairs, await done.out);
      }
    }
    while (inFlight.length) {
      const done = inFlight.shift()!;
      check(done.start, done.pairs, await done.out);
    }
  } finally {
    // A failed check must not leave a call running into the next test.
    await Promise.allSettled(inFlight.map((f) => f.out));
  }
}

let anvil: Anvil | undefined;
let judge: Float32Judge;
const coverage = new Map<number, Coverage>();

before(async () => {
  // eth_call's gas is capped by the block gas limit unless that check is off: a batch needs ~40M.
  anvil = await startAnvil({ args: ['--disable-block-gas-limit'] });
  judge = await deployFloat32Judge(anvil.url);
});
after(async () => {
  await anvil?.stop();
  const rows = [...coverage].map(([op, c]) => ({
    op: OP_NAMES[op], pairs: c.pairs, ...c.operands, ties: c.ties, nearTies: c.nearTies,
    subnormalOut: c.subnormalResults, minNormalOut: c.minNormalResults, overflow: c.overflows,
    toZero: c.underflowsToZero, equal: c.equalPairs, ms: Math.round(elapsed.get(op) ?? 0),
  }));
  if (rows.length) console.table(rows);
});

const elapsed = new Map<number, number>();

test('compute (one op per call) gives the engine\'s bits: every op on signed zeros, NaN, subnormal, tie', async () => {
  const words = [0x00000000, 0x80000000, 0x7fc00001, 0xff800000, 0x00000003, 0x3f000000, 0x4b800001, 0x01000001];
  for (let op = 0; op < OP_NAMES.length; op++) {
    for (const a of words) {
      for (const b of [0x80000000, 0x3f800000, 0x7f800001, 0x00000001]) {
        const got = await judge.compute(op, a, b);
        assert.equal(got, evalOp(op, a, b) >>> 0, `compute(${OP_NAMES[op]}, ${hex(a)}, ${hex(b)}) = ${hex(got)}`);
      }
    }
  }
  await assert.rejects(judge.compute(OP_NAMES.length, 0, 0), /UnknownOp/);
});

for (let op = 0; op < OP_NAMES.length; op++) {
  const name = OP_NAMES[op];
  test(`${name}: SoftFloat32 on chain equals the engine on ${PAIRS_PER_OP} pairs`, { timeout: 600_000 }, async () => {
    const cov = newCoverage();
    const t = performance.now();
    await runOp(judge, op, PAIRS_PER_OP, cov);
    elapsed.set(op, performance.now() - t);
    coverage.set(op, cov);
    assert.equal(cov.pairs, PAIRS_PER_OP);
    // What the generator must keep producing, per 10^6 pairs (observed counts are 2-10x these).
    const atLeast = (what: string, got: number, per1M: number) =>
      assert.ok(got >= (per1M * PAIRS_PER_OP) / 1e6, `${name}: only ${got} pairs with ${what} (want >= ${per1M} per 10^6)`);
    if (op !== OP.i2f) {
      for (const k of KIND) atLeast(`operand ${k}`, cov.operands[k], 5_000);
    }
    if (op === OP.add || op === OP.sub || op === OP.mul || op === OP.i2f) atLeast('exact ties', cov.ties, 20_000);
    if (op === OP.div) atLeast('exact ties', cov.ties, 1_000);
    if (op === OP.ldexp) atLeast('exact ties', cov.ties, 500);
    if (op === OP.div || op === OP.sqrt) atLeast('near-ties', cov.nearTies, 20_000);
    if (op === OP.add || op === OP.sub || op === OP.mul || op === OP.div || op === OP.ldexp) {
      atLeast('subnormal results', cov.subnormalResults, 10_000);
      atLeast('min-normal results', cov.minNormalResults, 100);
      atLeast('overflow to Inf', cov.overflows, 1_000);
    }
    if (op === OP.mul || op === OP.div || op === OP.ldexp) atLeast('underflow to 0', cov.underflowsToZero, 10_000);
    if (op === OP.max || op === OP.min || (op >= OP.lt && op <= OP.ne) || op === OP.gt) atLeast('equal operands', cov.equalPairs, 50_000);
  });
}
