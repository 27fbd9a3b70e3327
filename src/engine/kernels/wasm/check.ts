// Test helpers shared by the kernel tests: random operands with special values, and a bitwise
// comparison in which a NaN of the reference must be the canonical NaN 0x7fc00000 in ours.
import assert from 'node:assert/strict';
import { randomBelow, uniforms, type RngStream } from '../../rng.ts';

const CANON_NAN = 0x7fc00000;

/** Values in [-1, 1) from the counter-based RNG. */
export function values(s: RngStream, start: number, n: number): Float32Array {
  const u = uniforms(s, start, n);
  for (let i = 0; i < n; i++) u[i] = u[i] * 2 - 1;
  return u;
}

export const SPECIALS = [
  0, -0, 1, -1, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754942106924411e-38, -5.877471754111438e-39,
  3.4028234663852886e38, -3.4028234663852886e38, 1e30, -1e30, 1e-30, 6.103515625e-5, 65504, 1 + 2 ** -23, 0.1, -0.3,
];

/** Random values with about a quarter replaced by specials (±0, subnormals, huge, tiny). */
export function valuesWithSpecials(s: RngStream, start: number, n: number): Float32Array {
  const v = values(s, start, n);
  for (let i = 0; i < n; i++) {
    const r = randomBelow(s, start + n + i, 4 * SPECIALS.length);
    if (r < SPECIALS.length) v[i] = SPECIALS[r];
  }
  return v;
}

/** `canonicalNaN` false: any NaN matches a NaN of the reference (the reference programs' own NaNs). */
export function assertSameBits(ref: Float32Array, got: Float32Array, what: string, canonicalNaN = true): void {
  assert.equal(got.length, ref.length);
  const r = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  for (let i = 0; i < r.length; i++) {
    if (Number.isNaN(ref[i])) {
      if (!canonicalNaN && Number.isNaN(got[i])) continue;
      if (g[i] !== CANON_NAN) assert.fail(`${what}: element ${i}: want canonical NaN, got 0x${g[i].toString(16)} (${got[i]})`);
    } else if (r[i] !== g[i]) {
      assert.fail(`${what}: element ${i}: want ${ref[i]} (0x${r[i].toString(16)}), got ${got[i]} (0x${g[i].toString(16)})`);
    }
  }
}

