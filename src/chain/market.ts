// JobMarket actions, one function per contract function, plus typed reads and the pure helpers that
// mirror the contract (manifest hash, checkpoint leaves, verifier commitments, probe positions).
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import { InputError } from '../errors.ts';
import { jobMarketAbi } from './abi.ts';
import { addressOf, eventOf, read, send, type ChainClient, type TxResult } from './client.ts';
import type { Deployment } from './deployment.ts';
import { ChainError, JOB_STATES, PROBE_STATES, SLOT_STATUSES, toChainError } from './errors.ts';
import { merkleProof } from './merkle.ts';

export type JobState = (typeof JOB_STATES)[number];

/** Job state names by their on-chain number. */
export const JOB_STATE_NAMES = JOB_STATES;

export { SLOT_STATUSES, PROBE_STATES };
export type SlotStatus = (typeof SLOT_STATUSES)[number];
export type ProbeState = (typeof PROBE_STATES)[number];

const ZERO = `0x${'00'.repeat(32)}` as Hex;
const b32 = { type: 'bytes32' } as const;

/** docs/verification.md §1: what a job commits to; its hash is the job's `inputs` on chain. */
export interface Manifest {
  specHash: Hex;
  datasetRoot: Hex;
  initState: Hex;
  dataOrder: Hex;
  schedule: Hex;
  program: Hex;
}

/**
 * The sampling a job asks for when the submitter names none: 2 verifiers; samples per verifier from
 * defaultSamples. `samples` here is the most the default ever asks.
 */
export const SAMPLING_DEFAULTS = { verifiers: 2, samples: 4 } as const;

/** The solver's compute cost as a share of its pay that the defaults assume (docs/economics.md). */
export const ASSUMED_COMPUTE_SHARE = 0.5;

/**
 * Samples per verifier when the submitter names none: as many segments as a verifier's fee share pays
 * it to replay, at least 1, at most SAMPLING_DEFAULTS.samples and the checkpoints. A verifier
 * replaying m of n segments spends m/n of the solver's compute (ASSUMED_COMPUTE_SHARE of its pay,
 * price × (1 − fee)) and earns price × fee / verifiers, so m <= n × fee / (verifiers × share × (1 − fee)).
 * docs/economics.md shows what this buys: every cheating strategy stays negative, and verifying pays.
 */
export function defaultSamples(checkpoints: number, verifiers: number, verifierFeeBps: number): number {
  if (verifiers === 0) return 0;
  const fee = verifierFeeBps / 10_000;
  const paid = fee >= 1 ? Infinity : Math.floor((checkpoints * fee) / (verifiers * ASSUMED_COMPUTE_SHARE * (1 - fee)) + 1e-9);
  return Math.max(1, Math.min(paid, SAMPLING_DEFAULTS.samples, checkpoints));
}

export interface PostJobParams {
  manifest: Manifest;
  /** Escrowed payment in token wei. */
  price: bigint;
  /** Seconds the solver has from claim to result. */
  duration: number;
  /** Training steps of the spec. */
  steps: number;
  /** Steps per checkpoint (the spec's checkpointInterval); checkpoints = ceil(steps / interval). */
  checkpointInterval: number;
  /** Verifiers to draw (0: optimistic only; anyone may still challenge). Default 2. */
  verifiers?: number;
  /** Probes (segments) each verifier replays; 0 iff verifiers is 0. Default: defaultSamples. */
  samples?: number;
  /** Seconds from result to finalize. Default: defaultChallengeWindow(deployment params, verifiers). */
  challengeWindow?: number;
  /** Solver stake locked while it holds the job (>= the dispute bond). */
  collateral: bigint;
}

/**
 * @deprecated The pre-manifest shape (inputs = keccak256(specHash, datasetHash)); kept so old call
 * sites compile. It posts a manifest with only specHash and datasetRoot = datasetHash set, steps =
 * checkpoints and interval 1 (2 × checkpoints and 2 with verifiers, whose challenge window is raised
 * to the verifier minimum when below it). Use PostJobParams.
 */
