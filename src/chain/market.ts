// JobMarket actions, one function per contract function, plus typed reads.
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import { jobMarketAbi } from './abi.ts';
import { addressOf, eventOf, read, send, type ChainClient, type TxResult } from './client.ts';
import { ChainError, JOB_STATES, toChainError } from './errors.ts';

export type JobState = (typeof JOB_STATES)[number];

/** Job state names by their on-chain number. */
export const JOB_STATE_NAMES = JOB_STATES;

export interface PostJobParams {
  specHash: Hex;
  datasetHash: Hex;
  /** Escrowed payment in token wei. */
  price: bigint;
  /** Seconds the solver has from claim to result. */
  duration: number;
  /** Leaves of the committed checkpoint sequence. */
  checkpoints: number;
  /** Verifiers to draw (0: optimistic only). */
  verifiers: number;
  /** Seconds from result to finalize. */
  challengeWindow: number;
  /** Solver stake locked while it holds the job (>= the dispute bond). */
  collateral: bigint;
}

export interface Job {
  jobId: bigint;
  state: JobState;
  submitter: Address;
  price: bigint;
  solver: Address;
  solverNode: bigint;
  committed: number;
  verifiers: number;
  duration: number;
  challengeWindow: number;
  checkpoints: number;
  since: number;
  collateral: bigint;
  /** keccak256(abi.encode(specHash, datasetHash)); the hashes themselves are in JobPosted (jobPosting). */
  inputs: Hex;
  root: Hex;
  modelHash: Hex;
}

/** What JobPosted recorded about a job. */
export interface JobPosting {
  jobId: bigint;
  submitter: Address;
  specHash: Hex;
  datasetHash: Hex;
  price: bigint;
  blockNumber: bigint;
}

const marketOf = (c: ChainClient) => ({ address: c.deployment.contracts.market, abi: jobMarketAbi });

/** Post a job; the market must be approved for `price` (token.ensureAllowance). */
export async function postJob(c: ChainClient, p: PostJobParams): Promise<{ jobId: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'postJob', args: [p] }));
  return { jobId: eventOf(tx, 'JobPosted').jobId as bigint, tx };
}

export function cancelJob(c: ChainClient, jobId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'cancelJob', args: [jobId] }));
}

export function claimJob(c: ChainClient, jobId: bigint, nodeId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'claimJob', args: [jobId, nodeId] }));
}

export function commitCheckpoints(c: ChainClient, jobId: bigint, count: number, root: Hex): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'commitCheckpoints', args: [jobId, count, root] }));
}

export function submitResult(c: ChainClient, jobId: bigint, root: Hex, modelHash: Hex): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'submitResult', args: [jobId, root, modelHash] }));
}

export function reopenExpired(c: ChainClient, jobId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'reopenExpired', args: [jobId] }));
}

/** Draw the job's verifiers; `rearmed` when the seed block aged out and the draw moved to the next block. */
export async function drawVerifiers(c: ChainClient, jobId: bigint): Promise<{ verifiers: Address[]; rearmed: boolean; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'drawVerifiers', args: [jobId] }));
  const drawn = tx.events.find((e) => e.eventName === 'VerifiersDrawn');
  return { verifiers: (drawn?.args.verifiers as Address[]) ?? [], rearmed: !drawn, tx };
}

export function attest(c: ChainClient, jobId: bigint, digest: Hex): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'attest', args: [jobId, digest] }));
}

/** Challenge a result (the market must be approved for the dispute bond); returns the game id. */
export async function challenge(c: ChainClient, jobId: bigint, challengerNode = 0n): Promise<{ gameId: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'challenge', args: [jobId, challengerNode] }));
  return { gameId: eventOf(tx, 'DisputeOpened').gameId as bigint, tx };
}

export async function settleDispute(c: ChainClient, jobId: bigint): Promise<{ solverWon: boolean; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'settleDispute', args: [jobId] }));
  return { solverWon: eventOf(tx, 'DisputeSettled').solverWon as boolean, tx };
}

