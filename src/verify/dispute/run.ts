// One party's computation of a job, as a dispute needs it: the state hash after any step, the
// state preimages around a step, the op trace of a step and the prover of one op. Computed lazily
// by training from the nearest state it has: a state it kept, one of its own checkpoint files (a
// solver's run directory: `checkpoints`), or an agreed state (`startFrom`: after level 0 both sides
// agree on the state at the start of the disputed segment, and any checkpoint file whose recomputed
// state hash equals it is a valid start — the party's own, or the solver's blob fetched over p2p).
// So a party trains only the steps of the segment a dispute reaches, never the job from step 0.
// A run may carry a fault (an op output changed at one step): then it is a faulty solver's actual
// run, and everything it answers is consistent with that run.
import { join } from 'node:path';
import type { Hex } from 'viem';
import { InputError } from '../../errors.ts';
import type { TraceValue } from '../../engine/trace.ts';
import { decodeCheckpoint, loadCheckpoint, readChainFromCheckpoints, statePreimage, type TensorRecord } from '../../train/checkpoint.ts';
import type { JobSpec } from '../../train/spec.ts';
import { prepareJob, restoreState, stateAt, stateTensors, trainStep, type Job } from '../../train/train.ts';
import { sha256Hex } from '../../engine/hash.ts';
import { computeManifest, type ManifestDetails } from '../manifest.ts';
import { decodeOp, OpProver } from '../ops/index.ts';
import { traceStep, type StepTrace } from '../trace.ts';

/** An op output changed in place at one step (trace.ts `mutate`). */
export interface Fault {
  step: number;
  op: number;
  /** Change the output in place (e.g. flip one bit of one element). */
  apply: (output: TraceValue) => void;
  describe: string;
}

/** Flip bit `bit` of element `element` (modulo the output's size) of op `op`'s output at `step`. */
export function bitFlip(step: number, op: number, element: number, bit: number): Fault {
  return {
    step,
    op,
    describe: `bit ${bit} of element ${element} of op ${op} at step ${step}`,
    apply: (out) => {
      const data = out instanceof Int32Array ? out : out.data;
      if (data.length === 0) return;
      const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
      words[element % data.length] ^= 1 << bit;
    },
  };
}

/** A state as a checkpoint holds it: the tensors by name and the optimizer's step count. */
export interface SavedState {
  tensors: TensorRecord;
  optimizerSteps: number;
}

/**
 * States this party computed earlier, e.g. the checkpoint files of a solver's run directory
 * (`runDirectory`). A state is used only if the hash recomputed from it equals the recorded one.
 */
export interface CheckpointSource {
  /** The state hash recorded for each step the source holds (cheap: no tensor data read). */
  hashes(): ReadonlyMap<number, Hex>;
  /** The state after `step` steps, or null. */
  load(step: number): SavedState | null;
}

/**
 * Fetch a checkpoint file (safetensors bytes) that should hold the state after `step` steps with
 * state hash `stateHash` — e.g. the solver's published checkpoint blob, over p2p. Null: not found.
 * Whatever it returns is checked: decoded, restored and its state hash recomputed.
 */
export type CheckpointFetcher = (step: number, stateHash: Hex) => Promise<Uint8Array | null>;

/** The checkpoint files of a run directory (train.ts's `--out`, a solver's `<dataDir>/runs/<jobId>`). */
export function runDirectory(dir: string): CheckpointSource {
  let cached: Map<number, { hash: Hex; file: string }> | undefined;
  const entries = () => {
    if (!cached) {
      cached = new Map();
      for (const e of readChainFromCheckpoints(dir).entries) cached.set(e.step, { hash: `0x${e.stateHash}`, file: e.file });
    }
    return cached;
  };
  return {
    hashes: () => new Map([...entries()].map(([s, e]) => [s, e.hash])),
    load(step) {
      const e = entries().get(step);
      if (!e) return null;
      try {
        return loadCheckpoint(join(dir, e.file));
      } catch {
        return null; // a damaged file is as good as none: the run trains instead
      }
    },
  };
}