export interface LegacyPostJobParams {
  specHash: Hex;
  datasetHash: Hex;
  price: bigint;
  duration: number;
  checkpoints: number;
  verifiers: number;
  challengeWindow: number;
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
  samples: number;
  duration: number;
  challengeWindow: number;
  steps: number;
  checkpointInterval: number;
  /** ceil(steps / checkpointInterval). */
  checkpoints: number;
  since: number;
  collateral: bigint;
  /** The manifest hash (manifestHash); specHash and datasetRoot are in JobPosted (jobPosting). */
  inputs: Hex;
  /** Merkle root over checkpointLeaf(jobId, solver, stateHash_i). */
  root: Hex;
  /** The final model's state hash (that of the last leaf). */
  modelHash: Hex;
}

/** What JobPosted recorded about a job. */
export interface JobPosting {
  jobId: bigint;
  submitter: Address;
  specHash: Hex;
  datasetRoot: Hex;
  /** @deprecated the pre-manifest name of datasetRoot (the same value). */
  datasetHash: Hex;
  manifestHash: Hex;
  price: bigint;
  steps: number;
  checkpointInterval: number;
  checkpoints: number;
  verifiers: number;
  samples: number;
  challengeWindow: number;
  collateral: bigint;
  blockNumber: bigint;
}

export interface VerifierSlot {
  verifier: Address;
  /** Unix time the slot must commit by. */
  commitBy: number;
  /** Unix time the slot must reveal by: commitBy + revealPeriod. */
  revealBy: number;
  status: SlotStatus;
  agree: boolean;
  probe: ProbeState;
  commitment: Hex;
}

export interface Verification {
  /** +1 each time the job reopened (probe disputes of an earlier round are stale). */
  round: number;
  /** Block whose hash draws the next verifiers (0: none armed). */
  seedBlock: bigint;
  /** Replacements armed, not drawn yet. */
  pending: number;
  /** Slots still drawn-but-uncommitted. */
  uncommitted: number;
  /** Probe disputes not settled: finalize waits for them. */
  openProbes: number;
  /** Seed of the first draw (zero before it): every probe position derives from it. */
  seed: Hex;
  slots: VerifierSlot[];
  /** The slots' verifiers in draw order (replaced ones included). */
  drawn: Address[];
  /** Bit i: slot i committed (attested), revealed or not. */
  attested: number;
}

export interface Probe {
  /** Segment s: replayed from checkpoint s - 1 (the initial state for s = 0) to checkpoint s. */
  segment: number;
  /** Step count of the probed state: the segment's end minus one (never a published checkpoint). */
  step: number;
}

const marketOf = (c: ChainClient) => ({ address: c.deployment.contracts.market, abi: jobMarketAbi });

// ---- pure mirrors of the contract ------------------------------------------------------------

/** keccak256(abi.encode(specHash, datasetRoot, initState, dataOrder, schedule, program)) (docs §1). */
export function manifestHash(m: Manifest): Hex {
  return keccak256(encodeAbiParameters([b32, b32, b32, b32, b32, b32], [m.specHash, m.datasetRoot, m.initState, m.dataOrder, m.schedule, m.program]));
}

/** The leaf a solver commits for a checkpoint (docs §3): keccak256(abi.encode(jobId, solver, stateHash)). */
export function checkpointLeaf(jobId: bigint, solver: Address, stateHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, b32], [jobId, solver, stateHash]));
}

/** What a verifier commits with attest (docs §6): keccak256(abi.encode(agree, probes, salt, verifier)). */
export function commitmentOf(agree: boolean, probes: readonly Hex[], salt: Hex, verifier: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bool' }, { type: 'bytes32[]' }, b32, { type: 'address' }], [agree, probes, salt, verifier]));
}