export async function finalize(
  c: ChainClient,
  jobId: bigint,
): Promise<{ solverPay: bigint; verifierPay: bigint; refund: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'finalize', args: [jobId] }));
  const e = eventOf(tx, 'JobFinalized');
  return { solverPay: e.solverPay as bigint, verifierPay: e.verifierPay as bigint, refund: e.refund as bigint, tx };
}

/** Withdraw everything credited to the caller; returns the amount. */
export async function withdraw(c: ChainClient): Promise<{ amount: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'withdraw' }));
  return { amount: eventOf(tx, 'Withdrawn').amount as bigint, tx };
}

// ---- reads -----------------------------------------------------------------------------------

export async function getJob(c: ChainClient, jobId: bigint): Promise<Job> {
  const j = await read<Record<string, any>>(c, { ...marketOf(c), functionName: 'getJob', args: [jobId] });
  return {
    jobId,
    state: JOB_STATES[j.state],
    submitter: j.submitter,
    price: j.price,
    solver: j.solver,
    solverNode: j.solverNode,
    committed: Number(j.committed),
    verifiers: Number(j.verifiers),
    duration: Number(j.duration),
    challengeWindow: Number(j.challengeWindow),
    checkpoints: Number(j.checkpoints),
    since: Number(j.since),
    collateral: j.collateral,
    inputs: j.inputs,
    root: j.root,
    modelHash: j.modelHash,
  };
}

/** The agreed genesis of a job's computation: keccak256(abi.encode(specHash, datasetHash)). */
export function jobInputsHash(specHash: Hex, datasetHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [specHash, datasetHash]));
}

/** The job's spec and dataset hashes from its JobPosted event, checked against the stored inputs hash. */
export async function jobPosting(c: ChainClient, jobId: bigint): Promise<JobPosting> {
  const [job, logs] = await Promise.all([
    getJob(c, jobId),
    c.public
      .getContractEvents({
        address: c.deployment.contracts.market,
        abi: jobMarketAbi,
        eventName: 'JobPosted',
        args: { jobId },
        fromBlock: BigInt(c.deployment.deployedAtBlock),
      })
      .catch((e: unknown) => {
        throw toChainError(e, c.deployment.rpcUrl);
      }),
  ]);
  const log = logs[0];
  if (!log || jobInputsHash(log.args.specHash!, log.args.datasetHash!) !== job.inputs) {
    throw new ChainError(`no JobPosted event matching job ${jobId}`, { hint: 'the RPC may prune old logs; query an archive node' });
  }
  return {
    jobId,
    submitter: log.args.submitter!,
    specHash: log.args.specHash!,
    datasetHash: log.args.datasetHash!,
    price: log.args.price!,
    blockNumber: log.blockNumber,
  };
}

export function jobCount(c: ChainClient): Promise<bigint> {
  return read(c, { ...marketOf(c), functionName: 'jobCount' });
}

export async function verificationOf(c: ChainClient, jobId: bigint): Promise<{ seedBlock: bigint; attested: number; drawn: Address[] }> {
  const v = await read<{ seedBlock: bigint; attested: number; drawn: readonly Address[] }>(c, {
    ...marketOf(c),
    functionName: 'verificationOf',
    args: [jobId],
  });
  return { seedBlock: v.seedBlock, attested: Number(v.attested), drawn: [...v.drawn] };
}

export function disputeOf(c: ChainClient, jobId: bigint): Promise<{ challenger: Address; challengerNode: bigint; gameId: bigint }> {
  return read(c, { ...marketOf(c), functionName: 'disputeOf', args: [jobId] });
}

/** Tokens credited to `account` and not yet withdrawn. */
export function withdrawable(c: ChainClient, account: Address = addressOf(c)): Promise<bigint> {
  return read(c, { ...marketOf(c), functionName: 'withdrawable', args: [account] });
}

/** Unix time the job's current state ends (priority window, deadline, challenge window); 0 if none. */
export async function stateEndsAt(c: ChainClient, jobId: bigint): Promise<number> {
  return Number(await read<number>(c, { ...marketOf(c), functionName: 'stateEndsAt', args: [jobId] }));
}
