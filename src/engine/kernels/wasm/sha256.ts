// Many SHA-256 digests in one call: sha256Batch hashes `count` messages tag ‖ data[i*len, (i+1)*len)
// (bytes past the end of data are zero) four at a time, one per SIMD lane (sha256.wat.ts). For
// Merkle trees over equal chunks (leaves: 0x00 ‖ chunk; nodes: 0x01 ‖ left ‖ right), where one
// node:crypto call per hash costs more than the hashing. Browser-safe: no Node APIs; single-threaded.
import { SHA256_K } from './sha256.wat.ts';
import { SHA256_WASM_BASE64 } from './sha256.wasm.ts';
import { decodeBase64, WebAssemblyApi } from './wasm-api.ts';

interface Sha256Instance {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  sha256x4(msg: number, blocks: number, groups: number, out: number): void;
}

let inst: Sha256Instance | undefined;

function instance(): Sha256Instance {
  if (!inst) {
    const module = new WebAssemblyApi.Module(decodeBase64(SHA256_WASM_BASE64));
    const e = new WebAssemblyApi.Instance(module, {}).exports as unknown as Sha256Instance;
    new Int32Array(e.memory.buffer, 0, 64).set(SHA256_K.map((k) => k | 0));
    inst = e;
  }
  return inst;
}

const MSG = 512;

/**
 * Digests (32 bytes each, concatenated) of the `count` messages m_i = tag ‖ data[i*len, (i+1)*len),
 * zero bytes past data's end; tag -1: no tag byte.
 */
export function sha256Batch(tag: number, data: Uint8Array, len: number, count: number): Uint8Array {
  const out = new Uint8Array(32 * count);
  if (count === 0) return out;
  const w = instance();
  const pre = tag >= 0 ? 1 : 0;
  const msgLen = pre + len;
  const blocks = Math.ceil((msgLen + 9) / 64);
  const stride = 64 * blocks;
  const groups = Math.ceil(count / 4);
  const outAt = MSG + 4 * groups * stride;
  // The input is first copied whole behind the digests, then each message from there within the
  // module's memory: one copy from a SharedArrayBuffer (the kernels' heap) costs as much as a
  // thousand small ones would in overhead.
  const dataAt = outAt + 128 * groups;
  const used = data.subarray(0, Math.min(data.length, count * len));
  const need = dataAt + used.length;
  if (need > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / 65536));
  const mem = new Uint8Array(w.memory.buffer);
  mem.set(used, dataAt);
  mem.fill(0, MSG, outAt);
  const bits = msgLen * 8;
  for (let i = 0; i < count; i++) {
    const at = MSG + i * stride;
    if (pre) mem[at] = tag;
    const from = i * len;
    if (from < used.length) mem.copyWithin(at + pre, dataAt + from, dataAt + Math.min(from + len, used.length));
    mem[at + msgLen] = 0x80;
    // The message length in bits, big-endian, in the last 8 bytes (lengths < 2^32 bits).
    const end = at + stride;
    mem[end - 4] = bits >>> 24; mem[end - 3] = (bits >>> 16) & 0xff; mem[end - 2] = (bits >>> 8) & 0xff; mem[end - 1] = bits & 0xff;
    mem[end - 5] = Math.floor(bits / 2 ** 32) & 0xff;
  }
  w.sha256x4(MSG, blocks, groups, outAt);
  // Digest words (u32, lane = message) to big-endian bytes.
  const words = new Uint32Array(w.memory.buffer, outAt, 32 * groups);
  for (let i = 0; i < count; i++) {
    const g = i >> 2, l = i & 3;
    for (let k = 0; k < 8; k++) {
      const v = words[g * 32 + k * 4 + l];
      const o = 32 * i + 4 * k;
      out[o] = v >>> 24; out[o + 1] = (v >>> 16) & 0xff; out[o + 2] = (v >>> 8) & 0xff; out[o + 3] = v & 0xff;
    }
  }
  return out;
}