/** The step judge's context of a probe game: (jobId << 64) | fromStep. */
export function probeContext(jobId: bigint, fromStep: number | bigint): Hex {
  return `0x${((jobId << 64n) | BigInt(fromStep)).toString(16).padStart(64, '0')}`;
}

/** ceil(steps / checkpointInterval): the leaves a job commits. */
export function checkpointCount(steps: number, checkpointInterval: number): number {
  return Math.floor((steps - 1) / checkpointInterval) + 1;
}

/**
 * Where `verifier` probes a job: JobMarketBase._probes in TypeScript. Probe i draws r =
 * keccak256(abi.encode(seed, verifier, i)); its segment is the (r mod (checkpoints - i))-th segment
 * not drawn before; the probed state is the one before the segment's last step (never published, it
 * takes a replay of all but one step of the segment).
 */
export function probePositions(o: { seed: Hex; verifier: Address; samples: number; steps: number; checkpointInterval: number }): Probe[] {
  const { steps, checkpointInterval: k } = o;
  if (!(Number.isSafeInteger(steps) && steps >= 2 && Number.isSafeInteger(k) && k >= 2 && steps % k !== 1)) {
    throw new InputError(`probes need steps >= 2, a checkpoint interval >= 2 and no last segment of one step, got ${steps} and ${k}`);
  }
  const n = checkpointCount(steps, k);
  const count = Math.min(o.samples, n);
  const sorted: number[] = [];
  const out: Probe[] = [];
  for (let i = 0; i < count; i++) {
    const r = BigInt(keccak256(encodeAbiParameters([b32, { type: 'address' }, { type: 'uint256' }], [o.seed, o.verifier, BigInt(i)])));
    let x = Number(r % BigInt(n - i));
    for (const p of sorted) if (x >= p) x++;
    sorted.push(x);
    sorted.sort((a, b) => a - b);
    out.push({ segment: x, step: (x === n - 1 ? steps : (x + 1) * k) - 1 });
  }
  return out;
}

/**
 * What disputeProbe needs to show the checkpoint a probe's segment starts from: for segment 0 the
 * six manifest fields (preState = initState), else the state hash of checkpoint segment - 1 and the
 * Merkle proof of its leaf among the solver's committed leaves.
 */
export function checkpointEvidence(o: { segment: number; manifest: Manifest; states: readonly Hex[]; leaves: readonly Hex[] }): { preState: Hex; proof: Hex[] } {
  const m = o.manifest;
  if (o.segment === 0) return { preState: m.initState, proof: [m.specHash, m.datasetRoot, m.initState, m.dataOrder, m.schedule, m.program] };
  return { preState: o.states[o.segment - 1], proof: merkleProof(o.leaves, o.segment - 1) };
}

/** Seconds a verifier round needs in the challenge window: commit + reveal + probe dispute periods. */
export function verifyTime(p: Deployment['params']): number {
  return p.commitPeriod + p.revealPeriod + p.probeDisputePeriod;
}

/**
 * The challenge window a job gets when the submitter names none: the minimum plus room for one
 * replacement round (a verifier that misses its commit deadline is replaced, the replacement gets a
 * full round) with verifiers; the minimum without.
 */
export function defaultChallengeWindow(p: Deployment['params'], verifiers: number): number {
  return verifiers === 0 ? p.minChallengeWindow : p.minChallengeWindow + p.commitPeriod + verifyTime(p);
}

/**
 * The collateral a job asks of its solver when the submitter names none: half the price, at least
 * twice the dispute bond. A cheat that is caught forfeits it and the pay (docs/economics.md).
 */
export function defaultCollateral(price: bigint, disputeBond: bigint | string): bigint {
  const floor = 2n * BigInt(disputeBond);
  return price / 2n > floor ? price / 2n : floor;
}