/** A source of the kept states of another run (tests: a faulty run is the honest one up to its fault). */
export function keptStates(run: Run, upTo = Infinity): CheckpointSource {
  return {
    hashes: () => new Map([...run.keptSteps()].filter((s) => s <= upTo).map((s) => [s, run.stateHash(s)])),
    load: (step) => (step <= upTo ? run.keptState(step) : null),
  };
}

interface Kept {
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  optimizerSteps: number;
}

export interface RunOptions {
  fault?: Fault;
  /** Steps this run skips: their counters advance, their tensors do not change (a lazy solver). */
  skip?: ReadonlySet<number>;
  /**
   * States this run claims without computing them: after step `s` its state is `force(s)` when that
   * is not null (a solver that makes up its checkpoints; later steps train from the made-up state).
   */
  force?: (step: number) => Record<string, Float32Array> | null;
  /** The manifest details, when the caller has them already (they are the same for every party). */
  details?: ManifestDetails;
  /** Keep the state every `keepEvery` steps (default: the checkpoint interval). */
  keepEvery?: number;
  /**
   * Keep the traces of the last `traces` steps traced, with every op's values captured (default 0:
   * each trace is recomputed, op values captured on demand). For small models, where one trace
   * answers every question about its step.
   */
  traces?: number;
  /** This party's own earlier states (its run directory): used instead of training up to them. */
  checkpoints?: CheckpointSource;
  /** Where `startFrom` looks for an agreed state it does not hold (the solver's checkpoint blobs). */
  fetchCheckpoint?: CheckpointFetcher;
}

export class Run {
  readonly spec: JobSpec;
  readonly baseDir: string;
  readonly details: ManifestDetails;
  readonly fault?: Fault;
  /** Steps this run computed (trained or traced), for the tests and the logs. */
  stepsTrained = 0;
  private readonly skip?: ReadonlySet<number>;
  private readonly force?: RunOptions['force'];
  private readonly job: Job;
  private at = 0; // the job holds the state after `at` steps
  private readonly kept = new Map<number, Kept>();
  private readonly hashes = new Map<number, Hex>();
  private readonly preimages = new Map<number, Uint8Array>();
  private readonly keepEvery: number;
  private readonly traceCache = new Map<number, StepTrace>();
  private readonly traceSlots: number;
  private readonly provers = new Map<string, OpProver>();
  private readonly source?: CheckpointSource;
  private recorded = new Map<number, Hex>();
  private readonly fetch?: CheckpointFetcher;
  private readonly tried = new Map<string, Promise<boolean>>();

  constructor(spec: JobSpec, baseDir: string, opts: RunOptions = {}) {
    this.spec = spec;
    this.baseDir = baseDir;
    this.fault = opts.fault;
    this.skip = opts.skip;
    this.force = opts.force;
    this.details = opts.details ?? computeManifest(spec, baseDir);
    this.job = prepareJob(spec, baseDir);
    this.keepEvery = opts.keepEvery ?? spec.checkpointInterval;
    this.traceSlots = opts.traces ?? 0;
    this.source = opts.checkpoints;
    this.fetch = opts.fetchCheckpoint;
    if (this.source) for (const [s, h] of this.source.hashes()) if (s > 0 && s <= spec.steps) this.recorded.set(s, h);
    this.keep();
    this.hashes.set(0, this.hashNow(0));
  }

  get steps(): number {
    return this.spec.steps;
  }

  /** The state hash after `step` steps (0: the initial state). */
  stateHash(step: number): Hex {
    const h = this.hashes.get(step) ?? this.recorded.get(step);
    if (h) return h;
    this.seek(step);
    return this.hashes.get(step)!;
  }

