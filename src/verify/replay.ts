// Checking a solver's work by replay. The solver commits the hash chain of its checkpoints; a
// verifier draws segments (checkpoint i -> i+1) from randomness the solver could not know when it
// committed, restores checkpoint i, recomputes the segment's steps with the engine and compares the
// state hash it reaches with the solver's checkpoint i+1. On a mismatch, the per-step state hashes
// of the segment are what the first level of a dispute bisects over.
import { InputError, IntegrityError } from '../errors.ts';
import { sha256, sha256Hex, toHex, utf8 } from '../engine/hash.ts';
import type { Checkpoint } from '../train/checkpoint.ts';
import { restoreState, stateHashOf, trainStep, type Job } from '../train/train.ts';

export interface SegmentReplay {
  fromStep: number;
  toStep: number;
  /** The state hash after toStep. */
  endHash: string;
  /** With `perStep`: the state hash after each step fromStep+1 .. toStep (toStep - fromStep entries). */
  stepHashes?: string[];
}

export interface ReplayOptions {
  /** Hash the state after every step (what a step-level bisection needs; costs one hash per step). */
  perStep?: boolean;
  onStep?: (done: number, total: number) => void;
}

/**
 * Restores `start` into `job` (whose spec must be the checkpoint's) and recomputes `steps` steps.
 * The start checkpoint's own state hash is checked first, so a replay never starts from bytes
 * that are not the committed state.
 */
export function replaySegment(job: Job, start: Checkpoint, steps: number, opts: ReplayOptions = {}): SegmentReplay {
  if (start.specHash !== job.specHash) {
    throw new InputError('the checkpoint belongs to another job spec', { details: `checkpoint ${start.specHash}, spec ${job.specHash}` });
  }
  if (!Number.isSafeInteger(steps) || steps < 0) throw new InputError(`steps must be a non-negative integer, got ${steps}`);
  restoreState(job, start.tensors, start.optimizerSteps);
  const restored = stateHashOf(job, start.step);
  if (restored !== start.stateHash) {
    throw new IntegrityError(`checkpoint at step ${start.step} does not hash to its recorded state hash`, {
      details: `recorded ${start.stateHash}, recomputed ${restored}`,
    });
  }
  const stepHashes: string[] | undefined = opts.perStep ? [] : undefined;
  for (let i = 0; i < steps; i++) {
    trainStep(job, start.step + i);
    stepHashes?.push(stateHashOf(job, start.step + i + 1));
    opts.onStep?.(i + 1, steps);
  }
  const toStep = start.step + steps;
  const endHash = stepHashes?.[steps - 1] ?? stateHashOf(job, toStep);
  return { fromStep: start.step, toStep, endHash, ...(stepHashes ? { stepHashes } : {}) };
}

/**
 * `count` distinct segment indices in [0, segments), ascending, drawn from `randomness` (hex: e.g.
 * a block hash after the commitment) and `salt` (e.g. job id and verifier address, so that each
 * verifier checks different segments). Pure: anyone can recompute the draw. Rejection sampling on
 * SHA-256 words keeps every index equally likely.
 */
export function drawSegments(randomness: string, salt: string, segments: number, count: number): number[] {
  if (!/^(0x)?[0-9a-fA-F]{16,}$/.test(randomness)) throw new InputError('randomness must be hex with at least 64 bits', { details: randomness });
  if (!Number.isSafeInteger(segments) || segments < 1) throw new InputError(`segments must be a positive integer, got ${segments}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new InputError(`count must be a non-negative integer, got ${count}`);
  const want = Math.min(count, segments);
  const seed = sha256(utf8(`veritrain/segments/1\n${randomness.toLowerCase().replace(/^0x/, '')}\n${salt}`));
  const limit = Math.floor(0x1_0000_0000 / segments) * segments; // below it, u % segments is uniform
  const picked = new Set<number>();
  for (let counter = 0; picked.size < want; counter++) {
    const block = sha256(seed, new Uint8Array(new Uint32Array([counter]).buffer));
    const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
    for (let w = 0; w < 8 && picked.size < want; w++) {
      const u = dv.getUint32(4 * w, true);
      if (u < limit) picked.add(u % segments);
    }
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * What a verifier commits before it reveals its replay result (commit-reveal): a copy of another
 * verifier's reveal, or of the solver's claim, is useless without having computed endHash, and the
 * commitment binds the verifier's address so it cannot be replayed by someone else.
 */
export function replayCommitment(r: { jobId: string; segment: number; endHash: string; verifier: string; salt: Uint8Array }): string {
  if (r.salt.length < 16) throw new InputError('the commitment salt must have at least 16 random bytes');
  return sha256Hex(utf8(`veritrain/replay-commit/1\n${r.jobId}\n${r.segment}\n${r.endHash}\n${r.verifier.toLowerCase()}\n${toHex(r.salt)}`));
}