function toPostParams(c: ChainClient, p: PostJobParams | LegacyPostJobParams) {
  if ('manifest' in p) {
    const verifiers = p.verifiers ?? SAMPLING_DEFAULTS.verifiers;
    return {
      manifest: p.manifest,
      price: p.price,
      duration: p.duration,
      steps: p.steps,
      checkpointInterval: p.checkpointInterval,
      verifiers,
      samples: p.samples ?? defaultSamples(checkpointCount(p.steps, p.checkpointInterval), verifiers, c.deployment.params.verifierFeeBps),
      challengeWindow: p.challengeWindow ?? defaultChallengeWindow(c.deployment.params, verifiers),
      collateral: p.collateral,
    };
  }
  const v = p.verifiers > 0;
  return {
    manifest: { specHash: p.specHash, datasetRoot: p.datasetHash, initState: ZERO, dataOrder: ZERO, schedule: ZERO, program: ZERO },
    price: p.price,
    duration: p.duration,
    steps: v ? 2 * p.checkpoints : p.checkpoints,
    checkpointInterval: v ? 2 : 1,
    verifiers: p.verifiers,
    samples: v ? defaultSamples(p.checkpoints, p.verifiers, c.deployment.params.verifierFeeBps) : 0,
    challengeWindow: v ? Math.max(p.challengeWindow, c.deployment.params.minChallengeWindow + verifyTime(c.deployment.params)) : p.challengeWindow,
    collateral: p.collateral,
  };
}

// ---- submitter and solver --------------------------------------------------------------------

/** Post a job; the market must be approved for `price` (token.ensureAllowance). */
export async function postJob(c: ChainClient, p: PostJobParams | LegacyPostJobParams): Promise<{ jobId: bigint; tx: TxResult }> {
  const args = [toPostParams(c, p)] as const;
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'postJob', args }));
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

/** `root` is merkleRoot of checkpointLeaf(jobId, solver, stateHash_i); `modelHash` the last state hash. */
export function submitResult(c: ChainClient, jobId: bigint, root: Hex, modelHash: Hex): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'submitResult', args: [jobId, root, modelHash] }));
}

export function reopenExpired(c: ChainClient, jobId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'reopenExpired', args: [jobId] }));
}

// ---- verifiers -------------------------------------------------------------------------------

/**
 * Draw the job's verifiers (first call) or the armed replacements (later calls). `rearmed` when the
 * seed block aged out and the draw moved to the next block. Slots firstSlot.. are the drawn ones.
 */
export async function drawVerifiers(
  c: ChainClient,
  jobId: bigint,
): Promise<{ verifiers: Address[]; firstSlot: number; commitBy: number; revealBy: number; rearmed: boolean; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'drawVerifiers', args: [jobId] }));
  const drawn = tx.events.find((e) => e.eventName === 'VerifiersDrawn');
  return {
    verifiers: (drawn?.args.verifiers as Address[]) ?? [],
    firstSlot: Number(drawn?.args.firstSlot ?? 0),
    commitBy: Number(drawn?.args.commitBy ?? 0),
    revealBy: Number(drawn?.args.revealBy ?? 0),
    rearmed: !drawn,
    tx,
  };
}

/** A drawn verifier commits before its commitBy: `commitment` = commitmentOf(agree, probes, salt, verifier). */
export function attest(c: ChainClient, jobId: bigint, commitment: Hex): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'attest', args: [jobId, commitment] }));
}

export interface Reveal {
  agree: boolean;
  /** State hashes at probesOf(jobId, verifier), in that order. */
  probes: readonly Hex[];
  salt: Hex;
}

/** Open the commitment, after the commit phase (or once every drawn slot committed), by revealBy. */
export function reveal(c: ChainClient, jobId: bigint, r: Reveal): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'reveal', args: [jobId, r.agree, r.probes, r.salt] }));
}

/** Replace a slot that missed its commit deadline (anyone); draw the replacement next block with drawVerifiers. */
export async function replaceVerifier(c: ChainClient, jobId: bigint, slot: number): Promise<{ penalty: bigint; seedBlock: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'replaceVerifier', args: [jobId, BigInt(slot)] }));
  const e = eventOf(tx, 'VerifierSlotReplaced');
  return { penalty: e.penalty as bigint, seedBlock: e.seedBlock as bigint, tx };
}

