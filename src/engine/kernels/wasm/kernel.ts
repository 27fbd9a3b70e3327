// The WASM matmul without threads: load the kernel, place its operands, split a call into work
// for threads, run one thread's share. Browser-safe: no Node APIs here (the thread pool, which
// needs worker_threads in Node, lives in pool.ts and plugs in through `Dispatch`).
//
// Memory: the backend's one shared WebAssembly.Memory (heap.ts). [0, CTL_BYTES) is the control
// block: thread signalling and the job descriptor (Int32 words). Operands that live in the heap
// are read (A, B) and written (C, dense batch x M x N) in place; others are copied into arena
// memory for the call, as is each chunk's scratch (an edge tile, one packed A block, one group of
// packed B panels). Every output element is computed by exactly one thread with the canonical
// k-loop, so the bits do not depend on the thread count or the split (see matmul.wat.ts).
import type { MatmulParams } from '../backend.ts';
import { ShapeError } from '../../../errors.ts';
import { MATMUL_WASM_BASE64 } from './matmul.wasm.ts';
import { CTL_BYTES, type Heap } from './heap.ts';
import { decodeBase64, WebAssemblyApi, type WasmMemory, type WasmModule } from './wasm-api.ts';

export type GemmFn = (
  a: number, b: number, c: number, M: number, K: number, N: number, flags: number,
  i0: number, i1: number, j0: number, j1: number, group: number, kc: number, scratch: number, bias: number,
) => void;

/** The matmul kernel's entry points on one instance. */
export interface MatmulKernel {
  gemm: GemmFn;
}

// Control block words (Int32 indices).
export const CTL = {
  READY: 0, // workers that have started
  ERROR: 2, // 1 when a worker failed; message bytes at MSG
  QUIT: 3,
  KIND: 4, // the job's kind: 0 matmul (JOB), 1 elementwise (vec.ts), 2 Merkle subtrees (merkle.ts)
  CLAIM: 5, // epoch (8 bits) | chunks (12 bits) | next unclaimed chunk (12 bits), see pool.ts
  COMPLETED: 6, // chunks of the current job finished
  PARK: 7, // bumped by park(): workers stop polling for the next job and sleep (pool.ts)
  JOB: 8, // job descriptor: JOB_FIELDS words
  MSG: 64, // error message: length word, then UTF-8 bytes
  GEN: 512, // one generation word per worker, 16 words (a cache line) apart
} as const;
export const MSG_BYTES = 1024;
export const MAX_THREADS = 64;
export { CTL_BYTES };

// threads: the job's chunk count; kc: the k block; bias: address of N biases zero-padded to whole
// 8-column panels (0: none), added to every row.
const JOB_FIELDS = ['batch', 'M', 'K', 'N', 'flags', 'a', 'b', 'c', 'aStride', 'bStride', 'group', 'threads', 'byRows', 'scratch', 'scratchBytes', 'kc', 'bias'] as const;
/** One matmul call as the threads see it. Pointers and strides are in bytes. */
export type Job = Record<(typeof JOB_FIELDS)[number], number>;

export function genIndex(thread: number): number {
  return CTL.GEN + 16 * thread;
}

export function writeJob(ctl: Int32Array, job: Job): void {
  JOB_FIELDS.forEach((f, i) => { ctl[CTL.JOB + i] = job[f]; });
}

export function readJob(ctl: Int32Array): Job {
  const job = {} as Job;
  JOB_FIELDS.forEach((f, i) => { job[f] = ctl[CTL.JOB + i] >>> 0; });
  return job;
}

/** The kernel bytes (committed base64, see build.ts). */
export function kernelBytes(): Uint8Array {
  return decodeBase64(MATMUL_WASM_BASE64);
}

/** Compiles the kernel synchronously (it is ~4 KB, below browsers' limit for sync compiles). */
export function compileKernel(): WasmModule {
  return new WebAssemblyApi.Module(kernelBytes());
}

export function instantiateKernel(module: WasmModule, memory: WasmMemory): MatmulKernel {
  const inst = new WebAssemblyApi.Instance(module, { env: { memory } });
  return { gemm: inst.exports.gemm as GemmFn };
}

const pause: (n?: number) => void = (Atomics as unknown as { pause?: (n?: number) => void }).pause ?? (() => {});

/**
 * Chunk t of a job cut into job.threads chunks. Work is cut into units of output columns (8-wide
 * panels) or, when the columns are too few to share, of output rows (4-row blocks); units of all
 * batches are laid end to end and chunk t takes the t-th contiguous slice. Only outputs are split,
 * never k, and every chunk packs what it reads itself: no chunk waits for another.
 */
