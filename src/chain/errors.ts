// Chain failures as VeritrainErrors: a contract's custom error decoded by name with its arguments
// and a hint, an unreachable RPC, a bad deployment file.
import { BaseError, decodeErrorResult, type Abi, type Hex } from 'viem';
import { VeritrainError, type ErrorOptions } from '../errors.ts';
import * as abis from './abi.ts';

/** A contract call reverted; nothing changed on chain. `errorName`/`args` are the decoded custom error. */
export class ContractRevertError extends VeritrainError {
  override name = 'ContractRevertError';
  readonly errorName: string;
  readonly args: readonly unknown[];
  /** Set when the reverting transaction was mined (sent without a gas estimate). */
  transactionHash?: `0x${string}`;
  constructor(errorName: string, args: readonly unknown[], opts: ErrorOptions & { what?: string } = {}) {
    const shown = args.map((a) => (typeof a === 'bigint' ? a.toString() : String(a))).join(', ');
    super(`${errorName}(${shown})${opts.what ? `: ${opts.what}` : ''}`, opts);
    this.errorName = errorName;
    this.args = args;
  }
}

/** The RPC endpoint failed or is unreachable. */
export class ChainError extends VeritrainError {
  override name = 'ChainError';
}

/** A deployment file is missing, malformed, or does not match the chain. */
export class DeploymentError extends VeritrainError {
  override name = 'DeploymentError';
}

export const JOB_STATES = ['none', 'open', 'claimed', 'submitted', 'disputed', 'finalized', 'cancelled'] as const;
/** Verifier slot status and probe dispute state names by their on-chain number (JobMarketBase.SLOT_*, PROBE_*). */
export const SLOT_STATUSES = ['none', 'drawn', 'committed', 'revealed', 'replaced'] as const;
export const PROBE_STATES = ['none', 'open', 'verifier-won', 'solver-won'] as const;
export const GAME_PHASES = ['none', 'defender-moves', 'challenger-moves', 'judging', 'awaiting-judge', 'defender-won', 'challenger-won'] as const;

const at = (t: unknown) => new Date(Number(t) * 1000).toISOString();