export interface ProbeDisputeArgs {
  slot: number;
  /** The slot's revealed probes and salt (revealOf). */
  probes: readonly Hex[];
  salt: Hex;
  /** The probe disputed. */
  index: number;
  /** checkpointEvidence(...) for the probe's segment. */
  preState: Hex;
  proof: readonly Hex[];
}

/** The solver disputes a revealed probe (needs an approval of disputeBond); returns the game id. */
export async function disputeProbe(c: ChainClient, jobId: bigint, a: ProbeDisputeArgs): Promise<{ gameId: bigint; fromStep: number; probeStep: number; tx: TxResult }> {
  const tx = await send(c, (w, x) =>
    w.writeContract({ ...x, ...marketOf(c), functionName: 'disputeProbe', args: [jobId, BigInt(a.slot), a.probes, a.salt, BigInt(a.index), a.preState, a.proof] }),
  );
  const e = eventOf(tx, 'ProbeDisputeOpened');
  return { gameId: e.gameId as bigint, fromStep: Number(e.fromStep), probeStep: Number(e.probeStep), tx };
}

/** Move the bonds of a finished probe game (anyone). */
export async function settleProbeDispute(c: ChainClient, gameId: bigint): Promise<{ verifierWon: boolean; stale: boolean; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'settleProbeDispute', args: [gameId] }));
  const e = eventOf(tx, 'ProbeDisputeSettled');
  return { verifierWon: e.verifierWon as boolean, stale: e.stale as boolean, tx };
}

// ---- challengers and payouts ----------------------------------------------------------------

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
): Promise<{ solverPay: bigint; verifierPay: bigint; refund: bigint; penalties: bigint; tx: TxResult }> {
  const tx = await send(c, (w, x) => w.writeContract({ ...x, ...marketOf(c), functionName: 'finalize', args: [jobId] }));
  const e = eventOf(tx, 'JobFinalized');
  return { solverPay: e.solverPay as bigint, verifierPay: e.verifierPay as bigint, refund: e.refund as bigint, penalties: e.penalties as bigint, tx };
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
    samples: Number(j.samples),
    duration: Number(j.duration),
    challengeWindow: Number(j.challengeWindow),
    steps: Number(j.steps),
    checkpointInterval: Number(j.checkpointInterval),
    checkpoints: Number(j.checkpoints),
    since: Number(j.since),
    collateral: j.collateral,
    inputs: j.inputs,
    root: j.root,
    modelHash: j.modelHash,
  };
}

async function marketEvents(c: ChainClient, eventName: 'JobPosted' | 'Revealed', args: Record<string, unknown>) {
  return c.public
    .getContractEvents({ address: c.deployment.contracts.market, abi: jobMarketAbi, eventName, args, fromBlock: BigInt(c.deployment.deployedAtBlock) } as never)
    .catch((e: unknown) => {
      throw toChainError(e, c.deployment.rpcUrl);
    }) as Promise<{ args: Record<string, any>; blockNumber: bigint }[]>;
}

/** The job's discovery data from its JobPosted event, checked against the stored manifest hash. */
export async function jobPosting(c: ChainClient, jobId: bigint): Promise<JobPosting> {
  const [job, logs] = await Promise.all([getJob(c, jobId), marketEvents(c, 'JobPosted', { jobId })]);
  const log = logs[0];
  if (!log || log.args.manifestHash !== job.inputs) {
    throw new ChainError(`no JobPosted event matching job ${jobId}`, { hint: 'the RPC may prune old logs; query an archive node' });
  }
  const a = log.args;
  return {
    jobId,
    submitter: a.submitter,
    specHash: a.specHash,
    datasetRoot: a.datasetRoot,
    datasetHash: a.datasetRoot,
    manifestHash: a.manifestHash,
    price: a.price,
    steps: Number(a.steps),
    checkpointInterval: Number(a.checkpointInterval),
    checkpoints: Number(a.checkpoints),
    verifiers: Number(a.verifiers),
    samples: Number(a.samples),
    challengeWindow: Number(a.challengeWindow),
    collateral: a.collateral,
    blockNumber: log.blockNumber,
  };
}