export function runShare(kern: MatmulKernel, job: Job, t: number): void {
  const { batch, M, K, N, flags, group, kc } = job;
  const T = job.threads;
  const step = job.byRows ? 4 : 8;
  const perBatch = Math.ceil((job.byRows ? M : N) / step);
  const total = batch * perBatch;
  const u1 = Math.floor(((t + 1) * total) / T);
  const scratch = job.scratch + t * job.scratchBytes;
  for (let u = Math.floor((t * total) / T); u < u1; ) {
    const bi = Math.floor(u / perBatch);
    const lo = u - bi * perBatch;
    const hi = Math.min(perBatch, lo + (u1 - u));
    const a = job.a + bi * job.aStride, b = job.b + bi * job.bStride, c = job.c + bi * M * N * 4;
    if (job.byRows) kern.gemm(a, b, c, M, K, N, flags, lo * 4, Math.min(hi * 4, M), 0, N, group, kc, scratch, job.bias);
    else kern.gemm(a, b, c, M, K, N, flags, 0, M, lo * 8, Math.min(hi * 8, N), group, kc, scratch, job.bias);
    u += hi - lo;
  }
}

/**
 * Runs a job cut into `chunks` parts (chunk c of the job in the control block, whose chunk count
 * says `chunks`) on up to `threads` threads, the calling thread included (it runs its chunks with
 * `local`), and returns when every chunk is done. Which thread runs a chunk never changes a bit:
 * each output element belongs to exactly one chunk.
 */
export type Dispatch = (threads: number, chunks: number, local: (chunk: number) => void) => void;
export const MAX_CHUNKS = 4095;

/** Tuning knobs. They change speed only, never results. */
export interface KernelTuning {
  /** Bytes of packed B worked on at a time (keep it in L2). */
  groupBytes: number;
  /** Longest k block (a longer k is done in blocks, each continuing the sums in C). */
  kBlock: number;
  /** Below this many flops (2·batch·M·N·K) a call runs on the calling thread alone. */
  parallelMinFlops: number;
}

export const DEFAULT_TUNING: KernelTuning = { groupBytes: 128 * 1024, kBlock: 256, parallelMinFlops: 2e6 };

/** Chunks per thread of a parallel call (more: a late thread's share is taken by the others). */
const CHUNKS_PER_THREAD = 4;

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

