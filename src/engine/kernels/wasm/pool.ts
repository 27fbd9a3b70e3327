// The Node thread pool behind the WASM kernels: worker_threads sharing the heap's memory, driven
// synchronously from the calling thread with Atomics (the engine is synchronous).
//
// Protocol, over the control block of kernel.ts. A job is cut into chunks; any participant takes
// the next chunk by a compare-and-swap on CLAIM = epoch | chunks | next, runs it, and counts it in
// COMPLETED. So a worker that is late (asleep, or descheduled on a busy machine) costs nothing: the
// others take its chunks, and the caller waits only for chunks actually taken.
//   caller: writes the job (KIND and its descriptor), COMPLETED = 0, publishes CLAIM with a new
//           epoch, bumps GEN[w] and notifies worker w for w = 1..T-1, takes chunks until none are
//           left, then polls and finally waits (Atomics.wait) until COMPLETED = chunks.
//   worker: polls, then sleeps on GEN[w]; on a new generation takes chunks until none are left.
//           A bump of PARK (park()) ends the polling early: the worker sleeps at once.
// A worker reads the descriptor only after it owns a chunk, and the caller rewrites it only after
// every chunk is done, so a worker can never mix two jobs (a stale claim attempt fails its CAS).
// Atomics give the ordering: the caller's writes of the operands happen before the CLAIM store,
// the workers' writes of their outputs before their COMPLETED increment.
// In a browser the same protocol runs with Web Workers; the caller must then itself be a worker,
// since a page's main thread may not Atomics.wait.
import { Worker } from 'node:worker_threads';
import { VeritrainError } from '../../../errors.ts';
import { CTL, MAX_CHUNKS, MSG_BYTES, genIndex, type Dispatch } from './kernel.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

export interface ThreadPool {
  /** Worker threads (the calling thread is not counted). */
  readonly workers: number;
  readonly dispatch: Dispatch;
  /** Resolves when every worker has started. */
  ready(): Promise<void>;
  /**
   * Workers still polling for the next job stop and sleep until it comes, leaving their cores to
   * other threads (call before other parallel work between kernel calls, e.g. hashing a state).
   */
  park(): void;
  /** Ends the workers. The pool must not be used afterwards. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Polls a worker makes of its generation word before it sleeps, and the caller of COMPLETED (speed only). */
  spin?: number;
  /** How long a synchronous first call waits for the workers to start. */
  startTimeoutMs?: number;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

/**
 * The parent's Node flags minus those for its own entry point (`--input-type`, `-e`), which make
 * a worker fail to load; undefined (inherit, which Node filters itself) when there are none.
 */
export function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv;
  const entryFlag = (a: string): boolean => a.startsWith('--input-type') || ['-e', '--eval', '-p', '--print'].includes(a);
  if (!argv.some(entryFlag)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--input-type')) continue;
    if (entryFlag(argv[i])) { i++; continue; } // and its script
    out.push(argv[i]);
  }
  return out;
}

/** The compiled kernel modules every worker instantiates over the shared memory. */
export interface PoolModules {
  matmul: WasmModule;
  vec: WasmModule;
}

const pause: (n?: number) => void = (Atomics as unknown as { pause?: (n?: number) => void }).pause ?? (() => {});

/**
 * Takes and runs chunks of the current job until none are left (caller and workers alike); each
 * finished chunk counts in COMPLETED, and the last one wakes the caller.
 */
export function takeChunks(ctl: Int32Array, run: (chunk: number) => void, onError?: (e: unknown) => void): void {
  for (;;) {
    const w = Atomics.load(ctl, CTL.CLAIM);
    const next = w & 0xfff, chunks = (w >>> 12) & 0xfff;
    if (next >= chunks) return;
    if (Atomics.compareExchange(ctl, CTL.CLAIM, w, w + 1) !== w) continue;
    try {
      run(next);
    } catch (e) {
      if (!onError) {
        if (Atomics.add(ctl, CTL.COMPLETED, 1) + 1 === chunks) Atomics.notify(ctl, CTL.COMPLETED);
        throw e;
      }
      onError(e);
    }
    if (Atomics.add(ctl, CTL.COMPLETED, 1) + 1 === chunks) Atomics.notify(ctl, CTL.COMPLETED);
  }
}