  /** The state preimage (state hash v2) after `step` steps. */
  preimage(step: number): Uint8Array {
    const p = this.preimages.get(step);
    if (p) return p;
    this.seek(step);
    return this.preimages.get(step)!;
  }

  /** The state hash after each checkpoint: after min((c+1)·interval, steps) steps. */
  checkpointHashes(): Hex[] {
    const k = this.spec.checkpointInterval;
    const n = Math.ceil(this.steps / k);
    return Array.from({ length: n }, (_, c) => this.stateHash(Math.min((c + 1) * k, this.steps)));
  }

  /**
   * Both sides agree that the state after `step` steps has hash `stateHash` (the start of a level-1
   * game): make it a start of this run if a checkpoint with that hash can be had — a kept state, one
   * of this party's own checkpoints, or one `fetchCheckpoint` brings — so that the disputed segment
   * is trained from there. Resolves false when none can (the run then trains from an earlier state).
   * The run's states after `step` are then computed from the agreed one.
   */
  startFrom(step: number, stateHash: Hex): Promise<boolean> {
    const key = `${step}/${stateHash.toLowerCase()}`;
    let p = this.tried.get(key);
    if (!p) this.tried.set(key, (p = this.anchor(step, stateHash.toLowerCase() as Hex)));
    return p;
  }

  private async anchor(step: number, want: Hex): Promise<boolean> {
    if (!Number.isSafeInteger(step) || step < 0 || step > this.steps) return false;
    const mine = this.hashes.get(step) ?? this.recorded.get(step);
    if (mine && mine.toLowerCase() !== want) return false; // this run has another state there: keep to it
    if (this.kept.has(step) && mine) return true;
    if (this.recorded.get(step)?.toLowerCase() === want && this.useSource(step)) return true;
    if (!this.fetch) return false;
    let bytes: Uint8Array | null;
    try {
      bytes = await this.fetch(step, want);
    } catch {
      return false;
    }
    if (!bytes) return false;
    let state: SavedState;
    try {
      const c = decodeCheckpoint(bytes, `checkpoint of step ${step}`);
      if (c.step !== step || c.specHash !== this.job.specHash) return false;
      state = c;
    } catch {
      return false;
    }
    return this.adopt(step, state, want);
  }

  /** The steps whose states this run keeps. */
  keptSteps(): number[] {
    return [...this.kept.keys()].sort((a, b) => a - b);
  }

  /** A kept state (a copy), or null. */
  keptState(step: number): SavedState | null {
    const k = this.kept.get(step);
    if (!k) return null;
    const tensors: TensorRecord = {};
    for (const [n, t] of Object.entries(k.tensors)) tensors[n] = { shape: [...t.shape], data: t.data.slice() };
    return { tensors, optimizerSteps: k.optimizerSteps };
  }

  /** The op trace of step `step` (0-based: from the state after `step` steps), with op values captured. */
  trace(step: number, capture: number[] = []): StepTrace {
    const hit = this.traceCache.get(step);
    if (hit && capture.every((j) => hit.captured.has(j))) return hit;
    this.seek(step);
    const mutate = this.fault?.step === step ? this.mutator() : undefined;
    const all = this.traceSlots > 0 ? this.details.program.ops.map((o) => o.index) : capture;
    const t = traceStep(this.job, step, { program: this.details.program, capture: all, mutate });
    this.stepsTrained++;
    this.advanced(step + 1);
    if (this.traceSlots > 0) {
      if (this.traceCache.size >= this.traceSlots) this.traceCache.delete(this.traceCache.keys().next().value!);
      this.traceCache.set(step, t);
    }
    return t;
  }

  /** The prover of op `op` of step `step`: the op's inputs as this run has them and its claimed output. */
  prover(step: number, op: number): OpProver {
    const key = `${step}/${op}`;
    let p = this.provers.get(key);
    if (p) return p;
    const t = this.trace(step, [op]);
    const c = t.captured.get(op)!;
    const d = decodeOp(this.details.program.ops[op].descriptor);
    p = new OpProver(d, c.inputs.map((v) => v.data), { output: c.output.data });
    if (this.provers.size >= 8) this.provers.delete(this.provers.keys().next().value!);
    this.provers.set(key, p);
    return p;
  }