function checkParams(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void {
  const ints: (keyof MatmulParams)[] = ['batch', 'M', 'K', 'N', 'aOffset', 'bOffset', 'aBatchStride', 'bBatchStride'];
  for (const k of ints) {
    const v = p[k] as number;
    if (!Number.isSafeInteger(v) || v < 0) throw new ShapeError(`matmul: ${k} must be a non-negative integer, got ${v}`);
  }
  const { batch, M, K, N } = p;
  if (batch === 0) return;
  const need = (off: number, stride: number, size: number): number => off + (batch - 1) * stride + size;
  if (need(p.aOffset, p.aBatchStride, M * K) > a.length)
    throw new ShapeError('matmul: A is too short', { details: `batch=${batch} M=${M} K=${K} offset=${p.aOffset} stride=${p.aBatchStride}, length ${a.length}` });
  if (need(p.bOffset, p.bBatchStride, K * N) > b.length)
    throw new ShapeError('matmul: B is too short', { details: `batch=${batch} K=${K} N=${N} offset=${p.bOffset} stride=${p.bBatchStride}, length ${b.length}` });
  if (batch * M * N > c.length) throw new ShapeError('matmul: C is too short', { details: `needs ${batch * M * N}, length ${c.length}` });
  if (p.bias && p.bias.length < N) throw new ShapeError(`matmul: bias has ${p.bias.length} values for ${N} columns`);
}

/** How one operand is copied into kernel memory: the element range, and the batch stride there. */
function stagePlan(stride: number, size: number, batch: number): { elems: number; stride: number; compact: boolean } {
  if (batch === 1 || stride === 0) return { elems: size, stride: 0, compact: false };
  if (stride > size) return { elems: batch * size, stride: size, compact: true }; // skip the gaps
  return { elems: (batch - 1) * stride + size, stride, compact: false }; // dense or overlapping
}

function stage(dst: Float32Array, at: number, src: Float32Array, offset: number, srcStride: number, size: number, batch: number, plan: { elems: number; compact: boolean }): void {
  if (!plan.compact) {
    dst.set(src.subarray(offset, offset + plan.elems), at);
    return;
  }
  for (let bi = 0; bi < batch; bi++) {
    const s = offset + bi * srcStride;
    dst.set(src.subarray(s, s + size), at + bi * size);
  }
}

const overlaps = (x: Float32Array, y: Float32Array): boolean =>
  x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;

export interface MatmulRunner {
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void;
  readonly memory: WasmMemory;
  /** Threads a call may use (1 = the calling thread only). */
  readonly threads: number;
}

/**
 * The synchronous matmul over the heap's memory. With `dispatch` and threads > 1, large calls are
 * shared with the pool's workers; otherwise everything runs on the calling thread.
 */
export function createMatmulRunner(opts: {
  heap: Heap;
  kernel: MatmulKernel;
  threads?: number;
  dispatch?: Dispatch;
  tuning?: Partial<KernelTuning>;
}): MatmulRunner {
  const { heap, kernel, dispatch } = opts;
  const threads = dispatch ? Math.max(1, opts.threads ?? 1) : 1;
  if (threads > MAX_THREADS) throw new ShapeError(`at most ${MAX_THREADS} threads, got ${threads}`);
  const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  const ctl = new Int32Array(heap.memory.buffer, 0, CTL_BYTES / 4);

  /** Byte address of an operand and its batch stride there: in place, or copied into the arena. */
  function place(x: Float32Array, offset: number, stride: number, size: number, batch: number): { at: number; stride: number } {
    if (heap.owns(x)) return { at: x.byteOffset + 4 * offset, stride: batch === 1 ? 0 : 4 * stride };
    const plan = stagePlan(stride, size, batch);
    const at = heap.tempBytes(4 * plan.elems);
    stage(heap.f32(), at / 4, x, offset, stride, size, batch, plan);
    return { at, stride: 4 * plan.stride };
  }

  function matmul(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void {
    checkParams(a, b, c, p);
    const { batch, M, K, N } = p;
    if (batch === 0 || M === 0 || N === 0) return;
    const flops = 2 * batch * M * N * K;
    const panels = Math.ceil(N / 8), blocks = Math.ceil(M / 4);
    // Columns split without repacking anything; rows only when columns are too few (then every
    // chunk packs all of B).
    const byRows = batch * panels < 4 * threads && blocks > panels ? 1 : 0;
    const units = batch * (byRows ? blocks : panels);
    const T = flops < tuning.parallelMinFlops || !dispatch ? 1 : Math.min(threads, units);
    // k blocks of equal length (a multiple of 4 where possible), at most kBlock long.
    const nk = Math.max(1, Math.ceil(K / Math.max(1, tuning.kBlock)));
    const kc = Math.max(1, nk === 1 ? K : Math.ceil(K / nk / 4) * 4);
    const group = Math.max(1, Math.min(panels, Math.floor(tuning.groupBytes / (32 * kc))));
    const scratchBytes = 128 + align64(16 * kc) + align64(32 * kc * group) + 64;
    const chunks = T === 1 ? 1 : Math.min(units, CHUNKS_PER_THREAD * T);

    const mark = heap.mark();
    try {
      const A = place(a, p.aOffset, p.aBatchStride, M * K, batch);
      const B = place(b, p.bOffset, p.bBatchStride, K * N, batch);
      // C in place unless it shares memory with an operand (another thread may still be reading it).
      const cIn = heap.owns(c) && !(heap.owns(a) && overlaps(c, a)) && !(heap.owns(b) && overlaps(c, b));
      const cAt = cIn ? c.byteOffset : heap.tempBytes(4 * batch * M * N);
      const sAt = heap.tempBytes(chunks * scratchBytes);
      let bias = 0;
      if (p.bias) {
        bias = heap.tempBytes(32 * panels);
        const f = heap.f32();
        f.fill(0, bias / 4, bias / 4 + 8 * panels);
        f.set(p.bias.subarray(0, N), bias / 4);
      }
      const job: Job = {
        batch, M, K, N, flags: (p.transA ? 1 : 0) | (p.transB ? 2 : 0) | (p.transA && M % 512 === 0 && (chunks === 1 || byRows) ? 4 : 0),
        a: A.at, b: B.at, c: cAt, aStride: A.stride, bStride: B.stride,
        group, threads: chunks, byRows, scratch: sAt, scratchBytes, kc, bias,
      };
      if (T === 1) runShare(kernel, job, 0);
      else {
        ctl[CTL.KIND] = 0;
        writeJob(ctl, job);
        dispatch!(T, chunks, (ch) => runShare(kernel, job, ch));
      }
      if (!cIn) c.set(heap.f32().subarray(cAt / 4, cAt / 4 + batch * M * N));
    } finally {
      heap.release(mark);
    }
  }

  return {
    matmul,
    memory: heap.memory,
    get threads() { return threads; },
  };
}