/** What each custom error means and what to do about it (keyed by error name). */
const EXPLAIN: Record<string, (args: readonly any[]) => { what: string; hint?: string }> = {
  ZeroAddress: () => ({ what: 'the zero address is not allowed here' }),
  InsufficientBalance: (a) => ({ what: `token balance ${a[1]} is below the ${a[2]} needed`, hint: 'get tokens first (on a devnet: veritrain faucet)' }),
  InsufficientAllowance: (a) => ({ what: `allowance ${a[2]} is below the ${a[3]} needed`, hint: 'approve the contract to spend the tokens first' }),
  FaucetDisabled: () => ({ what: 'this token has no faucet', hint: 'the faucet exists on devnets and testnets only' }),
  FaucetCooldown: (a) => ({ what: `faucet used recently`, hint: `try again after ${at(a[0])}` }),
  TokenTransferFailed: () => ({ what: 'the token refused the transfer' }),
  BadRoles: (a) => ({ what: `role mask ${a[0]} is not valid`, hint: 'use a non-zero mask of solver=1, verifier=2, submitter=4, watcher=8' }),
  BadHardware: () => ({ what: 'cores and memory must be positive' }),
  BadPeerId: () => ({ what: 'not an Ed25519 or secp256k1 libp2p peer id (or not a point on the curve)' }),
  BadPeerSignature: () => ({ what: 'the peer key did not sign this binding', hint: "sign the registry's bindingMessage(owner) with the node's libp2p key" }),
  PeerAlreadyRegistered: (a) => ({ what: `this peer id is already node ${a[0]}` }),
  UnknownNode: (a) => ({ what: `no node ${a[0]}`, hint: 'register the node first' }),
  NotNodeOwner: (a) => ({ what: `the caller does not own node ${a[0]}`, hint: 'send from the address that registered the node' }),
  ZeroAmount: () => ({ what: 'the amount must be positive' }),
  NotMarket: () => ({ what: 'only the job market may do this' }),
  InsufficientFreeStake: (a) => ({ what: `free stake ${a[1]} is below the ${a[2]} needed`, hint: 'bond more stake, or wait for active jobs to finish' }),
  StakeBelowMinimum: (a) => ({ what: `bonded stake ${a[2]} is below the role minimum ${a[3]}`, hint: 'bond more stake' }),
  NothingUnbonding: () => ({ what: 'nothing is unbonding', hint: 'request an unbond first' }),
  UnbondingNotDue: (a) => ({ what: 'the unbonding delay has not passed', hint: `withdraw after ${at(a[0])}` }),
  AlreadyInVerifierPool: () => ({ what: 'already in the verifier pool' }),
  NotInVerifierPool: () => ({ what: 'not in the verifier pool' }),
  LockUnderflow: () => ({ what: 'more than the locked collateral' }),
  NotRecorder: () => ({ what: 'only the job market records reputation' }),
  BadKind: () => ({ what: 'unknown reputation kind' }),
  BadParams: () => ({ what: 'invalid game parameters' }),
  UnknownGame: (a) => ({ what: `no game ${a[0]}` }),
  WrongPhase: (a) => ({ what: `game ${a[0]} is in phase ${GAME_PHASES[Number(a[1])] ?? a[1]}`, hint: 'read the game and make the move its phase asks for' }),
  NotYourMove: (a) => ({ what: `it is ${a[1]}'s move` }),
  MoveTooLate: (a) => ({ what: `the move deadline passed at ${at(a[1])}`, hint: 'the other side may now end the game by timeout' }),
  NotTimedOut: (a) => ({ what: `the deadline is ${at(a[1])}`, hint: 'wait until the deadline has passed' }),
  BadMerkleProof: (a) => ({ what: `the leaf ${a[1]} does not match the committed root with this proof` }),
  NotJudge: () => ({ what: "only the game's judge may resolve it" }),
  BadVerdict: (a) => ({ what: `the judge returned verdict ${a[0]}` }),
  Reentrancy: () => ({ what: 're-entrant call refused' }),
  BadConfig: () => ({ what: 'invalid market configuration' }),
  ZeroHash: () => ({ what: 'a hash argument is zero' }),
  BadDuration: () => ({ what: 'the duration must be positive' }),
  BadSteps: (a) => ({
    what: `steps ${a[0]} with checkpoint interval ${a[1]} cannot be checkpointed${Number(a[1]) < 2 ? ' or probed' : ''}`,
    hint: 'steps and the interval must be positive; jobs with verifiers need both >= 2 and steps % interval != 1 (a probe is a state between checkpoints)',
  }),
  BadSampling: (a) => ({ what: `verifiers ${a[0]} with samples ${a[1]}`, hint: 'samples must be 1..16 with verifiers and 0 without' }),
  TooManyVerifiers: (a) => ({ what: `at most ${a[0]} verifiers per job` }),
  ChallengeWindowTooShort: (a) => ({ what: `the challenge window must be at least ${a[0]} s` }),
  CollateralBelowBond: (a) => ({ what: `the collateral must be positive and at least the dispute bond ${a[0]}` }),
  UnknownJob: (a) => ({ what: `no job ${a[0]}` }),
  BadState: (a) => ({ what: `job ${a[0]} is ${JOB_STATES[Number(a[1])] ?? a[1]}`, hint: 'read the job and act on its current state' }),
  NotSubmitter: (a) => ({ what: `only the submitter of job ${a[0]} may do this` }),
  NotSolver: (a) => ({ what: `only the solver of job ${a[0]} may do this` }),
  MissingRole: (a) => ({ what: `node ${a[0]} lacks role ${a[1]}`, hint: 'update the node with the role' }),
  PriorityWindow: (a) => ({ what: 'only nodes with a positive reputation score may claim yet', hint: `claim after ${at(a[1])}` }),
  DeadlinePassed: (a) => ({ what: `the job's deadline passed at ${at(a[1])}`, hint: 'the job can now be reopened (reopenExpired)' }),
  NotExpired: (a) => ({ what: `the solver has until ${at(a[1])}` }),
  NodeIdTooLarge: (a) => ({ what: `node id ${a[0]} does not fit the market's 32-bit node field` }),
  BadCheckpointCount: (a) => ({ what: `count ${a[0]} must grow past ${a[1]} and stay within ${a[2]}` }),
  ChallengeWindowClosed: (a) => ({ what: `the challenge window closed at ${at(a[1])}` }),
  ChallengeWindowOpen: (a) => ({ what: `the challenge window is open until ${at(a[1])}`, hint: 'finalize after it closes' }),
  CannotChallengeOwnResult: () => ({ what: 'a solver cannot challenge its own result' }),
  DisputeNotOver: (a) => ({ what: `game ${a[1]} is still in phase ${GAME_PHASES[Number(a[2])] ?? a[2]}`, hint: 'play the game to its end (moves, judge or timeout) first' }),
  NoVerifiersRequested: () => ({ what: 'this job asked for no verifiers' }),
  VerifiersAlreadyDrawn: () => ({ what: 'verifiers are already drawn' }),
  RandomnessNotReady: (a) => ({ what: `the draw uses block ${a[1]}'s hash`, hint: 'wait for a later block' }),
  NotDrawnVerifier: () => ({ what: 'the caller was not drawn as a verifier of this job' }),
  AlreadyAttested: () => ({ what: 'already attested' }),
  NoTimeToVerify: (a) => ({ what: `a verifier round would end at ${at(a[1])}, after the challenge window (${at(a[2])})`, hint: 'draw right after the result; post verifier jobs with a longer challenge window' }),
  VerifierReplaced: (a) => ({ what: `slot ${a[1]} was replaced after missing its commit deadline` }),
  CommitDeadlinePassed: (a) => ({ what: `the commit deadline passed at ${at(a[1])}`, hint: 'the slot can now be replaced (replaceVerifier)' }),
  NotCommitted: () => ({ what: 'the caller has no commitment to reveal', hint: 'attest (commit) first, or it was revealed already' }),
  RevealNotOpen: (a) => ({ what: `reveals open after ${at(a[1])} or once every drawn verifier committed`, hint: 'wait for the commit phase to end' }),
  RevealDeadlinePassed: (a) => ({ what: `the reveal deadline passed at ${at(a[1])}` }),
  WrongProbeCount: (a) => ({ what: `expected ${a[0]} probes, got ${a[1]}`, hint: 'reveal one state hash per position of probesOf(job, verifier)' }),
  RevealMismatch: (a) => ({ what: `agree, probes and salt do not open slot ${a[1]}'s commitment`, hint: 'pass exactly what commitmentOf was computed from' }),
  UnknownSlot: (a) => ({ what: `job ${a[0]} has no verifier slot ${a[1]}` }),
  CommitDeadlineNotPassed: (a) => ({ what: `slot ${a[1]} may still commit until ${at(a[2])}` }),
  NotReplaceable: (a) => ({ what: `slot ${a[1]} is ${SLOT_STATUSES[Number(a[2])] ?? a[2]}`, hint: 'only a drawn slot that missed its commit deadline is replaced' }),
  TooManySlots: () => ({ what: 'this job has drawn the most verifier slots it may (32)' }),
  NotRevealed: (a) => ({ what: `slot ${a[1]} has not revealed` }),
  ProbeAlreadyDisputed: (a) => ({ what: `slot ${a[1]}'s probes were disputed already (one dispute per verifier)` }),
  BadProbeIndex: (a) => ({ what: `probe ${a[0]} of ${a[1]}` }),
  BadCheckpointProof: (a) => ({ what: `the proof does not show the checkpoint before segment ${a[1]}`, hint: 'segment 0: the six manifest fields; else the Merkle proof of checkpointLeaf(job, solver, preState) at segment - 1' }),
  UnknownProbeDispute: (a) => ({ what: `game ${a[0]} is not an open probe dispute of this market` }),
  ProbeDisputesOpen: (a) => ({ what: `${a[1]} probe dispute(s) of job ${a[0]} are open`, hint: 'play them to the end and settleProbeDispute first' }),
  NotDelegated: () => ({ what: "JobMarketVerifiers runs only as the market's code", hint: 'call the JobMarket address' }),
  NothingToWithdraw: () => ({ what: 'nothing is credited to this address' }),
  BadProof: () => ({ what: 'the judge rejected the proof data' }),
  NothingPending: (a) => ({ what: `no pending case for game ${a[0]}` }),
  NotGame: () => ({ what: 'only the bisection game calls the judge' }),
  BadPreimage: () => ({ what: "the proof data does not open the game's leaves" }),
  UnknownSubGame: (a) => ({ what: `game ${a[0]} is not a sub-game of this judge` }),
  SubGameNotOver: (a) => ({ what: `sub-game ${a[0]} is still in phase ${GAME_PHASES[Number(a[1])] ?? a[1]}` }),
};

