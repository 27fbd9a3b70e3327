// The op judge (contracts/verify/OpJudge.sol, dispute levels 3+4) on a chain: deploy it, open a
// dispute, the moves of both parties, the judge call built from an OpProver, and a driver that
// plays a whole dispute between two parties (the tests and the dispute bench use it; the node's
// dispute driver calls the same moves).
import {
  BaseError, bytesToHex, createPublicClient, createWalletClient, decodeErrorResult, decodeEventLog, http,
  type Abi, type Account, type Address, type Hex, type PublicClient, type TransactionReceipt, type WalletClient,
} from 'viem';
import type { ElementOpening } from '../train/commit.ts';
import { OpProver, splitPoints } from '../verify/ops/prover.ts';
import { chainOf, devAccount } from './client.ts';
import { CONTRACTS_DIR, artifactOf, compileSolidity, loadContractSources, type Artifacts } from './compile.ts';
import { ChainError, ContractRevertError } from './errors.ts';

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
  pre: Hex;
  post: Hex;
}

export async function getOpDispute(c: OpJudgeClient, id: bigint): Promise<OpDisputeView> {
  const g = await view<Record<string, any>>(c, 'getDispute', [id]);
  return {
    phase: OP_PHASES[Number(g.phase)], challenger: g.challenger, defender: g.defender, deadline: Number(g.deadline),
    lo: Number(g.lo), hi: Number(g.hi), pre: g.pre, post: g.post,
  };
}

export async function opOutcome(c: OpJudgeClient, id: bigint): Promise<OpPhase> {
  return OP_PHASES[Number(await view<number>(c, 'outcome', [id]))];
}

export function revealStates(c: OpJudgeClient, id: bigint, leaves: readonly Hex[]): Promise<Sent> {
  return write(c, 'reveal', [id, leaves]);
}

export function answerStates(c: OpJudgeClient, id: bigint, leaves: readonly Hex[], choice: number): Promise<Sent> {
  return write(c, 'answer', [id, leaves, BigInt(choice)]);
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
export async function judgeOpStep(c: OpJudgeClient, id: bigint, p: OpProver): Promise<Sent> {
  const g = await getOpDispute(c, id);
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
  rounds: number;
  judgedStep: number | null;
  gas: { reveals: bigint[]; answers: bigint[]; judge: bigint | null };
}

/**
 * Play an open dispute to its end: the defender reveals its leaves, the challenger chooses the
 * first part its own leaves disagree with, the defender calls the judge.
 */
export async function playOpDispute(id: bigint, defender: Party, challenger: Party): Promise<PlayResult> {
  const k = defender.client.d.arity;
  const gas: PlayResult['gas'] = { reveals: [], answers: [], judge: null };
  let rounds = 0;
  let judgedStep: number | null = null;
  for (;;) {
    const g = await getOpDispute(defender.client, id);
    if (g.phase === 'defender-moves') {
      const leaves = defender.prover.reveal(g.lo, g.hi, k).map(hex);
      const sent = await revealStates(defender.client, id, leaves);
      gas.reveals.push(sent.gasUsed);
      // The challenger reads the revealed leaves from the log.
      const ev = eventsOf(challenger.client, sent.receipt).find((x) => x.eventName === 'StatesRevealed')!;
      const shown = ev.args.leaves as Hex[];
      const points = splitPoints(g.lo, g.hi, k);
      if (shown.length !== points.length) throw new ChainError('revealed leaf count does not match the split');
      const choice = challenger.prover.choose(g.lo, g.hi, k, shown.map((h) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))));
      gas.answers.push((await answerStates(challenger.client, id, shown, choice)).gasUsed);
      rounds++;
    } else if (g.phase === 'judging') {
      judgedStep = g.lo;
      gas.judge = (await judgeOpStep(defender.client, id, defender.prover)).gasUsed;
    } else {
      return { phase: g.phase, rounds, judgedStep, gas };
    }
  }
}
