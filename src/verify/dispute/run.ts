// One party's computation of a job, as a dispute needs it: the state hash after any step, the
// state preimages around a step, the op trace of a step and the prover of one op. Computed lazily
// by training from the nearest kept state (the job's initial state, or a kept checkpoint), so a
// party only ever trains up to the segments a dispute reaches. A run may carry a fault (an op
// output changed at one step): then it is a faulty solver's actual run, and everything it answers is
// consistent with that run.
import type { Hex } from 'viem';
import { InputError } from '../../errors.ts';
import type { TraceValue } from '../../engine/trace.ts';
import { statePreimage } from '../../train/checkpoint.ts';
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
}

export class Run {
  readonly spec: JobSpec;
  readonly baseDir: string;
  readonly details: ManifestDetails;
  readonly fault?: Fault;
  private readonly skip?: ReadonlySet<number>;
  private readonly force?: RunOptions['force'];
  private readonly job: Job;
  private at = 0; // the job holds the state after `at` steps
  private readonly kept = new Map<number, Kept>();
  private readonly hashes = new Map<number, Hex>();
  private readonly keepEvery: number;
  private readonly traceCache = new Map<number, StepTrace>();
  private readonly traceSlots: number;

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
    this.keep();
  }

  get steps(): number {
    return this.spec.steps;
  }

  /** The state hash after `step` steps (0: the initial state). */
  stateHash(step: number): Hex {
    const h = this.hashes.get(step);
    if (h) return h;
    this.seek(step);
    return this.hashes.get(step)!;
  }

  /** The state preimage (state hash v2) after `step` steps. */
  preimage(step: number): Uint8Array {
    this.seek(step);
    return statePreimage(stateAt(this.job, step));
  }

  /** The state hash after each checkpoint: after min((c+1)·interval, steps) steps. */
  checkpointHashes(): Hex[] {
    const k = this.spec.checkpointInterval;
    const n = Math.ceil(this.steps / k);
    return Array.from({ length: n }, (_, c) => this.stateHash(Math.min((c + 1) * k, this.steps)));
  }

  /** The op trace of step `step` (0-based: from the state after `step` steps), with op values captured. */
  trace(step: number, capture: number[] = []): StepTrace {
    const hit = this.traceCache.get(step);
    if (hit && capture.every((j) => hit.captured.has(j))) return hit;
    this.seek(step);
    const mutate = this.fault?.step === step ? this.mutator() : undefined;
    const all = this.traceSlots > 0 ? this.details.program.ops.map((o) => o.index) : capture;
    const t = traceStep(this.job, step, { program: this.details.program, capture: all, mutate });
    this.advanced(step + 1);
    if (this.traceSlots > 0) {
      if (this.traceCache.size >= this.traceSlots) this.traceCache.delete(this.traceCache.keys().next().value!);
      this.traceCache.set(step, t);
    }
    return t;
  }

  /** The prover of op `op` of step `step`: the op's inputs as this run has them and its claimed output. */
  prover(step: number, op: number): OpProver {
    const t = this.trace(step, [op]);
    const c = t.captured.get(op)!;
    const d = decodeOp(this.details.program.ops[op].descriptor);
    return new OpProver(d, c.inputs.map((v) => v.data), { output: c.output.data });
  }

  // Train forward (or restore a kept state and train forward) to the state after `step` steps.
  private seek(step: number): void {
    if (!Number.isSafeInteger(step) || step < 0 || step > this.steps) throw new InputError(`step ${step} outside 0..${this.steps}`);
    if (step < this.at) {
      let from = 0;
      for (const s of this.kept.keys()) if (s <= step && s > from) from = s;
      const k = this.kept.get(from)!;
      restoreState(this.job, k.tensors, k.optimizerSteps);
      this.at = from;
    }
    while (this.at < step) {
      const s = this.at;
      if (this.skip?.has(s)) this.job.optimizer.state.t++;
      else if (this.fault?.step === s) traceStep(this.job, s, { program: this.details.program, commits: false, mutate: this.mutator() });
      else trainStep(this.job, s);
      const forced = this.force?.(s + 1);
      if (forced) for (const [n, t] of Object.entries(stateTensors(this.job))) t.data.set(forced[n]);
      this.advanced(s + 1);
    }
    if (!this.hashes.has(step)) this.hashes.set(step, `0x${sha256Hex(statePreimage(stateAt(this.job, step)))}`);
  }

  private mutator() {
    const f = this.fault!;
    return (index: number, out: TraceValue) => {
      if (index === f.op) f.apply(out);
    };
  }

  private advanced(to: number): void {
    this.at = to;
    this.hashes.set(to, `0x${sha256Hex(statePreimage(stateAt(this.job, to)))}`);
    if (to % this.keepEvery === 0 || to === this.steps) this.keep();
  }

  private keep(): void {
    if (this.kept.has(this.at)) return;
    const tensors: Kept['tensors'] = {};
    for (const [n, t] of Object.entries(stateTensors(this.job))) tensors[n] = { shape: [...t.shape], data: t.data.slice() };
    this.kept.set(this.at, { tensors, optimizerSteps: this.job.optimizer.state.t });
  }
}
