// A job's life as the chain tells it: each market event of the job becomes a stage.
import type { ChainEvent } from '../chain/events.ts';
import { JOB_STATE_NAMES } from '../chain/market.ts';

export type Stage =
  | 'posted'
  | 'claimed'
  | 'checkpoints'
  | 'submitted'
  | 'verifiers-drawn'
  | 'verifier-committed'
  | 'verifier-revealed'
  | 'verifier-replaced'
  | 'verifier-no-show'
  | 'probe-disputed'
  | 'probe-settled'
  | 'challenged'
  | 'dispute-settled'
  | 'timed-out'
  | 'reopened'
  | 'finalized'
  | 'cancelled';

export interface StageUpdate {
  type: 'stage';
  stage: Stage;
  jobId: bigint;
  block: number;
  tx: string;
  /** The event's fields (bigints as decimal strings). */
  data: Record<string, unknown>;
}

export interface ProgressUpdate {
  type: 'progress';
  jobId: bigint;
  step: number;
  steps: number;
  loss: number;
  /** Every step's loss since the previous update (as many as the solver sent), ending with `loss`. */
  losses: number[];
  solver: string;
}

export type JobUpdate = StageUpdate | ProgressUpdate;

const BY_EVENT: Record<string, Stage> = {
  JobPosted: 'posted',
  JobClaimed: 'claimed',
  CheckpointsCommitted: 'checkpoints',
  ResultSubmitted: 'submitted',
  VerifiersDrawn: 'verifiers-drawn',
  Attested: 'verifier-committed',
  Revealed: 'verifier-revealed',
  VerifierSlotReplaced: 'verifier-replaced',
  VerifierNoShow: 'verifier-no-show',
  ProbeDisputeOpened: 'probe-disputed',
  ProbeDisputeSettled: 'probe-settled',
  DisputeOpened: 'challenged',
  DisputeSettled: 'dispute-settled',
  SolverTimedOut: 'timed-out',
  JobFinalized: 'finalized',
  JobCancelled: 'cancelled',
};

function plain(args: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** The stage an event of job `jobId` marks, or null (another job's, or not a stage). */
export function stageOf(e: ChainEvent, jobId: bigint): StageUpdate | null {
  if (e.args.jobId !== jobId) return null;
  let stage = BY_EVENT[e.eventName];
  if (e.eventName === 'JobStateChanged') {
    // Back to open from a claim, a result or a dispute: the job is claimable again.
    const from = JOB_STATE_NAMES[Number(e.args.from)];
    if (JOB_STATE_NAMES[Number(e.args.to)] !== 'open' || from === 'none') return null;
    stage = 'reopened';
  }
  if (!stage) return null;
  return { type: 'stage', stage, jobId, block: Number(e.blockNumber), tx: e.transactionHash, data: plain(e.args) };
}

/** True once a job can change no more. */
export const isFinal = (s: Stage) => s === 'finalized' || s === 'cancelled';
