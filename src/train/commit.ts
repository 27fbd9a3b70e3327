// Tensor commitments (docs/verification.md §2): a Merkle root over 1 KiB chunks of a tensor's
// little-endian elements, bound to its shape, so one element can be opened with its chunk and
// log2(chunks) siblings. contracts/verify/TensorCommit.sol checks the same openings on chain.
//
//   leaf   = sha256(0x00 ‖ chunk)           chunk: CHUNK_ELEMENTS elements, the last one zero-padded
//   node   = sha256(0x01 ‖ left ‖ right)    leaves padded with bytes32(0) to a power of two
//   commit = sha256(0x02 ‖ u32 rank ‖ u32 dims… ‖ root)
// No chunk at all (a tensor with a 0 dimension) has root bytes32(0); a single chunk is its own root.
import { createHash, hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { workerExecArgv } from '../engine/kernels/wasm/pool.ts';
import { InputError } from '../errors.ts';
import { CHUNK_BYTES, subtreeRoot as merkleSubtreeRoot, warmMerkle, zeroRoot } from '../engine/kernels/wasm/merkle.ts';
import { LITTLE_ENDIAN } from '../engine/hash.ts';
import { getBackend } from '../engine/kernels/current.ts';
import type { SubtreeTask } from '../engine/kernels/backend.ts';

export { CHUNK_BYTES };
export const CHUNK_ELEMENTS = CHUNK_BYTES / 4; // 256

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

/** The commitment alone (same bytes as tensorTree's, without keeping the levels). */
export function tensorCommit(shape: readonly number[], data: TensorData): Uint8Array {
  checkShape(shape, data);
  const chunks = chunkCount(data.length);
  return commitOf(shape, chunks === 0 ? ZERO : subtreeRoot(bytesOf(data), chunks, 0, heightOf(chunks)));
}

/** Levels above the leaves of a tree over `chunks` leaves (padded to a power of two). */
export function heightOf(chunks: number): number {
  let h = 0;
  while (2 ** h < chunks) h++;
  return h;
}

/** Digests of few messages through node:crypto (merkle.ts's `few`: one SIMD call costs four). */
function cryptoBatch(tag: number, data: Uint8Array, len: number, count: number): Uint8Array {
  const out = new Uint8Array(32 * count);
  const buf = tag === 0 && len === CHUNK_BYTES ? leafBuf : tag === 1 && len === 64 ? nodeBuf : new Uint8Array(1 + len);
  buf[0] = tag;
  for (let i = 0; i < count; i++) {
    buf.fill(0, 1);
    buf.set(data.subarray(i * len, Math.min((i + 1) * len, data.length)), 1);
    out.set(hash('sha256', buf, 'buffer'), 32 * i);
  }
  return out;
}

/**
 * Root of the subtree of height `height` over leaves [first, first + 2^height) of a tensor's tree
 * (`bytes`: its little-endian bytes, `chunks` leaves; leaves past the end are padding).
 */
export function subtreeRoot(bytes: Uint8Array, chunks: number, first: number, height: number): Uint8Array {
  return merkleSubtreeRoot(bytes, chunks, first, height, cryptoBatch);
}

// ---------------------------------------------------------------------------------------------
// Many commitments at once (a state's tensors): one helper thread hashes subtrees beside the
// caller. A hash costs ~1.3 µs of call overhead here, so a state of 2,400 chunks takes ~9 ms on one
// thread; split into subtrees of TASK_CHUNKS leaves that both threads take from one claim word,
// it takes about half. The roots, and so the bytes, do not depend on who hashed what.

const TASK_HEIGHT = 7; // subtrees of 128 leaves (128 KiB of data)
const PARALLEL_MIN_CHUNKS = 512;

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** [0] claim word: (generation & 0x7ff) << 20 | next task; [1] tasks done; [2] wake counter. */
  ctl: Int32Array;
  gen: number;
  dead: boolean;
}

let helper: Helper | null | undefined;

function commitHelper(): Helper | null {
  if (helper !== undefined) return helper?.dead ? null : helper;
  if (!isMainThread || availableParallelism() < 2) return (helper = null);
  const ctl = new Int32Array(new SharedArrayBuffer(12));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./commit-worker.ts', import.meta.url), {
    workerData: { ctl, port: port2 }, transferList: [port2], execArgv: workerExecArgv(),
  });
  worker.unref(); // never keeps the process alive
  port1.unref();
  const h: Helper = { worker, port: port1, ctl, gen: 0, dead: false };
  worker.on('error', () => { h.dead = true; });
  worker.on('exit', () => { h.dead = true; });
  return (helper = h);
}

/**
 * Starts the helper thread ahead of the first tensorCommits of a state this large (it takes
 * ~20 ms to start, which would otherwise fall on the first checkpoint), and readies this thread's
 * hashing. Speed only: tensorCommits works without it.
 */
export function prepareCommits(items: readonly { data: TensorData }[]): void {
  let total = 0;
  for (const it of items) total += chunkCount(it.data.length);
  if (total < PARALLEL_MIN_CHUNKS) return;
  if (!getBackend().subtreeRoots) commitHelper(); // else the kernel threads hash (tensorCommits)
  warmHashing();
}

let warmed = false;
/** Compiles and runs the hashing code on this thread (WebAssembly instance, JIT); once a thread. */
export function warmHashing(): void {
  if (warmed) return;
  warmed = true;
  warmMerkle();
  subtreeRoot(new Uint8Array(CHUNK_BYTES), 1, 0, 0);
}

