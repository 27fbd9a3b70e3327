// What one side of a dispute answers at each level: its leaves, the proof data of its judge calls
// and, for levels 3–4, its op prover. An honest party answers from its own run of the job; the
// adversary tests build parties that lie (adversary.ts). `null` means "I cannot show this": the
// driver then makes no move, and the deadline decides.
import type { Address, Hex } from 'viem';
import type { OpProver } from '../ops/index.ts';
import { checkpointLeaf, checkpointProof, level2Leaves, opProof, outputRootOf, stepProof } from './proofs.ts';
import type { StepTrace } from '../trace.ts';
import type { Run } from './run.ts';

export interface Party {
  readonly jobId: bigint;
  /** The solver the job's checkpoint leaves are bound to. */
  readonly solver: Address;
  /** Level 0: the leaf of checkpoint c (0-based) and, as the defender, every leaf (for Merkle proofs). */
  level0Leaf(c: number): Hex;
  level0Leaves(): Hex[];
  level0Proof(c: number): Hex | null;
  /** Level 1: the state hash after `step` steps; the judge's proof data for step `step` (0-based). */
  level1Leaf(step: number): Hex;
  level1Proof(step: number): Hex | null;
  /** Level 2: memory root after op j of step s; the judge's proof data for op j. */
  level2Leaf(step: number, op: number): Hex;
  level2Proof(step: number, op: number): Hex | null;
  /** Levels 3–4: the op's prover. */
  opProver(step: number, op: number): OpProver | null;
  /**
   * Both sides agree on the state after `step` steps (the start of a level-1 game): a party may
   * take it as its start instead of computing up to it (Run.startFrom). Optional.
   */
  agreed?(step: number, stateHash: Hex): Promise<boolean>;
}

// Per trace (a run keeps its recent traces, so parties of many disputes share them): the level-2
// leaves and the level-2 judge calls already built.
const leavesOf = new WeakMap<StepTrace, Hex[]>();
const proofsOf = new WeakMap<StepTrace, Map<number, Hex>>();

/** The checkpoint boundaries of a job: checkpoint c is the state after min((c+1)·interval, steps) steps. */
export function boundary(run: Run, c: number): number {
  return Math.min((c + 1) * run.spec.checkpointInterval, run.steps);
}

/** A party that answers from its own run (an honest one, or a faulty one that is consistent with its fault). */
export class RunParty implements Party {
  readonly jobId: bigint;
  readonly solver: Address;
  readonly run: Run;
  private readonly l2 = new Map<number, Hex[]>();

  constructor(run: Run, jobId: bigint, solver: Address) {
    this.run = run;
    this.jobId = jobId;
    this.solver = solver;
  }

  level0Leaf(c: number): Hex {
    return checkpointLeaf(this.jobId, this.solver, this.run.stateHash(boundary(this.run, c)));
  }

  level0Leaves(): Hex[] {
    return this.run.checkpointHashes().map((h) => checkpointLeaf(this.jobId, this.solver, h));
  }

  level0Proof(c: number): Hex | null {
    const pre = c === 0 ? this.run.stateHash(0) : this.run.stateHash(boundary(this.run, c - 1));
    return checkpointProof(pre, this.run.stateHash(boundary(this.run, c)), this.run.details.manifest);
  }

  level1Leaf(step: number): Hex {
    return this.run.stateHash(step);
  }

  level1Proof(step: number): Hex | null {
    return stepProof(this.run.details, this.run.preimage(step), this.run.preimage(step + 1));
  }

  level2Leaf(step: number, op: number): Hex {
    let l = this.l2.get(step);
    if (!l) {
      const t = this.run.trace(step);
      l = leavesOf.get(t) ?? level2Leaves(t);
      leavesOf.set(t, l);
      if (this.l2.size > 4) this.l2.delete(this.l2.keys().next().value!);
      this.l2.set(step, l);
    }
    return l[op];
  }

  level2Proof(step: number, op: number): Hex | null {
    const t = this.run.trace(step, [op]);
    let m = proofsOf.get(t);
    if (!m) proofsOf.set(t, (m = new Map()));
    let p = m.get(op);
    if (!p) {
      const out = t.captured.get(op)!.output;
      m.set(op, (p = opProof(t, op, outputRootOf(out.shape, out.data))));
    }
    return p;
  }

  opProver(step: number, op: number): OpProver | null {
    return this.run.prover(step, op);
  }

  agreed(step: number, stateHash: Hex): Promise<boolean> {
    return this.run.startFrom(step, stateHash);
  }
}
