// Counter-based randomness (Philox4x32-10, Salmon et al., SC'11): every random number is a pure
// function of (job seed, stream name, index). Nothing reads the clock or Math.random.
import { sha256, utf8 } from './hash.ts';
import { cos2pif, logf } from './math.ts';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32, exactly, with 16-bit limbs. */
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32 with 10 rounds: 4 uint32 counter words and 2 key words in, 4 uint32 out. */
export function philox4x32(ctr: ArrayLike<number>, key: ArrayLike<number>, out = new Uint32Array(4)): Uint32Array {
  let c0 = ctr[0] >>> 0, c1 = ctr[1] >>> 0, c2 = ctr[2] >>> 0, c3 = ctr[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/** A named random stream of a job: key = first 8 bytes of SHA-256("veritrain/rng" ‖ seed ‖ name). */
export interface RngStream {
  readonly key: Uint32Array; // 2 words
  readonly name: string;
}

export function rngStream(seed: number | bigint, name: string): RngStream {
  const s = BigInt(seed);
  if (s < 0n || s >= 1n << 64n) throw new RangeError(`seed must be a uint64, got ${seed}`);
  const seedBytes = new Uint8Array(8);
  new DataView(seedBytes.buffer).setBigUint64(0, s, true);
  const d = sha256(utf8('veritrain/rng'), seedBytes, utf8(name));
  const dv = new DataView(d.buffer, d.byteOffset);
  return { key: new Uint32Array([dv.getUint32(0, true), dv.getUint32(4, true)]), name };
}

/** Derive a sub-stream (e.g. per epoch, per layer) as a pure function of the parent and a label. */
export function subStream(parent: RngStream, label: string | number): RngStream {
  const d = sha256(utf8('veritrain/sub'), new Uint8Array(parent.key.buffer.slice(0)), utf8(String(label)));
  const dv = new DataView(d.buffer, d.byteOffset);
  return { key: new Uint32Array([dv.getUint32(0, true), dv.getUint32(4, true)]), name: `${parent.name}/${label}` };
}

/**
 * uint32 number `index` of the stream (index < 2^53): word index%4 of the Philox block with
 * counter (index/4 low 32 bits, index/4 high bits, 0, 0).
 */
export function randomU32s(s: RngStream, start: number, n: number, out = new Uint32Array(n)): Uint32Array {
  const ctr = new Uint32Array(4);
  const block = new Uint32Array(4);
  let blockNo = -1;
  for (let i = 0; i < n; i++) {
    const idx = start + i;
    const b = Math.floor(idx / 4);
    if (b !== blockNo) {
      blockNo = b;
      ctr[0] = b >>> 0;
      ctr[1] = Math.floor(b / 4294967296) >>> 0;
      philox4x32(ctr, s.key, block);
    }
    out[i] = block[idx & 3];
  }
  return out;
}

/** Uniform binary32 in [0, 1): the top 24 bits of each uint32 times 2^-24 (exact). */
export function uniforms(s: RngStream, start: number, n: number, out = new Float32Array(n)): Float32Array {
  const u = randomU32s(s, start, n);
  for (let i = 0; i < n; i++) out[i] = (u[i] >>> 8) * 5.9604644775390625e-8;
  return out;
}

/** Uniform integer in [0, bound) without modulo bias (Lemire's method, rejection uses later indices). */
export function randomBelow(s: RngStream, index: number, bound: number): number {
  if (!(bound > 0 && bound < 0x100000000 && Number.isInteger(bound))) throw new RangeError(`bad bound ${bound}`);
  // Index space: each draw owns 2^20 consecutive indices for its rare rejections.
  const base = index * 1048576;
  const threshold = (0x100000000 - bound) % bound;
  for (let t = 0; t < 1048576; t++) {
    const x = randomU32s(s, base + t, 1)[0];
    const lo = Math.imul(x, bound) >>> 0;
    if (lo >= threshold) return mulhi32(x, bound >>> 0);
  }
  throw new Error('unreachable: 2^20 rejections in a row');
}

/**
 * Fisher–Yates permutation of 0..n-1, a pure function of the stream. Draw i uses randomBelow(i).
 */
export function permutation(s: RngStream, n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomBelow(s, n - 1 - i, i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/**
 * Standard normal binary32 values, Box–Muller from uniforms at indices 2i and 2i+1 of the stream:
 *   u1 = f32(1 - U[2i]) in (0, 1]   (never 0, so the log is finite)
 *   r  = f32(sqrt(f32(-2 · logf(u1))))
 *   z  = f32(r · cos2pif(U[2i+1]))
 * built only from math.ts programs and judged ops.
 */
export function normals(s: RngStream, start: number, n: number, out = new Float32Array(n)): Float32Array {
  const u = uniforms(s, 2 * start, 2 * n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.fround(1 - u[2 * i]);
    const r = Math.fround(Math.sqrt(Math.fround(-2 * logf(u1))));
    out[i] = r * cos2pif(u[2 * i + 1]);
  }
  return out;
}