/** Every custom error of every contract, deduplicated by signature, for decoding revert data. */
export const errorsAbi: Abi = (() => {
  const seen = new Map<string, Abi[number]>();
  for (const abi of Object.values(abis) as Abi[]) {
    for (const item of abi) {
      if (item.type !== 'error') continue;
      seen.set(`${item.name}(${item.inputs.map((i) => i.type).join(',')})`, item);
    }
  }
  return [...seen.values()];
})();

/** Decode revert data (custom error, Error(string) or Panic) into a ContractRevertError. */
export function decodeRevert(data: Hex, cause?: unknown): ContractRevertError {
  try {
    const r = decodeErrorResult({ abi: errorsAbi, data });
    const args = (r.args ?? []) as readonly unknown[];
    const explain = EXPLAIN[r.errorName]?.(args);
    return new ContractRevertError(r.errorName, args, { what: explain?.what, hint: explain?.hint, cause });
  } catch {
    return new ContractRevertError('UnknownRevert', [data], { what: 'revert data matches no known error', cause });
  }
}

function revertData(e: unknown): Hex | undefined {
  if (!(e instanceof BaseError)) return undefined;
  let found: Hex | undefined;
  e.walk((err) => {
    const x = err as { raw?: unknown; data?: unknown };
    const d = typeof x.raw === 'string' ? x.raw : typeof x.data === 'string' ? x.data : undefined;
    if (d && /^0x[0-9a-f]{8}/i.test(d)) found = d as Hex;
    return false;
  });
  return found;
}

/** Turn anything a viem call threw into a VeritrainError with a hint. `rpcUrl` names the endpoint. */
export function toChainError(e: unknown, rpcUrl?: string): VeritrainError {
  if (e instanceof VeritrainError) return e;
  const data = revertData(e);
  if (data) return decodeRevert(data, e);
  const msg = e instanceof BaseError ? e.shortMessage : (e as Error)?.message ?? String(e);
  const details = e instanceof BaseError ? e.details : undefined;
  if (/fetch failed|ECONNREFUSED|HTTP request failed|socket hang up/i.test(`${msg} ${details ?? ''}`)) {
    return new ChainError(`cannot reach the chain RPC${rpcUrl ? ` at ${rpcUrl}` : ''}`, {
      details,
      hint: 'start the devnet (veritrain devnet up) or pass --rpc <url> of a running node',
      cause: e,
    });
  }
  if (/insufficient funds/i.test(msg)) {
    return new ChainError('the sending account cannot pay for gas', { details, hint: 'fund the account with the native coin', cause: e });
  }
  return new ChainError(msg, { details, cause: e });
}
