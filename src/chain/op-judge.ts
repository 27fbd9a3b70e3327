// The op judge (contracts/verify/OpJudge.sol, dispute levels 3+4) on a chain: deploy it, open a
// dispute, the moves of both parties, the judge call built from an OpProver, and a driver that
// plays a whole dispute between two parties (the tests and the dispute bench use it; the node's
// dispute driver calls the same moves).
import {
  BaseError, bytesToHex, createPublicClient, createWalletClient, decodeErrorResult, decodeEventLog, http,
  type Abi, type Account, type Address, type Hex, type PublicClient, type TransactionReceipt, type WalletClient,
} from 'viem';
import type { ElementOpening } from '../train/commit.ts';
import { OpProver, partOf, splitPoints } from '../verify/ops/prover.ts';
import { chainOf, devAccount } from './client.ts';
import { CONTRACTS_DIR, artifactOf, compileSolidity, loadContractSources, type Artifacts } from './compile.ts';
import { ChainError, ContractRevertError } from './errors.ts';
import type { Sender } from './sender.ts';

export const OP_PHASES = ['none', 'defender-moves', 'challenger-moves', 'judging', 'none', 'defender-won', 'challenger-won'] as const;
export type OpPhase = (typeof OP_PHASES)[number];

export interface OpJudgeDeployment {
  rpcUrl: string;
  chainId: number;
  opJudge: Address;
  programs: Address;
  arity: number;
  abi: Abi;
  programsAbi: Abi;
}

export interface OpJudgeClient {
  d: OpJudgeDeployment;
  public: PublicClient;
  wallet?: WalletClient;
  account?: Account;
  /** Send moves through this (the dispute port's sender: explicit gas, local nonce) instead of writeContract with an estimate. */
  sender?: Sender;
  /** Gas limits with `sender` (default: move 800k, judge 2M). */
  gas?: { move: bigint; judge: bigint };
}

async function clients(rpcUrl: string, account?: Account) {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chain = chainOf(await probe.getChainId(), rpcUrl);
  const pub = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 0 }), pollingInterval: 20 }) as PublicClient;
  const wallet = account ? createWalletClient({ chain, account, transport: http(rpcUrl, { retryCount: 0 }), pollingInterval: 20 }) : undefined;
  return { chain, pub, wallet };
}

/** The op judge's sources alone (contracts/verify holds other judges that need contracts/core). */
export const OP_JUDGE_SOURCES = ['verify/OpJudge', 'verify/IOpJudge.sol', 'verify/SoftFloat32.sol', 'verify/TensorCommit.sol'];

export function compileOpJudge(): Promise<Artifacts> {
  return compileSolidity(loadContractSources(CONTRACTS_DIR, OP_JUDGE_SOURCES));
}

/** Deploy one contract of the op judge's sources without constructor arguments (e.g. TensorCommitTester). */
export async function deployOpJudgeContract(rpcUrl: string, name: string, account: Account = devAccount(0)): Promise<{ address: Address; abi: Abi; client: PublicClient }> {
  const art = artifactOf(await compileOpJudge(), name);
  const { chain, pub, wallet } = await clients(rpcUrl, account);
  const hash = await wallet!.deployContract({ abi: art.abi, bytecode: art.bytecode, account, chain });
  const r = await pub.waitForTransactionReceipt({ hash });
  if (!r.contractAddress) throw new ChainError(`${name} deployment failed`, { details: hash });
  return { address: r.contractAddress, abi: art.abi, client: pub };
}

/** Deploy OpJudgePrograms and OpJudge (k = arity parts per round, default 16). */
export async function deployOpJudge(rpcUrl: string, opts: { arity?: number; account?: Account } = {}): Promise<OpJudgeDeployment> {
  const arts = await compileOpJudge();
  const progArt = artifactOf(arts, 'OpJudgePrograms'), judgeArt = artifactOf(arts, 'OpJudge');
  const account = opts.account ?? devAccount(0);
  const { chain, pub, wallet } = await clients(rpcUrl, account);
  const arity = opts.arity ?? 16;
  const deploy = async (abi: Abi, bytecode: Hex, args: unknown[]) => {
    const hash = await wallet!.deployContract({ abi, bytecode, args, account, chain });
    const r = await pub.waitForTransactionReceipt({ hash });
    if (!r.contractAddress) throw new ChainError('op judge deployment failed', { details: hash });
    return r.contractAddress;
  };
  const programs = await deploy(progArt.abi, progArt.bytecode, []);
  const opJudge = await deploy(judgeArt.abi, judgeArt.bytecode, [programs, BigInt(arity)]);
  return { rpcUrl, chainId: chain.id, opJudge, programs, arity, abi: judgeArt.abi, programsAbi: progArt.abi };
}