/** The probes and salt a slot revealed (from its Revealed event), for disputeProbe. */
export async function revealOf(c: ChainClient, jobId: bigint, slot: number): Promise<Reveal & { verifier: Address }> {
  const logs = await marketEvents(c, 'Revealed', { jobId });
  // A reopened job is verified again from slot 0: the latest reveal of the slot is the live one.
  const log = logs.filter((l) => Number(l.args.slot) === slot).at(-1);
  if (!log) throw new ChainError(`slot ${slot} of job ${jobId} has not revealed`, { hint: 'wait for its reveal (verificationOf shows the slot status)' });
  return { verifier: log.args.verifier, agree: log.args.agree, probes: [...log.args.probes], salt: log.args.salt };
}

export function jobCount(c: ChainClient): Promise<bigint> {
  return read(c, { ...marketOf(c), functionName: 'jobCount' });
}

export async function verificationOf(c: ChainClient, jobId: bigint): Promise<Verification> {
  const v = await read<Record<string, any>>(c, { ...marketOf(c), functionName: 'verificationOf', args: [jobId] });
  const revealPeriod = c.deployment.params.revealPeriod;
  const slots: VerifierSlot[] = v.slots.map((s: Record<string, any>) => ({
    verifier: s.verifier,
    commitBy: Number(s.commitBy),
    revealBy: Number(s.commitBy) + revealPeriod,
    status: SLOT_STATUSES[s.status],
    agree: s.agree,
    probe: PROBE_STATES[s.probe],
    commitment: s.commitment,
  }));
  return {
    round: Number(v.round),
    seedBlock: v.seedBlock,
    pending: Number(v.pending),
    uncommitted: Number(v.uncommitted),
    openProbes: Number(v.openProbes),
    seed: v.seed,
    slots,
    drawn: slots.map((s) => s.verifier),
    attested: slots.reduce((bits, s, i) => (s.status === 'committed' || s.status === 'revealed' ? bits | (1 << i) : bits), 0),
  };
}

/** Where `verifier` must probe the job (empty before the first draw), as the contract computes it. */
export async function probesOf(c: ChainClient, jobId: bigint, verifier: Address): Promise<Probe[]> {
  const [segments, steps] = await read<[readonly number[], readonly bigint[]]>(c, { ...marketOf(c), functionName: 'probesOf', args: [jobId, verifier] });
  return segments.map((s, i) => ({ segment: Number(s), step: Number(steps[i]) }));
}

/** What the verification judges read of a job: manifest hash, solver, steps, checkpoint interval. */
export async function jobShape(c: ChainClient, jobId: bigint): Promise<{ inputs: Hex; solver: Address; steps: number; checkpointInterval: number }> {
  const [inputs, solver, steps, checkpointInterval] = await read<[Hex, Address, number, number]>(c, { ...marketOf(c), functionName: 'jobShape', args: [jobId] });
  return { inputs, solver, steps: Number(steps), checkpointInterval: Number(checkpointInterval) };
}

/** The market's record of probe game `gameId` (jobId 0n: not a probe game of this market, or settled). */
export async function probeDisputeOf(c: ChainClient, gameId: bigint): Promise<{ jobId: bigint; round: number; slot: number; index: number }> {
  const p = await read<{ jobId: bigint; round: number; slot: number; index: number }>(c, { ...marketOf(c), functionName: 'probeDisputeOf', args: [gameId] });
  return { jobId: p.jobId, round: Number(p.round), slot: Number(p.slot), index: Number(p.index) };
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
