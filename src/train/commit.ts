// Tensor commitments (docs/verification.md §2): a Merkle root over 1 KiB chunks of a tensor's
// little-endian elements, bound to its shape, so one element can be opened with its chunk and
// log2(chunks) siblings. contracts/verify/TensorCommit.sol checks the same openings on chain.
//
//   leaf   = sha256(0x00 ‖ chunk)           chunk: CHUNK_ELEMENTS elements, the last one zero-padded
//   node   = sha256(0x01 ‖ left ‖ right)    leaves padded with bytes32(0) to a power of two
//   commit = sha256(0x02 ‖ u32 rank ‖ u32 dims… ‖ root)
// No chunk at all (a tensor with a 0 dimension) has root bytes32(0); a single chunk is its own root.
import { createHash, hash } from 'node:crypto';
import { InputError } from '../errors.ts';
import { LITTLE_ENDIAN } from '../engine/hash.ts';

export const CHUNK_ELEMENTS = 256;
export const CHUNK_BYTES = CHUNK_ELEMENTS * 4;

/** binary32 values or u32/i32 integers (labels, token ids, indices): 4 bytes per element. */
export type TensorData = Float32Array | Uint32Array | Int32Array;

const ZERO = new Uint8Array(32);
const TAG_COMMIT = new Uint8Array([2]);

function bytesOf(data: TensorData): Uint8Array {
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return u8;
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) dv.setFloat32(i * 4, data[i], true);
    else dv.setUint32(i * 4, data[i] >>> 0, true);
  }
  return out;
}

function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0 || d > 0xffffffff) throw new InputError(`bad dimension ${d} in shape [${shape}]`);
    n *= d;
  }
  return n;
}

export function chunkCount(elements: number): number {
  return Math.ceil(elements / CHUNK_ELEMENTS);
}

/** The 1 KiB chunk `c` of a tensor's bytes (zero-padded past the end). */
export function chunkOf(data: TensorData, c: number): Uint8Array {
  const bytes = bytesOf(data);
  const start = c * CHUNK_BYTES;
  if (!Number.isSafeInteger(c) || c < 0 || start >= bytes.length) throw new InputError(`chunk ${c} out of range for ${data.length} elements`);
  const out = new Uint8Array(CHUNK_BYTES);
  out.set(bytes.subarray(start, Math.min(start + CHUNK_BYTES, bytes.length)));
  return out;
}

// One-shot hashes into reused buffers: a createHash object per leaf cost ~2x the whole tree.
const leafBuf = new Uint8Array(1 + CHUNK_BYTES);
const nodeBuf = new Uint8Array(65);
nodeBuf[0] = 1;

export function leafHash(chunk: Uint8Array): Uint8Array {
  if (chunk.length !== CHUNK_BYTES) throw new InputError(`a chunk has ${CHUNK_BYTES} bytes, got ${chunk.length}`);
  leafBuf.set(chunk, 1);
  return new Uint8Array(hash('sha256', leafBuf, 'buffer'));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 33);
  return new Uint8Array(hash('sha256', nodeBuf, 'buffer'));
}

/** commit = sha256(0x02 ‖ u32 rank ‖ u32 dims… ‖ root). */
export function commitOf(shape: readonly number[], root: Uint8Array): Uint8Array {
  sizeOfShape(shape);
  const head = new Uint8Array(4 + 4 * shape.length);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, shape.length, true);
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, true));
  return new Uint8Array(createHash('sha256').update(TAG_COMMIT).update(head).update(root).digest());
}

/** Every level of a tensor's tree, leaves first (padded to a power of two), root last. */
export interface TensorTree {
  shape: readonly number[];
  levels: Uint8Array[][];
  root: Uint8Array;
  commit: Uint8Array;
}

function leavesOf(data: TensorData): Uint8Array[] {
  const bytes = bytesOf(data);
  const n = chunkCount(data.length);
  const leaves: Uint8Array[] = new Array(n);
  const full = Math.floor(bytes.length / CHUNK_BYTES);
  for (let c = 0; c < full; c++) leaves[c] = leafHash(bytes.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES));
  if (full < n) leaves[full] = leafHash(chunkOf(data, full));
  return leaves;
}

function checkShape(shape: readonly number[], data: TensorData): void {
  const n = sizeOfShape(shape);
  if (n !== data.length) throw new InputError(`shape [${shape}] has ${n} elements, data has ${data.length}`);
}

export function tensorTree(shape: readonly number[], data: TensorData): TensorTree {
  checkShape(shape, data);
  const leaves = leavesOf(data);
  if (leaves.length === 0) return { shape: [...shape], levels: [[]], root: ZERO, commit: commitOf(shape, ZERO) };
  let width = 1;
  while (width < leaves.length) width *= 2;
  let level = leaves.concat(new Array<Uint8Array>(width - leaves.length).fill(ZERO));
  const levels = [level];
  while (level.length > 1) {
    const next: Uint8Array[] = new Array(level.length / 2);
    for (let i = 0; i < next.length; i++) next[i] = nodeHash(level[2 * i], level[2 * i + 1]);
    levels.push((level = next));
  }
  const root = level[0];
  return { shape: [...shape], levels, root, commit: commitOf(shape, root) };
}

/** The commitment alone. */
export function tensorCommit(shape: readonly number[], data: TensorData): Uint8Array {
  return tensorTree(shape, data).commit;
}

/** What opens element `index`: its chunk and the siblings from the bottom up. */
export interface ElementOpening {
  index: number;
  chunkIndex: number;
  chunk: Uint8Array;
  siblings: Uint8Array[];
}

export function openElement(tree: TensorTree, data: TensorData, index: number): ElementOpening {
  if (!Number.isSafeInteger(index) || index < 0 || index >= data.length) throw new InputError(`element ${index} out of range for ${data.length} elements`);
  const chunkIndex = Math.floor(index / CHUNK_ELEMENTS);
  const siblings: Uint8Array[] = [];
  for (let d = 0; d < tree.levels.length - 1; d++) siblings.push(tree.levels[d][(chunkIndex >> d) ^ 1]);
  return { index, chunkIndex, chunk: chunkOf(data, chunkIndex), siblings };
}

/** True when `o` opens element o.index of a tensor of `shape` committed as `commit`. */
export function verifyOpening(commit: Uint8Array, shape: readonly number[], o: ElementOpening): boolean {
  const n = sizeOfShape(shape);
  const chunks = chunkCount(n);
  if (o.index < 0 || o.index >= n || o.chunkIndex !== Math.floor(o.index / CHUNK_ELEMENTS)) return false;
  let depth = 0;
  while (1 << depth < chunks) depth++;
  if (o.siblings.length !== depth) return false;
  let h = leafHash(o.chunk);
  for (let d = 0; d < depth; d++) h = (o.chunkIndex >> d) & 1 ? nodeHash(o.siblings[d], h) : nodeHash(h, o.siblings[d]);
  return equalBytes(commitOf(shape, h), commit);
}

/** Element `index` of an opening's chunk as a binary32 value (use elementU32 for integers). */
export function elementF32(o: ElementOpening): number {
  return new DataView(o.chunk.buffer, o.chunk.byteOffset).getFloat32((o.index % CHUNK_ELEMENTS) * 4, true);
}

export function elementU32(o: ElementOpening): number {
  return new DataView(o.chunk.buffer, o.chunk.byteOffset).getUint32((o.index % CHUNK_ELEMENTS) * 4, true);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
