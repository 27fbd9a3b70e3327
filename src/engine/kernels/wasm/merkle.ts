// Merkle subtree roots over 1 KiB chunks: the tensor commitments of train/commit.ts (their layout is
// documented there and in docs/verification.md §2), here so that the kernel threads can compute them
// too (pool.ts, KIND_MERKLE). Browser-safe: the hashing is the 4-way SIMD SHA-256 of sha256.ts.
//
//   leaf = sha256(0x00 ‖ chunk)    node = sha256(0x01 ‖ left ‖ right)    padding leaves: bytes32(0)
import type { SubtreeTask } from '../backend.ts';
import { CTL } from './kernel.ts';
import { sha256Batch } from './sha256.ts';

export const CHUNK_BYTES = 1024;

/** sha256Batch's signature: `count` digests of tag ‖ data[i*len, (i+1)*len), zero past the end. */
export type BatchHash = (tag: number, data: Uint8Array, len: number, count: number) => Uint8Array;

// Roots of all-padding subtrees by height.
const zeroRoots: Uint8Array[] = [new Uint8Array(32)];

export function zeroRoot(height: number): Uint8Array {
  while (zeroRoots.length <= height) {
    const z = zeroRoots[zeroRoots.length - 1];
    const pair = new Uint8Array(64);
    pair.set(z);
    pair.set(z, 32);
    zeroRoots.push(sha256Batch(1, pair, 64, 1));
  }
  return zeroRoots[height];
}

/**
 * Root of the subtree of height `height` over leaves [first, first + 2^height) of a tensor's tree
 * (`bytes`: its little-endian bytes, `chunks` leaves; leaves past the end are padding, the last
 * chunk is zero-padded). Levels of fewer than four hashes go through `few` when given (one SIMD
 * call hashes four messages whatever their number: node:crypto is cheaper for one or two).
 */
export function subtreeRoot(bytes: Uint8Array, chunks: number, first: number, height: number, few?: BatchHash): Uint8Array {
  const live = Math.min(2 ** height, chunks - first);
  if (live <= 0) return zeroRoot(height);
  const hashOf = (tag: number, data: Uint8Array, len: number, count: number): Uint8Array =>
    (count < 4 && few ? few : sha256Batch)(tag, data, len, count);
  let level = hashOf(0, bytes.subarray(first * CHUNK_BYTES, Math.min((first + live) * CHUNK_BYTES, bytes.length)), CHUNK_BYTES, live);
  let n = live;
  for (let h = 0; h < height; h++) {
    // Pairs of live nodes; a live node paired with padding hashes with the zero root of its height.
    if (n % 2 === 1) {
      const padded = new Uint8Array(32 * (n + 1));
      padded.set(level);
      padded.set(zeroRoot(h), 32 * n);
      level = padded;
      n++;
    }
    level = hashOf(1, level, 64, n / 2);
    n /= 2;
  }
  return level; // 32 bytes: one node is left
}

// A job of subtree tasks in the control block (KIND_MERKLE): word JOB holds the byte address of the
// task table (TASK_WORDS i32 per task: data address, byte length, chunks, first leaf, height), word
// JOB + 1 that of the roots (32 bytes per task). One task is one chunk of the job.
export const KIND_MERKLE = 2;
export const TASK_WORDS = 5;

/** Writes task `k`'s fields into the table at word `at` of `words`. */
export function writeTask(words: Int32Array, at: number, t: SubtreeTask): void {
  words[at] = t.bytes.byteOffset;
  words[at + 1] = t.bytes.byteLength;
  words[at + 2] = t.chunks;
  words[at + 3] = t.first;
  words[at + 4] = t.height;
}

/** Runs task `k` of the merkle job in the control block of `buffer` (any thread of the pool). */
export function runMerkleTask(buffer: ArrayBufferLike, k: number): void {
  const ctl = new Int32Array(buffer, 0, CTL.MSG);
  const w = new Int32Array(buffer, ctl[CTL.JOB] + 4 * TASK_WORDS * k, TASK_WORDS);
  const root = subtreeRoot(new Uint8Array(buffer, w[0], w[1]), w[2], w[3], w[4]);
  new Uint8Array(buffer, ctl[CTL.JOB + 1] + 32 * k, 32).set(root);
}

let warmed = false;
/** Compiles and runs the hashing on this thread (WebAssembly instance, JIT), off the clock; once a thread. */
export function warmMerkle(): void {
  if (warmed) return;
  warmed = true;
  const bytes = new Uint8Array(128 * CHUNK_BYTES);
  for (let i = 0; i < 4; i++) subtreeRoot(bytes, 128, 0, 7);
}
