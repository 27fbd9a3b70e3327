// The configurable cheating node of the adversary tests (issue 4): each cheat is a party whose run
// of the job differs from the honest one in one documented way, or a party that answers without
// computing at all. The dispute driver plays it like any other party; where its story cannot be
// shown to a judge, its judge call is refused and the deadline decides.
import { keccak256, toHex, zeroAddress, type Address, type Hex } from 'viem';
import { randomU32s, rngStream } from '../../engine/rng.ts';
import type { TraceValue } from '../../engine/trace.ts';
import type { JobSpec } from '../../train/spec.ts';
import { genesisLink } from '../../train/checkpoint.ts';
import { batchAt, checkpointAt, prepareJob, restoreState, stateTensors } from '../../train/train.ts';
import { computeManifest, type ManifestDetails } from '../manifest.ts';
import type { OpProver } from '../ops/index.ts';
import type { NodeCheat } from './cheats.ts';
import { RunParty, type Party } from './party.ts';
import { bitFlip, Run, type Fault } from './run.ts';

export type Cheat =
  /** Never trains: every state after step 0 is made of random numbers (well-formed, right shapes). */
  | { kind: 'fake-work'; seed?: number }
  /** One bit of one op's output flipped at one step; the run continues from there. */
  | { kind: 'bit-flip'; step: number; op: number; element: number; bit: number }
  /** Skips these steps (counters advance, weights do not). */
  | { kind: 'skip'; steps: number[] }
  /** Trains step `step` on the batch of step `step + 1`. */
  | { kind: 'wrong-batch'; step: number }
  /** Adds `delta` to every element of one optimizer update's output (op `op`, an adamwW/sgdW) at `step`. */
  | { kind: 'wrong-update'; step: number; op: number; delta?: number }
  /** Answers level 0 with another solver's leaves (copied commitments) and can show nothing. */
  | { kind: 'copy'; leaves: Hex[] }
  /** Computes nothing: answers every question with made-up hashes and can show nothing (a lazy verifier). */
  | { kind: 'lazy'; seed?: number };

export interface CheatContext {
  spec: JobSpec;
  baseDir: string;
  details: ManifestDetails;
  jobId: bigint;
  solver: Address;
}

/** A party that plays `cheat`. */
export function cheatingParty(cheat: Cheat, x: CheatContext): Party {
  const run = (o: ConstructorParameters<typeof Run>[2]) => new RunParty(new Run(x.spec, x.baseDir, { details: x.details, traces: 4, ...o }), x.jobId, x.solver);
  switch (cheat.kind) {
    case 'fake-work': {
      const job = prepareJob(x.spec, x.baseDir);
      const shapes = Object.entries(stateTensors(job)).map(([n, t]) => [n, t.data.length] as const);
      return run({
        force: (step) => {
          const u = randomU32s(rngStream(cheat.seed ?? 1, `fake ${step}`), 0, shapes.reduce((a, [, n]) => a + n, 0));
          const out: Record<string, Float32Array> = {};
          let o = 0;
          for (const [n, len] of shapes) {
            out[n] = Float32Array.from(u.subarray(o, o + len), (w) => (w / 2 ** 32 - 0.5) * 0.2);
            o += len;
          }
          return out;
        },
      });
    }
    case 'bit-flip':
      return run({ fault: bitFlip(cheat.step, cheat.op, cheat.element, cheat.bit) });
    case 'skip':
      return run({ skip: new Set(cheat.steps) });
    case 'wrong-batch': {
      const other = batchAt(prepareJob(x.spec, x.baseDir), cheat.step + 1);
      const fault: Fault = {
        step: cheat.step,
        op: 0, // the batch's inputs: the first op of every step's program (gather of data.x / windows of data.tokens)
        describe: `the batch of step ${cheat.step + 1} at step ${cheat.step}`,
        apply: (out: TraceValue) => (out instanceof Int32Array ? out.set(other.x as Int32Array) : out.data.set(other.x as Float32Array)),
      };
      return run({ fault });
    }
    case 'wrong-update': {
      const fault: Fault = {
        step: cheat.step,
        op: cheat.op,
        describe: `optimizer update op ${cheat.op} off by ${cheat.delta ?? 1e-3} at step ${cheat.step}`,
        apply: (out: TraceValue) => {
          if (out instanceof Int32Array) return;
          for (let i = 0; i < out.data.length; i++) out.data[i] += cheat.delta ?? 1e-3;
        },
      };
      return run({ fault });
    }
    case 'copy':
      return madeUp(x, 'copy', (c) => cheat.leaves[c], () => cheat.leaves);
    case 'lazy':
      return madeUp(x, `lazy ${cheat.seed ?? 0}`);
  }
}

