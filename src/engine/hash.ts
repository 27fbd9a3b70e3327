// SHA-256 everywhere in the engine: node:crypto where it exists (fast), @noble/hashes elsewhere
// (browser). Both give the same digest; only speed differs.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createHash } from 'node:crypto';

export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (typeof createHash === 'function') {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return toHex(sha256(...parts));
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Bytes of a Float32Array in little-endian order, whatever the host's endianness. */
export function f32Bytes(a: Float32Array): Uint8Array {
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) return u8;
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
