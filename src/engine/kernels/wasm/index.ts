// The fast backend: the WebAssembly SIMD128 matmul (kernel.ts, matmul.wat.ts) with a Node
// worker-thread pool (pool.ts), and the elementwise kernels (vec.ts, vec.wat.ts). Bit-identical to matmulReference for any shape and thread count.
//
//   const be = await createWasmBackend({ threads: 2 }); be.matmul(a, b, c, params); await be.close();
//   const be = createWasmBackendSync({ threads: 2 });   // same, workers finish starting on first use
//   getDefaultBackend()                                 // one shared instance, created on first call
import { availableParallelism } from 'node:os';
import type { Backend } from '../backend.ts';
import { InputError } from '../../../errors.ts';
import { compileKernel, createKernelMemory, createMatmulRunner, instantiateKernel, MAX_THREADS, type KernelTuning } from './kernel.ts';
import { createThreadPool, type ThreadPool } from './pool.ts';
import { createVecKernels } from './vec.ts';

export interface WasmBackendOptions {
  /** Threads per matmul call, the calling thread included (default: available cores, at most 8). */
  threads?: number;
  /** Upper bound of the kernel's shared memory in MiB (default 4096, the wasm32 limit). */
  maxMemoryMiB?: number;
  /** Speed-only knobs; results never depend on them. */
  tuning?: Partial<KernelTuning>;
  /** Polls a worker makes before it sleeps between calls (default 20000, about 0.1 ms). */
  spin?: number;
}

export interface WasmBackend extends Backend {
  /** Threads per call, the calling thread included. */
  readonly threads: number;
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
  const module = compileKernel();
  const memory = createKernelMemory(opts.maxMemoryMiB);
  const gemm = instantiateKernel(module, memory);
  const pool: ThreadPool | undefined = threads > 1 ? createThreadPool(module, memory, threads - 1, { spin: opts.spin }) : undefined;
  const runner = createMatmulRunner({ memory, gemm, threads, dispatch: pool?.dispatch, tuning: opts.tuning });
  const vec = createVecKernels();
  return {
    name: `wasm-simd128-t${threads}`,
    threads,
    matmul: runner.matmul,
    adamw: vec.adamw,
    sgd: vec.sgd,
    allFinite: vec.allFinite,
    alloc: vec.alloc,
    ready: async () => { await pool?.ready(); },
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
