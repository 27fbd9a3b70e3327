// A kernel worker thread (Node worker_threads): sleeps on its generation word, then takes chunks of
// the job in the control block (a matmul or an elementwise kernel) until none are left. See pool.ts
// for the protocol.
import { workerData } from 'node:worker_threads';
import { CTL, MSG_BYTES, genIndex, instantiateKernel, readJob, runShare } from './kernel.ts';
import { KIND_MERKLE, runMerkleTask, warmMerkle } from './merkle.ts';
import { takeChunks, type PoolModules } from './pool.ts';
import { instantiateVec, runVecShare, VARGS_BYTE } from './vec.ts';
import type { WasmMemory } from './wasm-api.ts';

interface WorkerInit {
  modules: PoolModules;
  memory: WasmMemory;
  index: number; // thread number, 1..threads-1 (0 is the calling thread)
  spin: number; // polls of the generation word before sleeping
}

const { modules, memory, index, spin } = workerData as WorkerInit;
const matmul = instantiateKernel(modules.matmul, memory);
const vec = instantiateVec(modules.vec, memory);
const ctl = new Int32Array(memory.buffer, 0, CTL.GEN + 16 * 64);
const args = new Float64Array(memory.buffer, VARGS_BYTE, 14);
const gi = genIndex(index);
const pause: (n?: number) => void = (Atomics as unknown as { pause?: (n?: number) => void }).pause ?? (() => {});

function reportError(e: unknown): void {
  const text = new TextEncoder().encode(`worker ${index}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`).subarray(0, MSG_BYTES - 4);
  if (Atomics.compareExchange(ctl, CTL.ERROR, 0, 1) === 0) {
    new Uint8Array(memory.buffer, CTL.MSG * 4 + 4, text.length).set(text);
    ctl[CTL.MSG] = text.length;
  }
}

let gen = Atomics.load(ctl, gi);
// PARK as it was when the current job came: a park() from then on (even one made before this worker
// finished its last chunk) ends the polling that follows the job.
let parked = Atomics.load(ctl, CTL.PARK);
Atomics.add(ctl, CTL.READY, 1);
Atomics.notify(ctl, CTL.READY);
warmMerkle(); // the first state hash then runs at full speed (a job that comes meanwhile waits ~1 ms)
for (;;) {
  for (let s = 0; s < spin && Atomics.load(ctl, gi) === gen && Atomics.load(ctl, CTL.PARK) === parked; s++) pause();
  Atomics.wait(ctl, gi, gen);
  const g = Atomics.load(ctl, gi);
  if (g === gen) continue;
  gen = g;
  parked = Atomics.load(ctl, CTL.PARK);
  if (Atomics.load(ctl, CTL.QUIT)) break;
  // The descriptor is read per chunk, after the chunk is ours (pool.ts).
  takeChunks(ctl, (c) => {
    const kind = ctl[CTL.KIND];
    if (kind === 0) runShare(matmul, readJob(ctl), c);
    else if (kind === KIND_MERKLE) runMerkleTask(memory.buffer, c);
    else runVecShare(vec, ctl, args, c);
  }, reportError);
}