export function createThreadPool(modules: PoolModules, memory: WasmMemory, workers: number, opts: PoolOptions = {}): ThreadPool {
  const spin = opts.spin ?? 20000;
  const startTimeoutMs = opts.startTimeoutMs ?? 15000;
  const ctl = new Int32Array(memory.buffer, 0, genIndex(workers + 1));
  let failure: Error | undefined;
  let closed = false;
  let started = false;

  const threads: Worker[] = [];
  for (let w = 1; w <= workers; w++) {
    const worker = new Worker(WORKER_URL, { workerData: { modules, memory, index: w, spin }, execArgv: workerExecArgv() });
    worker.unref(); // an idle pool never keeps the process alive
    worker.on('error', (e) => { failure ??= e; });
    worker.on('exit', (code) => { if (!closed) failure ??= new Error(`matmul worker ${w} exited with code ${code}`); });
    threads.push(worker);
  }

  function fail(what: string, cause?: unknown): never {
    throw new VeritrainError(`WASM matmul thread pool: ${what}`, {
      cause,
      hint: 'create the backend with { threads: 1 } to run without worker threads',
    });
  }

  function waitStartedSync(): void {
    const deadline = Date.now() + startTimeoutMs;
    for (let n = Atomics.load(ctl, CTL.READY); n < workers; n = Atomics.load(ctl, CTL.READY)) {
      const left = deadline - Date.now();
      if (left <= 0) fail(`only ${n} of ${workers} workers started within ${startTimeoutMs} ms`, failure);
      Atomics.wait(ctl, CTL.READY, n, Math.min(left, 100));
    }
    started = true;
  }

  let epoch = 0;

  function dispatch(T: number, chunks: number, local: (chunk: number) => void): void {
    if (closed) fail('used after close()');
    if (failure) fail('a worker failed', failure);
    if (T - 1 > workers) fail(`job wants ${T} threads, pool has ${workers + 1}`);
    if (!(chunks >= 1 && chunks <= MAX_CHUNKS)) fail(`job of ${chunks} chunks`);
    if (!started) waitStartedSync();
    Atomics.store(ctl, CTL.COMPLETED, 0);
    epoch = (epoch + 1) & 0xff;
    Atomics.store(ctl, CTL.CLAIM, (epoch << 24) | (chunks << 12));
    for (let w = 1; w < T; w++) {
      Atomics.add(ctl, genIndex(w), 1);
      Atomics.notify(ctl, genIndex(w), 1);
    }
    let localError: unknown;
    try {
      takeChunks(ctl, local);
    } catch (e) {
      localError = e; // still wait: the workers are using the memory
    }
    // Chunks taken by workers take about as long as ours: poll a while before sleeping.
    for (let s = 0; s < spin && Atomics.load(ctl, CTL.COMPLETED) < chunks; s++) pause();
    for (let d = Atomics.load(ctl, CTL.COMPLETED); d < chunks; d = Atomics.load(ctl, CTL.COMPLETED)) Atomics.wait(ctl, CTL.COMPLETED, d);
    if (Atomics.load(ctl, CTL.ERROR)) {
      const len = ctl[CTL.MSG];
      const msg = new TextDecoder().decode(new Uint8Array(memory.buffer, CTL.MSG * 4 + 4, Math.min(len, MSG_BYTES)).slice());
      Atomics.store(ctl, CTL.ERROR, 0);
      fail('a worker failed', new Error(msg));
    }
    if (localError !== undefined) throw localError;
  }

  async function ready(): Promise<void> {
    // Atomics.waitAsync alone does not keep Node's event loop alive: hold the workers meanwhile.
    for (const t of threads) t.ref();
    try {
      for (let n = Atomics.load(ctl, CTL.READY); n < workers; n = Atomics.load(ctl, CTL.READY)) {
        if (failure) fail('a worker failed to start', failure);
        const r = Atomics.waitAsync(ctl, CTL.READY, n, 50);
        if (r.async) await r.value;
      }
    } finally {
      for (const t of threads) t.unref();
    }
    started = true;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    Atomics.store(ctl, CTL.QUIT, 1);
    for (let w = 1; w <= workers; w++) {
      Atomics.add(ctl, genIndex(w), 1);
      Atomics.notify(ctl, genIndex(w));
    }
    await Promise.all(threads.map((t) => t.terminate()));
  }

  function park(): void {
    Atomics.add(ctl, CTL.PARK, 1);
  }

  return { workers, dispatch, ready, park, close };
}