export async function opJudgeClient(d: OpJudgeDeployment, account?: Account): Promise<OpJudgeClient> {
  const { pub, wallet } = await clients(d.rpcUrl, account);
  return { d, public: pub, wallet, account };
}

/** Both contracts' errors (OpJudge bubbles up OpJudgePrograms' reverts). */
function errorAbi(d: OpJudgeDeployment): Abi {
  return [...d.abi, ...d.programsAbi].filter((x) => x.type === 'error');
}

function toRevert(e: unknown, abi: Abi): Error {
  if (e instanceof BaseError) {
    let data: Hex | undefined;
    e.walk((err) => {
      const x = err as { raw?: unknown; data?: unknown };
      const v = typeof x.raw === 'string' ? x.raw : typeof x.data === 'string' ? x.data : undefined;
      if (v && /^0x[0-9a-f]{8}/i.test(v)) data = v as Hex;
      return false;
    });
    if (data) {
      try {
        const r = decodeErrorResult({ abi, data });
        return new ContractRevertError(r.errorName, (r.args ?? []) as readonly unknown[], { cause: e });
      } catch {
        return new ContractRevertError('UnknownRevert', [data], { cause: e });
      }
    }
    return new ChainError(e.shortMessage, { details: e.details, cause: e });
  }
  return e as Error;
}

export interface Sent {
  receipt: TransactionReceipt;
  gasUsed: bigint;
}

async function write(c: OpJudgeClient, functionName: string, args: unknown[]): Promise<Sent> {
  if (c.sender) {
    const gas = functionName === 'judge' ? c.gas?.judge ?? 2_000_000n : c.gas?.move ?? 800_000n;
    try {
      const r = await c.sender({ address: c.d.opJudge, abi: c.d.abi, functionName, args, gas });
      return { receipt: r.receipt, gasUsed: r.gasUsed };
    } catch (e) {
      if (e instanceof ContractRevertError && e.errorName === 'UnknownRevert') {
        try {
          const r = decodeErrorResult({ abi: errorAbi(c.d), data: e.args[0] as Hex });
          throw new ContractRevertError(r.errorName, (r.args ?? []) as readonly unknown[], { cause: e });
        } catch (inner) {
          if (inner instanceof ContractRevertError) throw inner;
        }
      }
      throw e;
    }
  }
  if (!c.wallet || !c.account) throw new ChainError('this move sends a transaction but the client has no account');
  try {
    const hash = await c.wallet.writeContract({ address: c.d.opJudge, abi: c.d.abi, functionName, args, account: c.account, chain: c.wallet.chain });
    const receipt = await c.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new ChainError(`${functionName} reverted on chain`, { details: hash });
    return { receipt, gasUsed: receipt.gasUsed };
  } catch (e) {
    throw toRevert(e, errorAbi(c.d));
  }
}

async function view<T>(c: OpJudgeClient, functionName: string, args: unknown[]): Promise<T> {
  try {
    return (await c.public.readContract({ address: c.d.opJudge, abi: c.d.abi, functionName, args })) as T;
  } catch (e) {
    throw toRevert(e, errorAbi(c.d));
  }
}

const hex = (b: Uint8Array): Hex => bytesToHex(b);

/** IOpJudge.OpCase of a prover's op (its inputs and claimed output) between two parties. */
export function opCaseOf(p: OpProver, parties: { challenger: Address; defender: Address; moveTimeout?: number; context?: Hex }) {
  return {
    op: hex(p.op),
    inputs: p.inputCommits.map(hex),
    output: hex(p.outputCommit),
    outputRoot: hex(p.outputTree.root),
    challenger: parties.challenger,
    defender: parties.defender,
    moveTimeout: parties.moveTimeout ?? 3600,
    context: parties.context ?? (`0x${'00'.repeat(32)}` as Hex),
  };
}

export async function openOpDispute(c: OpJudgeClient, opCase: ReturnType<typeof opCaseOf>): Promise<{ id: bigint } & Sent> {
  const sent = await write(c, 'open', [opCase]);
  const ev = eventsOf(c, sent.receipt).find((x) => x.eventName === 'OpDisputeOpened');
  if (!ev) throw new ChainError('open emitted no OpDisputeOpened');
  return { id: ev.args.id as bigint, ...sent };
}

export function eventsOf(c: OpJudgeClient, receipt: TransactionReceipt): { eventName: string; args: Record<string, unknown> }[] {
  const out: { eventName: string; args: Record<string, unknown> }[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== c.d.opJudge.toLowerCase()) continue;
    try {
      const ev = decodeEventLog({ abi: c.d.abi, data: log.data, topics: log.topics });
      out.push({ eventName: String(ev.eventName), args: ev.args as unknown as Record<string, unknown> });
    } catch {
      // not one of ours
    }
  }
  return out;
}