/** A party that has computed nothing: made-up leaves, no judge proof, no prover. */
function madeUp(x: CheatContext, tag: string, level0?: (c: number) => Hex, all?: () => Hex[]): Party {
  const h = (s: string) => keccak256(toHex(`${tag} ${s}`));
  const n = Math.ceil(x.spec.steps / x.spec.checkpointInterval);
  return {
    jobId: x.jobId,
    solver: x.solver,
    level0Leaf: (c) => level0?.(c) ?? h(`checkpoint ${c}`),
    level0Leaves: () => all?.() ?? Array.from({ length: n }, (_, c) => h(`checkpoint ${c}`)),
    level0Proof: () => null,
    level1Leaf: (step) => h(`step ${step}`),
    level1Proof: () => null,
    level2Leaf: (step, op) => h(`op ${step} ${op}`),
    level2Proof: () => null,
    opProver: (): OpProver | null => null,
  };
}

// ---- cheats a node daemon plays (`veritrain node --fault cheats=...`, fault tests only) --------

/**
 * The trained cheat behind a daemon's cheat name, with its place chosen from the job alone (so the
 * training worker and the dispute process, in different processes, lie the same way): a step in
 * the middle of the run, the last matmul of that step (a weight gradient) or the first optimizer
 * update. `silent` is a bit flip whose solver stops answering at the op level; the griefs are the
 * stories a griefing challenger defends (loud: a bit flip; silent: a skipped step, silent from the
 * step level on).
 */
export function cheatFor(name: NodeCheat, spec: JobSpec, baseDir: string, details: ManifestDetails): Cheat {
  const step = Math.max(1, Math.min(spec.steps - 2, Math.floor(spec.steps / 2) + 3));
  const ops = details.program.ops;
  const flip = (at: number): Cheat => {
    const op = ops.filter((o) => o.kind === 'matmul').at(-1)!.index;
    // The sign bit of the op's largest output element: a zero's sign may not reach the weights.
    const out = new Run(spec, baseDir, { details }).trace(at, [op]).captured.get(op)!.output.data;
    let element = 0;
    for (let i = 1; i < out.length; i++) if (Math.abs(out[i]) > Math.abs(out[element])) element = i;
    return { kind: 'bit-flip', step: at, op, element, bit: 31 };
  };
  switch (name) {
    case 'fake-work':
      return { kind: 'fake-work', seed: 1 };
    case 'bit-flip':
    case 'silent':
      return flip(step);
    case 'grief-loud':
      return flip(Math.max(1, step - 2));
    case 'skip':
      return { kind: 'skip', steps: [step, step + 1] };
    case 'grief-silent':
      return { kind: 'skip', steps: [Math.max(1, step - 1)] };
    case 'wrong-batch':
      return { kind: 'wrong-batch', step };
    case 'wrong-update': {
      const op = ops.find((o) => o.kind === 'adamwW' || o.kind === 'sgdW')!.index;
      return { kind: 'wrong-update', step, op };
    }
    case 'copy':
      throw new Error('a copying solver trains nothing: it has no trained cheat');
  }
}

/**
 * Trains `spec` the way `cheat` says and writes its checkpoints into `outDir` like train() does
 * (safetensors with the hash chain): the states a cheating solver publishes and commits to, the
 * same ones its dispute party (cheatingParty with the same cheat) answers from.
 */
export function trainAsCheat(
  spec: JobSpec,
  baseDir: string,
  outDir: string,
  cheat: Cheat,
  onCheckpoint: (c: { step: number; stateHash: string; path: string }) => void,
  details = computeManifest(spec, baseDir),
): { finalHash: string; steps: number } {
  if (cheat.kind === 'copy' || cheat.kind === 'lazy') throw new Error(`a ${cheat.kind} cheat trains nothing`);
  const party = cheatingParty(cheat, { spec, baseDir, details, jobId: 0n, solver: zeroAddress }) as RunParty;
  const job = prepareJob(spec, baseDir);
  let link = genesisLink(job.specHash);
  let finalHash = '';
  const k = spec.checkpointInterval;
  for (let step = Math.min(k, spec.steps); ; step = Math.min(step + k, spec.steps)) {
    const hash = party.run.stateHash(step);
    const state = party.run.keptState(step)!;
    restoreState(job, state.tensors, state.optimizerSteps);
    const c = checkpointAt(job, outDir, step, link);
    if (`0x${c.stateHash}` !== hash) throw new Error(`the cheat's checkpoint at step ${step} does not hash to its run's state`);
    link = c.link;
    finalHash = c.stateHash;
    onCheckpoint({ step, stateHash: c.stateHash, path: c.path });
    if (step === spec.steps) break;
  }
  return { finalHash, steps: spec.steps };
}
