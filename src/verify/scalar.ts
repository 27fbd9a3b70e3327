// The judged scalar operations: every binary32 operation that a canonical scalar program of the
// engine (ops.ts, math.ts, nn.ts, optim.ts) performs, by opcode, defined here exactly as the
// engine computes it. A dispute narrows to one (op, a, b) → result step; the referee recomputes it
// with contracts/verify/SoftFloat32.sol, which uses the same opcodes and is tested bit for bit
// against evalOp (test/softfloat.test.ts).
//
// Operands and results are 32-bit words: binary32 bit patterns, except i2f's operand (an int32).
// Results that are NaN are the canonical quiet NaN 0x7fc00000: the engine stops on NaN, so NaN
// payloads never reach a commitment, and any NaN equals any NaN.
import { InputError } from '../errors.ts';
import { ldexpf } from '../engine/math.ts';

/**
 * Opcodes. Never renumber: commitments and the contract use these numbers.
 * The first six are ops.ts's elementwise binary codes (ADD..GT).
 */
export const OP = {
  /** f32(a + b) */
  add: 0,
  /** f32(a - b) */
  sub: 1,
  /** f32(a * b) */
  mul: 2,
  /** f32(a / b) */
  div: 3,
  /** Math.max(a, b): NaN if either is NaN; max(-0, +0) = +0 (ops.ts maximum, max reduction) */
  max: 4,
  /** a > b ? 1 : 0 (ops.ts greater; math.ts branches) */
  gt: 5,
  /** f32(sqrt(a)), correctly rounded; sqrt(-0) = -0 */
  sqrt: 6,
  /** -a (exact) */
  neg: 7,
  /** Math.min(a, b): NaN if either is NaN; min(-0, +0) = -0 */
  min: 8,
  /** a < b ? 1 : 0 */
  lt: 9,
  /** a <= b ? 1 : 0 */
  le: 10,
  /** a >= b ? 1 : 0 */
  ge: 11,
  /** a == b ? 1 : 0 (-0 == +0; NaN != NaN) */
  eq: 12,
  /** a != b ? 1 : 0 (x != x is the NaN test) */
  ne: 13,
  /**
   * math.ts ldexpf(a, n), n = b: a·2^n correctly rounded. |n| > 300 (±Inf too) clamps to ±300 like
   * ldexpf; a NaN or non-integral n within [-300, 300] is NaN (ldexpf's table lookup would accept
   * n within ~2^-44 of an integer; the programs only ever pass integers).
   */
  ldexp: 14,
  /** k of frexp: floor(log2 |a|) as a binary32 integer; -Inf at ±0, +Inf at ±Inf (IEEE logB) */
  logb: 15,
  /** m of frexp: a / 2^k with |m| in [1, 2), sign kept; ±0 and ±Inf unchanged */
  significand: 16,
  /** a read as a two's-complement int32, rounded to binary32 */
  i2f: 17,
} as const;

export type OpName = keyof typeof OP;
export type OpCode = (typeof OP)[OpName];

/** Names by opcode. */
export const OP_NAMES = Object.keys(OP) as OpName[];

/** Opcodes whose result depends on a only (b is ignored). */
export const UNARY: ReadonlySet<number> = new Set([OP.sqrt, OP.neg, OP.logb, OP.significand, OP.i2f]);

export const CANONICAL_NAN = 0x7fc00000;
const ONE_BITS = 0x3f800000;

const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);
const fround = Math.fround;

/** The binary32 value of a bit pattern (any NaN pattern reads as NaN). */
export function bitsToF32(bits: number): number {
  U[0] = bits;
  return F[0];
}

/** The bit pattern of fround(x), NaN as the canonical quiet NaN. */
export function f32ToBits(x: number): number {
  if (x !== x) return CANONICAL_NAN;
  F[0] = x;
  return U[0];
}

/** Equal results: the same bits, or both NaN. */
export function sameResult(x: number, y: number): boolean {
  return (x >>> 0) === (y >>> 0) || (isNaNBits(x) && isNaNBits(y));
}

export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) >>> 0 > 0x7f800000;
}

const TWO24 = 16777216; // 2^24: scales a subnormal to a normal exactly (as math.ts logf does)
const MIN_NORMAL = 1.1754943508222875e-38; // 2^-126

/**
 * frexp through the exponent field, as math.ts logf reads it: a subnormal is first scaled by 2^24
 * (exact). Returns k; leaves the bits of m (exponent field set to 127) in U[0].
 */
function frexpBits(x: number): number {
  let k = 0;
  if (x < MIN_NORMAL && x > -MIN_NORMAL) {
    x = x * TWO24; // exact
    k = -24;
  }
  F[0] = x;
  const bits = U[0];
  U[0] = (bits & 0x807fffff) | 0x3f800000;
  return k + ((bits >>> 23) & 0xff) - 127;
}

/**
 * The engine's result of opcode `op` on the words a, b, as a word (uint32; NaN canonical).
 * Throws InputError for an unknown opcode.
 */
export function evalOp(op: number, a: number, b: number): number {
  const x = bitsToF32(a), y = bitsToF32(b);
  switch (op) {
    case OP.add: return f32ToBits(x + y);
    case OP.sub: return f32ToBits(x - y);
    case OP.mul: return f32ToBits(x * y);
    case OP.div: return f32ToBits(x / y);
    case OP.max: return f32ToBits(Math.max(x, y));
    case OP.gt: return x > y ? ONE_BITS : 0;
    case OP.sqrt: return f32ToBits(Math.sqrt(x));
    case OP.neg: return f32ToBits(-x);
    case OP.min: return f32ToBits(Math.min(x, y));
    case OP.lt: return x < y ? ONE_BITS : 0;
    case OP.le: return x <= y ? ONE_BITS : 0;
    case OP.ge: return x >= y ? ONE_BITS : 0;
    case OP.eq: return x === y ? ONE_BITS : 0;
    case OP.ne: return x !== y ? ONE_BITS : 0;
    case OP.ldexp:
      if (!Number.isInteger(y) && !(y > 300 || y < -300)) return CANONICAL_NAN;
      return f32ToBits(ldexpf(x, y));
    case OP.logb:
      if (x !== x) return CANONICAL_NAN;
      if (x === 0) return f32ToBits(-Infinity);
      if (x === Infinity || x === -Infinity) return f32ToBits(Infinity);
      return f32ToBits(frexpBits(x));
    case OP.significand:
      if (x !== x) return CANONICAL_NAN;
      if (x === 0 || x === Infinity || x === -Infinity) return f32ToBits(x);
      frexpBits(x);
      return U[0];
    case OP.i2f: return f32ToBits(fround(a | 0));
    default:
      throw new InputError(`unknown scalar opcode ${op}`, {
        details: `known opcodes: 0..${OP_NAMES.length - 1} (${OP_NAMES.join(', ')})`,
        hint: 'use the OP table of src/verify/scalar.ts',
      });
  }
}