export interface OpDisputeView {
  phase: OpPhase;
  challenger: Address;
  defender: Address;
  deadline: number;
  lo: number;
  hi: number;
  /** bytes32(0) while lo is 0: the genesis. */
  pre: Hex;
  post: Hex;
  postByChallenger: boolean;
  /** keccak256 of the last revealed leaves (zero before the first reveal). */
  revealed: Hex;
}

export async function getOpDispute(c: OpJudgeClient, id: bigint): Promise<OpDisputeView> {
  const g = await view<Record<string, any>>(c, 'getDispute', [id]);
  return {
    phase: OP_PHASES[Number(g.phase)], challenger: g.challenger, defender: g.defender, deadline: Number(g.deadline),
    lo: Number(g.lo), hi: Number(g.hi), pre: g.pre, post: g.post, postByChallenger: g.postByChallenger, revealed: g.revealed,
  };
}

export async function opOutcome(c: OpJudgeClient, id: bigint): Promise<OpPhase> {
  return OP_PHASES[Number(await view<number>(c, 'outcome', [id]))];
}

/** The defender's first move: its states at the split points of (0, T). */
export function revealStates(c: OpJudgeClient, id: bigint, leaves: readonly Hex[]): Promise<Sent> {
  return write(c, 'reveal', [id, leaves]);
}

/** A later move: the other party's last reveal, the part disputed, the mover's states inside it. */
export function moveStates(c: OpJudgeClient, id: bigint, revealed: readonly Hex[], choice: number, leaves: readonly Hex[]): Promise<Sent> {
  return write(c, 'move', [id, revealed, BigInt(choice), leaves]);
}

/** The leaves a move revealed (from its StatesRevealed log), or [] when it left one step. */
export function revealedBy(c: OpJudgeClient, sent: Sent): Hex[] {
  const ev = eventsOf(c, sent.receipt).find((x) => x.eventName === 'StatesRevealed');
  return ev ? [...(ev.args.leaves as Hex[])] : [];
}

export function timeoutOpDispute(c: OpJudgeClient, id: bigint): Promise<Sent> {
  return write(c, 'timeout', [id]);
}

/** The judge call's arguments for step t of a prover's op: (op, inputs, pre, openings). */
export function judgeCallArgs(p: OpProver, t: number): [Hex, Hex[], { outRoot: Hex; pc: number; regs: number[] }, { chunk: Hex; siblings: Hex[] }[]] {
  const { pre, openings } = p.judgeArgs(t);
  return [
    hex(p.op),
    p.inputCommits.map(hex),
    { outRoot: hex(pre.outRoot), pc: pre.pc, regs: Array.from(pre.regs) },
    openings.map((o: ElementOpening) => ({ chunk: hex(o.chunk), siblings: o.siblings.map(hex) })),
  ];
}

/** Call the judge on the dispute's last step with the prover's proof data. */
export async function judgeOpStep(c: OpJudgeClient, id: bigint, p: OpProver, known?: OpDisputeView): Promise<Sent> {
  const g = known ?? (await getOpDispute(c, id));
  return write(c, 'judge', [id, ...judgeCallArgs(p, g.lo)]);
}

/** eth_call of OpJudge.stepLeaf: the contract's leaf after step t from the prover's state t. */
export async function stepLeafOnChain(c: OpJudgeClient, p: OpProver, t: number): Promise<Hex> {
  return view<Hex>(c, 'stepLeaf', [...judgeCallArgs(p, t), BigInt(t)]);
}

export interface Party {
  client: OpJudgeClient;
  prover: OpProver;
}

export interface PlayResult {
  phase: OpPhase;
  /** Transactions of the game before the judge call (the first reveal and every move). */
  moves: number;
  judgedStep: number | null;
  gas: { moves: bigint[]; judge: bigint | null };
}

const bytesOf = (h: Hex) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));

/**
 * One turn of `me` in an open dispute: the first reveal, or a choice of the first part of the
 * other party's last reveal `shown` that its own leaves disagree with plus its own leaves inside.
 * Returns the leaves it revealed.
 */
export async function takeTurn(id: bigint, me: Party, shown: readonly Hex[] | null, known?: OpDisputeView): Promise<{ sent: Sent; leaves: Hex[] }> {
  const k = me.client.d.arity;
  const g = known ?? (await getOpDispute(me.client, id));
  if (shown === null) {
    const leaves = me.prover.reveal(g.lo, g.hi, k).map(hex);
    return { sent: await revealStates(me.client, id, leaves), leaves };
  }
  const choice = me.prover.choose(g.lo, g.hi, k, shown.map(bytesOf));
  const [lo, hi] = partOf(g.lo, g.hi, shown.length, choice);
  const leaves = hi - lo > 1 ? me.prover.reveal(lo, hi, k).map(hex) : [];
  return { sent: await moveStates(me.client, id, shown, choice, leaves), leaves };
}

