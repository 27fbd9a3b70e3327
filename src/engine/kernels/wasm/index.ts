// The fast backend: the WebAssembly SIMD128 matmul (kernel.ts, matmul.wat.ts) and elementwise
// kernels (vec.ts, vec.wat.ts) over one shared memory (heap.ts), with a Node worker-thread pool
// (pool.ts). Bit-identical to the reference programs (reference.ts) for any shape and thread
// count; operands outside the heap's memory go to the reference programs themselves.
//
//   const be = await createWasmBackend({ threads: 2 }); be.matmul(a, b, c, params); await be.close();
//   const be = createWasmBackendSync({ threads: 2 });   // same, workers finish starting on first use
//   getDefaultBackend()                                 // one shared instance, created on first call
import { availableParallelism } from 'node:os';
import type { Backend, SubtreeTask } from '../backend.ts';
import { InputError } from '../../../errors.ts';
import {
  adamwReference, allFiniteReference, binaryReference, col2imReference, gatherRowsReference, im2colReference, gatherStridedReference, scatterAddRowsReference, geluBackwardReference, geluReference, reduceReference, sgdReference, sumAllReference,
  layerNormBackwardReference, layerNormReference, softmaxBackwardReference, softmaxReference, sumSquaresReference, unaryReference,
} from '../reference.ts';
import { createHeap, type Heap } from './heap.ts';
import { compileKernel, createMatmulRunner, CTL, instantiateKernel, MAX_CHUNKS, MAX_THREADS, type KernelTuning } from './kernel.ts';
import { KIND_MERKLE, runMerkleTask, TASK_WORDS, writeTask } from './merkle.ts';
import { createThreadPool, type ThreadPool } from './pool.ts';
import { compileVec, createVecKernels, type VecTuning } from './vec.ts';

export interface WasmBackendOptions {
  /** Threads per matmul call, the calling thread included (default: available cores, at most 8). */
  threads?: number;
  /** Upper bound of the kernel's shared memory in MiB (default 4096, the wasm32 limit). */
  maxMemoryMiB?: number;
  /** Speed-only knobs; results never depend on them. */
  tuning?: Partial<KernelTuning & VecTuning>;
  /** Polls a worker makes before it sleeps between calls (default 20000, about 0.1 ms). */
  spin?: number;
  /** Fill released temporary memory with NaN, so a use after release shows (tests; slow). */
  poison?: boolean;
}