/** What one helper call carries: the tensors' bytes (shared), the tasks and where roots go. */
export interface CommitJob {
  gen: number;
  bytes: Uint8Array[];
  chunks: number[];
  /** Triples (tensor, first leaf, height). */
  tasks: Int32Array;
  /** 32 bytes per task. */
  roots: Uint8Array;
  /** 1 when a task's root is written. */
  done: Int32Array;
}

/** Takes tasks from the claim word until none of this generation are left (caller and helper). */
export function runCommitTasks(ctl: Int32Array, job: CommitJob): void {
  const n = job.tasks.length / 3;
  const tag = (job.gen & 0x7ff) << 20;
  for (;;) {
    const w = Atomics.load(ctl, 0);
    if ((w & ~0xfffff) !== tag || (w & 0xfffff) >= n) return;
    if (Atomics.compareExchange(ctl, 0, w, w + 1) !== w) continue;
    const k = w & 0xfffff;
    const t = job.tasks[3 * k];
    job.roots.set(subtreeRoot(job.bytes[t], job.chunks[t], job.tasks[3 * k + 1], job.tasks[3 * k + 2]), 32 * k);
    Atomics.store(job.done, k, 1);
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}

function sharedBytes(b: Uint8Array): Uint8Array {
  if (b.buffer instanceof SharedArrayBuffer) return b;
  const s = new Uint8Array(new SharedArrayBuffer(b.length));
  s.set(b);
  return s;
}

/**
 * Subtree roots (32 bytes per task triple of `tasks`) on the caller and the helper thread; null
 * without a helper (one core).
 */
function helperRoots(bytes: Uint8Array[], chunks: number[], tasks: number[]): Uint8Array | null {
  const h = commitHelper();
  if (!h) return null;
  getBackend().idle?.(); // kernel threads stop polling: the helper needs a core
  const n = tasks.length / 3;
  const job: CommitJob = {
    gen: ++h.gen,
    bytes: bytes.map(sharedBytes),
    chunks,
    tasks: new Int32Array(new SharedArrayBuffer(4 * tasks.length)),
    roots: new Uint8Array(new SharedArrayBuffer(32 * n)),
    done: new Int32Array(new SharedArrayBuffer(4 * n)),
  };
  job.tasks.set(tasks);
  Atomics.store(h.ctl, 1, 0);
  Atomics.store(h.ctl, 0, (job.gen & 0x7ff) << 20);
  h.port.postMessage(job);
  Atomics.add(h.ctl, 2, 1);
  Atomics.notify(h.ctl, 2);
  runCommitTasks(h.ctl, job);
  // Wait for the helper's last tasks; if it died holding one, compute what is missing here.
  for (let c = Atomics.load(h.ctl, 1); c < n; c = Atomics.load(h.ctl, 1)) {
    if (Atomics.wait(h.ctl, 1, c, 2000) === 'timed-out' && h.dead) break;
  }
  for (let k = 0; k < n; k++) {
    if (Atomics.load(job.done, k)) continue;
    const t = tasks[3 * k];
    job.roots.set(subtreeRoot(job.bytes[t], chunks[t], tasks[3 * k + 1], tasks[3 * k + 2]), 32 * k);
  }
  return job.roots;
}

/** tensorCommit of each item, the same bytes, computed on two threads when the items are large. */
export function tensorCommits(items: readonly { shape: readonly number[]; data: TensorData }[]): Uint8Array[] {
  let total = 0;
  for (const it of items) {
    checkShape(it.shape, it.data);
    total += chunkCount(it.data.length);
  }
  if (total < PARALLEL_MIN_CHUNKS) return items.map((it) => tensorCommit(it.shape, it.data));
  const chunks = items.map((it) => chunkCount(it.data.length));
  const heights = chunks.map(heightOf);
  const tasks: number[] = [];
  chunks.forEach((c, t) => {
    const th = Math.min(TASK_HEIGHT, heights[t]);
    for (let first = 0; first < c; first += 2 ** th) tasks.push(t, first, th);
  });
  const bytes = items.map((it) => bytesOf(it.data));
  // The kernel threads when the tensors are in their memory (the state of a job is), else the helper.
  const backend = getBackend();
  let roots: Uint8Array | null = null;
  if (backend.subtreeRoots) {
    const subtrees: SubtreeTask[] = [];
    for (let k = 0; k < tasks.length; k += 3) subtrees.push({ bytes: bytes[tasks[k]], chunks: chunks[tasks[k]], first: tasks[k + 1], height: tasks[k + 2] });
    roots = backend.subtreeRoots(subtrees);
  }
  roots ??= helperRoots(bytes, chunks, tasks);
  if (!roots) return items.map((it) => tensorCommit(it.shape, it.data));
  // Each tensor's root from its subtree roots (the levels above TASK_HEIGHT).
  const out: Uint8Array[] = [];
  let k = 0;
  chunks.forEach((c, t) => {
    if (c === 0) {
      out.push(commitOf(items[t].shape, ZERO));
      return;
    }
    const th = Math.min(TASK_HEIGHT, heights[t]);
    let level: Uint8Array[] = [];
    for (let first = 0; first < c; first += 2 ** th) level.push(roots.slice(32 * k, 32 * ++k));
    for (let hgt = th; hgt < heights[t]; hgt++) {
      const next: Uint8Array[] = new Array(Math.ceil(level.length / 2));
      for (let i = 0; i < next.length; i++) next[i] = nodeHash(level[2 * i], level[2 * i + 1] ?? zeroRoot(hgt));
      level = next;
    }
    out.push(commitOf(items[t].shape, level[0]));
  });
  return out;
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