  // Train forward (or restore the nearest state at or before `step` and train forward) to the state after `step` steps.
  private seek(step: number): void {
    if (!Number.isSafeInteger(step) || step < 0 || step > this.steps) throw new InputError(`step ${step} outside 0..${this.steps}`);
    let from = -1;
    for (const s of this.kept.keys()) if (s <= step && s > from) from = s;
    let file = -1;
    for (const s of this.recorded.keys()) if (s <= step && s > from && s > file && !this.kept.has(s)) file = s;
    const here = this.at <= step ? this.at : -1;
    if (file > here && file > from && this.useSource(file)) from = file;
    if (step < this.at || from > this.at) {
      const k = this.kept.get(from)!;
      restoreState(this.job, k.tensors, k.optimizerSteps);
      this.at = from;
    }
    while (this.at < step) {
      const s = this.at;
      if (this.skip?.has(s)) this.job.optimizer.state.t++;
      else if (this.fault?.step === s) traceStep(this.job, s, { program: this.details.program, commits: false, mutate: this.mutator() });
      else trainStep(this.job, s);
      this.stepsTrained++;
      const forced = this.force?.(s + 1);
      if (forced) for (const [n, t] of Object.entries(stateTensors(this.job))) t.data.set(forced[n]);
      this.advanced(s + 1);
    }
    if (!this.preimages.has(step)) this.hashes.set(step, this.hashNow(step));
  }

  // Load the state of the own checkpoint at `step` as a kept state, if its hash is the recorded one.
  private useSource(step: number): boolean {
    const s = this.source?.load(step);
    const want = this.recorded.get(step);
    if (!s || !want) {
      this.recorded.delete(step);
      return false;
    }
    const ok = this.adopt(step, s, want.toLowerCase() as Hex);
    if (!ok) this.recorded.delete(step);
    return ok;
  }

  // Restore `s` as the state after `step` steps; keep it if its recomputed hash is `want`.
  private adopt(step: number, s: SavedState, want: Hex): boolean {
    try {
      restoreState(this.job, s.tensors, s.optimizerSteps);
    } catch {
      this.at = Number.MAX_SAFE_INTEGER; // the job's state is unknown now: the next seek restores a kept one
      return false;
    }
    const h = this.hashNow(step);
    if (h.toLowerCase() !== want) {
      this.at = Number.MAX_SAFE_INTEGER;
      return false;
    }
    this.at = step;
    this.hashes.set(step, h);
    this.keep();
    return true;
  }

  private mutator() {
    const f = this.fault!;
    return (index: number, out: TraceValue) => {
      if (index === f.op) f.apply(out);
    };
  }

  // The job holds the state after `step` steps: its hash (and preimage, kept: 87 + 64 bytes a tensor).
  private hashNow(step: number): Hex {
    const pre = statePreimage(stateAt(this.job, step));
    if (this.preimages.size >= 256) this.preimages.delete(this.preimages.keys().next().value!);
    this.preimages.set(step, pre);
    return `0x${sha256Hex(pre)}`;
  }

  private advanced(to: number): void {
    this.at = to;
    this.hashes.set(to, this.hashNow(to));
    if (to % this.keepEvery === 0 || to === this.steps) this.keep();
  }

  private keep(): void {
    if (this.kept.has(this.at)) return;
    const tensors: Kept['tensors'] = {};
    for (const [n, t] of Object.entries(stateTensors(this.job))) tensors[n] = { shape: [...t.shape], data: t.data.slice() };
    this.kept.set(this.at, { tensors, optimizerSteps: this.job.optimizer.state.t });
  }
}
