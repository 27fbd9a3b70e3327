// Running compute tasks (worker.ts) in child processes and reading their report lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VeritrainError } from '../errors.ts';
import type { JobSpec } from '../train/spec.ts';
import type { SolverCheat } from '../verify/dispute/cheats.ts';
import { WORKER_EXEC_ARGV, workerEnv } from './launch.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export type WorkerTask =
  | {
      kind: 'inspect';
      spec: JobSpec;
      baseDir: string;
      threads?: number;
      /** The job's manifest hash on chain: the worker recomputes the manifest and refuses a mismatch. */
      manifestHash?: string;
    }
  | {
      kind: 'train';
      spec: JobSpec;
      baseDir: string;
      outDir: string;
      threads?: number;
      progressMs?: number;
      /** Fault tests only: train the way this cheat says (src/verify/dispute/adversary.ts cheatFor). */
      cheat?: SolverCheat;
    }
  | {
      kind: 'replay';
      spec: JobSpec;
      baseDir: string;
      threads?: number;
      /**
       * Segment `index` from checkpoint `fromPath` (null: the initial state) to step `toStep`; with
       * `probeStep`, the state hash after that step too (a verifier's probe, docs/verification.md §6).
       */
      segments: Array<{ index: number; fromPath: string | null; toStep: number; probeStep?: number }>;
    };

export interface Inspection {
  type: 'inspected';
  specHash: string;
  params: number;
  /** Parameters, gradients and optimizer buffers, in bytes. */
  stateBytes: number;
  datasetBytes: number;
  initStateHash: string;
  /** Wall time of one training step on this machine (the second step run). */
  stepMs: number;
  /** Peak resident memory of the inspecting process (dataset, model and one step's activations). */
  peakRssMiB: number;
  /** The recomputed manifest (0x hex fields) and its hash. */
  manifest: { specHash: string; datasetRoot: string; initState: string; dataOrder: string; schedule: string; program: string };
  manifestHash: string;
  /** False when a manifest hash was given and the recomputed one differs (the job must not be touched). */
  manifestOk: boolean;
}

export type WorkerLine =
  | Inspection
  /** `losses`: every step's loss since the previous step line, ending with `step`'s. */
  | { type: 'step'; step: number; steps: number; loss: number; losses: number[] }
  | { type: 'checkpoint'; step: number; stateHash: string; path: string }
  | { type: 'trained'; finalHash: string; steps: number; resumedFrom: number; testAccuracy?: number; testLoss: number }
  | { type: 'replayed'; index: number; fromStep: number; toStep: number; fromHash: string; endHash: string; probeHash?: string }
  | { type: 'error'; name: string; message: string; details?: string; hint?: string }
  | { type: 'end' };

/** A compute task failed; `workerError` is the error the worker reported, if it got that far. */
export class WorkerError extends VeritrainError {
  override name = 'WorkerError';
  readonly workerError?: string;
  constructor(message: string, opts: { details?: string; hint?: string; workerError?: string } = {}) {
    super(message, opts);
    this.workerError = opts.workerError;
  }
}

export interface RunningTask {
  pid: number;
  /** Resolves with every line once the task ended well; rejects with a WorkerError otherwise. */
  done: Promise<WorkerLine[]>;
  kill(): void;
}

export interface StartTaskOptions {
  onLine?: (line: WorkerLine) => void;
  /** Extra node flags for the worker (e.g. a heap limit). */
  execArgv?: string[];
  /** Where the worker's own stdout/stderr go (default: this process's stderr). */
  log?: (text: string) => void;
}

export function startTask(task: WorkerTask, opts: StartTaskOptions = {}): RunningTask {
  const child: ChildProcess = spawn(process.execPath, [...WORKER_EXEC_ARGV, ...(opts.execArgv ?? []), WORKER, JSON.stringify(task)], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: workerEnv(),
  });
  const lines: WorkerLine[] = [];
  let buf = '';
  let tail = '';
  const keepTail = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
    opts.log?.(b.toString());
  };
  child.stdout!.on('data', keepTail);
  child.stderr!.on('data', keepTail);
  const reports = child.stdio[3] as NodeJS.ReadableStream;
  reports.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: WorkerLine;
      try {
        line = JSON.parse(text) as WorkerLine;
      } catch {
        continue;
      }
      lines.push(line);
      try {
        opts.onLine?.(line);
      } catch {
        // A failing observer must not lose the task's result.
      }
    }
  });
  const done = new Promise<WorkerLine[]>((resolve, reject) => {
    child.once('error', (e) => reject(new WorkerError(`could not start the compute worker: ${e.message}`)));
    child.once('close', (code, signal) => {
      const err = lines.find((l) => l.type === 'error') as Extract<WorkerLine, { type: 'error' }> | undefined;
      if (code === 0 && lines.some((l) => l.type === 'end')) return resolve(lines);
      if (err) {
        return reject(new WorkerError(`${task.kind} failed: ${err.message}`, { details: err.details, hint: err.hint, workerError: err.name }));
      }
      reject(new WorkerError(`${task.kind} worker exited (${signal ?? code})`, { details: tail.trim().slice(-1500) || undefined }));
    });
  });
  done.catch(() => {});
  return {
    pid: child.pid!,
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs a task to its end; returns its lines. */
export function runTask(task: WorkerTask, opts: StartTaskOptions = {}): Promise<WorkerLine[]> {
  return startTask(task, opts).done;
}

/** True when `pid` is a live compute worker of this veritrain (its command line names worker.ts). */
export function isWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(WORKER);
  } catch {
    return false;
  }
}