/** The judge call by whichever party holds the agreed pre-state (an honest one always does). */
export async function judgeByEither(id: bigint, a: Party, b: Party): Promise<Sent> {
  const g = await getOpDispute(a.client, id);
  const pre = (p: OpProver) => (g.pre === `0x${'00'.repeat(32)}` ? g.lo === 0 : hex(p.leaf(g.lo)) === g.pre);
  const caller = pre(a.prover) ? a : b;
  return judgeOpStep(caller.client, id, caller.prover);
}

/** The leaves of the last StatesRevealed of a dispute (from the log; [] before the first reveal). */
export async function lastRevealed(c: OpJudgeClient, id: bigint): Promise<Hex[]> {
  const logs = await c.public.getContractEvents({ address: c.d.opJudge, abi: c.d.abi, eventName: 'StatesRevealed', args: { id }, fromBlock: 0n });
  const last = logs[logs.length - 1] as unknown as { args: { leaves: Hex[] } } | undefined;
  return last ? [...last.args.leaves] : [];
}

export type OpAction = 'moved' | 'judged' | 'timed-out' | 'waiting' | 'over';

/**
 * What a dispute driver calls whenever it looks at an op dispute: this party does what is due —
 * its turn (the first reveal, or choose + reveal), the judge call when one step is left and it
 * holds the agreed pre-state, or the timeout when the other side missed its deadline. `shown` may
 * pass the other party's last leaves (else they are read from the log); `known` the dispute's state
 * and the chain's time when the caller has just read them. Returns what it did.
 */
export async function actOnOpDispute(
  id: bigint, me: Party, role: 'defender' | 'challenger', shown?: readonly Hex[], known?: { view?: OpDisputeView; now?: number },
): Promise<{ action: OpAction; sent?: Sent; deadline: number }> {
  const g = known?.view ?? (await getOpDispute(me.client, id));
  if (g.phase === 'defender-won' || g.phase === 'challenger-won') return { action: 'over', deadline: 0 };
  const now = known?.now ?? Number((await me.client.public.getBlock()).timestamp);
  const myTurn = (g.phase === 'defender-moves' && role === 'defender') || (g.phase === 'challenger-moves' && role === 'challenger');
  if (now > g.deadline) {
    // The other side's turn is late (or nobody judged: the post's claimant loses).
    const otherLate = !myTurn && (g.phase !== 'judging' || (g.postByChallenger ? role === 'defender' : role === 'challenger'));
    if (otherLate) return { action: 'timed-out', sent: await timeoutOpDispute(me.client, id), deadline: 0 };
    return { action: 'waiting', deadline: g.deadline };
  }
  if (myTurn) {
    const zero = g.revealed === `0x${'00'.repeat(32)}`;
    const { sent } = await takeTurn(id, me, zero ? null : shown ? [...shown] : await lastRevealed(me.client, id), g);
    return { action: 'moved', sent, deadline: g.deadline };
  }
  if (g.phase === 'judging') {
    const holdsPre = g.pre === `0x${'00'.repeat(32)}` ? g.lo === 0 : hex(me.prover.leaf(g.lo)) === g.pre;
    if (holdsPre) return { action: 'judged', sent: await judgeOpStep(me.client, id, me.prover, g), deadline: g.deadline };
  }
  return { action: 'waiting', deadline: g.deadline };
}

/**
 * Play an open dispute to its end, both parties following their provers: the defender reveals,
 * then each turn chooses the first disputed part of the other's last reveal and reveals inside it;
 * the judge call is made by the party holding the agreed pre-state.
 */
export async function playOpDispute(id: bigint, defender: Party, challenger: Party): Promise<PlayResult> {
  const gas: PlayResult['gas'] = { moves: [], judge: null };
  let shown: Hex[] | null = null;
  let judgedStep: number | null = null;
  for (;;) {
    const g = await getOpDispute(defender.client, id);
    if (g.phase === 'defender-moves' || g.phase === 'challenger-moves') {
      const me = g.phase === 'defender-moves' ? defender : challenger;
      const { sent } = await takeTurn(id, me, g.revealed === `0x${'00'.repeat(32)}` ? null : shown);
      gas.moves.push(sent.gasUsed);
      shown = revealedBy(me.client, sent);
    } else if (g.phase === 'judging') {
      judgedStep = g.lo;
      gas.judge = (await judgeByEither(id, defender, challenger)).gasUsed;
    } else {
      return { phase: g.phase, moves: gas.moves.length, judgedStep, gas };
    }
  }
}