export interface WasmBackend extends Backend {
  /** Threads per call, the calling thread included. */
  readonly threads: number;
  /** The memory and allocator the kernels work in. */
  readonly heap: Heap;
  /** Resolves when all worker threads have started (calls before that wait for them). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function defaultThreads(): number {
  return Math.min(8, availableParallelism());
}

/** Creates the backend synchronously; with threads > 1 the first matmul waits for the workers. */
export function createWasmBackendSync(opts: WasmBackendOptions = {}): WasmBackend {
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw new InputError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  const heap = createHeap({ maxMemoryMiB: opts.maxMemoryMiB, poison: opts.poison });
  const modules = { matmul: compileKernel(), vec: compileVec() };
  const kernel = instantiateKernel(modules.matmul, heap.memory);
  const pool: ThreadPool | undefined = threads > 1 ? createThreadPool(modules, heap.memory, threads - 1, { spin: opts.spin }) : undefined;
  const runner = createMatmulRunner({ heap, kernel, threads, dispatch: pool?.dispatch, tuning: opts.tuning });
  const vec = createVecKernels({ heap, module: modules.vec, threads, dispatch: pool?.dispatch, tuning: opts.tuning });

  // Subtree roots on the pool: its workers are still polling right after a step, so they take the
  // tasks at once (a helper thread woken from sleep can wait milliseconds for a core).
  function subtreeRoots(tasks: readonly SubtreeTask[]): Uint8Array | null {
    if (!pool || tasks.length < 2 || !tasks.every((t) => heap.owns(t.bytes))) return null;
    const m = heap.mark();
    try {
      const table = heap.tempBytes(4 * TASK_WORDS * tasks.length);
      const roots = heap.tempBytes(32 * tasks.length);
      const buffer = heap.memory.buffer;
      const words = new Int32Array(buffer, table, TASK_WORDS * tasks.length);
      tasks.forEach((t, k) => writeTask(words, TASK_WORDS * k, t));
      const ctl = new Int32Array(buffer, 0, CTL.MSG);
      // A job has at most MAX_CHUNKS chunks (one task each): larger states take several.
      for (let first = 0; first < tasks.length; first += MAX_CHUNKS) {
        ctl[CTL.KIND] = KIND_MERKLE;
        ctl[CTL.JOB] = table + 4 * TASK_WORDS * first;
        ctl[CTL.JOB + 1] = roots + 32 * first;
        pool.dispatch(threads, Math.min(MAX_CHUNKS, tasks.length - first), (k) => runMerkleTask(buffer, k));
      }
      return new Uint8Array(buffer, roots, 32 * tasks.length).slice();
    } finally {
      heap.release(m);
    }
  }

  return {
    name: `wasm-simd128-t${threads}`,
    threads,
    heap,
    matmul: runner.matmul,
    binary: (op, a, ba, b, bb, out) => { if (!vec.binary(op, a, ba, b, bb, out)) binaryReference(op, a, ba, b, bb, out); },
    unary: (op, x, out) => { if (!vec.unary(op, x, out)) unaryReference(op, x, out); },
    reduce: (op, x, out, outer, L, inner) => { if (!vec.reduce(op, x, out, outer, L, inner)) reduceReference(op, x, out, outer, L, inner); },
    gatherStrided: (x, out, shape, strides) => { if (!vec.gatherStrided(x, out, shape, strides)) gatherStridedReference(x, out, shape, strides); },
    gatherRows: (t, idx, row, out) => { if (!vec.gatherRows(t, idx, row, out)) gatherRowsReference(t, idx, row, out); },
    scatterAddRows: (g, idx, row, out) => { if (!vec.scatterAddRows(g, idx, row, out)) scatterAddRowsReference(g, idx, row, out); },
    im2col: (x, geo, out) => { if (!vec.im2col(x, geo, out)) im2colReference(x, geo, out); },
    col2im: (g, geo, out) => { if (!vec.col2im(g, geo, out)) col2imReference(g, geo, out); },
    sumAll: (x) => vec.sumAll(x) ?? sumAllReference(x),
    sumSquares: (x, acc) => vec.sumSquares(x, acc) ?? sumSquaresReference(x, acc),
    gelu: (x, out, th) => { if (!vec.gelu(x, out, th)) geluReference(x, out, th); },
    geluBackward: (x, g, prev, out, th) => { if (!vec.geluBackward(x, g, prev, out, th)) geluBackwardReference(x, g, prev, out, th); },
    layerNorm: (x, gamma, beta, o, y, mu, sd) => { if (!vec.layerNorm(x, gamma, beta, o, y, mu, sd)) layerNormReference(x, gamma, beta, o, y, mu, sd); },
    layerNormBackward: (x, gamma, mu, sd, g, o, prev, out, gGamma, gBeta) => {
      if (!vec.layerNormBackward(x, gamma, mu, sd, g, o, prev, out, gGamma, gBeta)) layerNormBackwardReference(x, gamma, mu, sd, g, o, prev, out, gGamma, gBeta);
    },
    softmax: (x, o, y, e, s) => { if (!vec.softmax(x, o, y, e, s)) softmaxReference(x, o, y, e, s); },
    softmaxBackward: (g, y, e, s, o, prev, out) => { if (!vec.softmaxBackward(g, y, e, s, o, prev, out)) softmaxBackwardReference(g, y, e, s, o, prev, out); },
    adamw: (w, g, m, v, c) => { if (!vec.adamw(w, g, m, v, c)) adamwReference(w, g, m, v, c); },
    sgd: (w, g, buf, c) => { if (!vec.sgd(w, g, buf, c)) sgdReference(w, g, buf, c); },
    allFinite: (x) => vec.allFinite(x) ?? allFiniteReference(x),
    alloc: heap.alloc,
    temp: heap.temp,
    mark: heap.mark,
    release: heap.release,
    ready: async () => { await pool?.ready(); },
    subtreeRoots: pool ? subtreeRoots : undefined,
    idle: () => pool?.park(),
    close: async () => { await pool?.close(); },
  };
}

/** Creates the backend and waits until its worker threads are up. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const be = createWasmBackendSync(opts);
  try {
    await be.ready();
  } catch (e) {
    await be.close();
    throw e;
  }
  return be;
}

let shared: WasmBackend | undefined;

/**
 * The process-wide backend with the default thread count, created synchronously on first call
 * (its workers are unref'd, so it never keeps the process alive). Use closeDefaultBackend() to
 * end its workers explicitly.
 */
export function getDefaultBackend(): WasmBackend {
  shared ??= createWasmBackendSync();
  return shared;
}

export async function closeDefaultBackend(): Promise<void> {
  const be = shared;
  shared = undefined;
  await be?.close();
}
