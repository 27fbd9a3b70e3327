// The verification judges of dispute levels 0–2 (contracts/verify/CheckpointJudge.sol,
// StepJudge.sol) on a chain: deploy them, call a game's judge with their proof data (reverts
// decoded with their errors), settle finished sub-games upward, and find the sub-game a judged
// game opened.
import { decodeErrorResult, parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import { ContractRevertError } from './errors.ts';
import { bisectionGameAbi } from './abi.ts';
import { send, type ChainClient, type TxResult } from './client.ts';
import { artifactOf, compileContracts, type Artifacts } from './compile.ts';

export interface JudgesDeployment {
  checkpointJudge: Address;
  stepJudge: Address;
  opJudge: Address;
  moveTimeout: number;
  arity: number;
}

export interface JudgeAbis {
  checkpointJudge: Abi;
  stepJudge: Abi;
  fixedJobShape: Abi;
}

let compiled: Promise<Artifacts> | undefined;
/** Every contract (the judges import core and verify). */
export function compileJudges(): Promise<Artifacts> {
  return (compiled ??= compileContracts());
}

let provided: JudgeAbis | undefined;
/** Use these ABIs instead of compiling (a process handed them by its parent: loading solc takes ~1 s). */
export function provideJudgeAbis(a: JudgeAbis): void {
  provided = a;
}

export async function judgeAbis(): Promise<JudgeAbis> {
  if (provided) return provided;
  const a = await compileJudges();
  return {
    checkpointJudge: artifactOf(a, 'CheckpointJudge').abi,
    stepJudge: artifactOf(a, 'StepJudge').abi,
    fixedJobShape: artifactOf(a, 'FixedJobShape').abi,
  };
}

async function deploy(c: ChainClient, name: string, args: readonly unknown[]): Promise<Address> {
  const art = artifactOf(await compileJudges(), name);
  const hash = await c.wallet!.deployContract({ abi: art.abi, bytecode: art.bytecode, args: args as never });
  const r = await c.public.waitForTransactionReceipt({ hash });
  if (!r.contractAddress) throw new ContractRevertError('DeployFailed', [name]);
  return r.contractAddress;
}

/**
 * Deploy StepJudge then CheckpointJudge for `market` (anything with IJobShape) on the deployment's
 * BisectionGame, handing ops to `opJudge` (contracts/verify/OpJudge.sol).
 */
export async function deployJudges(c: ChainClient, o: { market: Address; opJudge: Address; moveTimeout?: number; arity?: number }): Promise<JudgesDeployment> {
  const moveTimeout = o.moveTimeout ?? c.deployment.params?.moveTimeout ?? 3600;
  const arity = o.arity ?? 16;
  const game = c.deployment.contracts.game;
  const stepJudge = await deploy(c, 'StepJudge', [game, o.market, o.opJudge, moveTimeout, arity]);
  const checkpointJudge = await deploy(c, 'CheckpointJudge', [game, o.market, stepJudge, moveTimeout, arity]);
  return { checkpointJudge, stepJudge, opJudge: o.opJudge, moveTimeout, arity };
}

/** The judges' tests stand in for the market with FixedJobShape. */
export async function deployFixedJobShape(c: ChainClient): Promise<Address> {
  return deploy(c, 'FixedJobShape', []);
}

export async function setJobShape(c: ChainClient, at: Address, s: { jobId: bigint; inputs: Hex; solver: Address; steps: number; checkpointInterval: number }): Promise<TxResult> {
  const { fixedJobShape } = await judgeAbis();
  return send(c, (w, x) => w.writeContract({ ...x, address: at, abi: fixedJobShape, functionName: 'set', args: [s.jobId, s.inputs, s.solver, s.steps, s.checkpointInterval] }));
}

async function allErrors(): Promise<Abi> {
  const a = await judgeAbis();
  return [...bisectionGameAbi, ...a.checkpointJudge, ...a.stepJudge].filter((x) => x.type === 'error') as Abi;
}

/**
 * A revert the generic decoder could not name (a judge's error, nested in the game's callJudge, or
 * a judge's own): decoded with the game's and the judges' errors. Anything else is returned as is.
 */
export async function decodeJudgeRevert(e: unknown): Promise<unknown> {
  if (e instanceof ContractRevertError && e.errorName === 'UnknownRevert') {
    try {
      const r = decodeErrorResult({ abi: await allErrors(), data: e.args[0] as Hex });
      return Object.assign(new ContractRevertError(r.errorName, (r.args ?? []) as readonly unknown[], { cause: e }), e.transactionHash ? { transactionHash: e.transactionHash } : {});
    } catch {
      return e;
    }
  }
  return e;
}

/** Reverts of a judge nested in the game's callJudge come back with the judge's error names. */
async function decoded<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw await decodeJudgeRevert(e);
  }
}

/** BisectionGame.callJudge with level 0–2 proof data; returns the transaction and the judges' events. */
export async function callJudge(c: ChainClient, gameId: bigint, proof: Hex): Promise<TxResult & { judgeEvents: { eventName: string; args: Record<string, unknown> }[] }> {
  const tx = await decoded(send(c, (w, x) => w.writeContract({ ...x, address: c.deployment.contracts.game, abi: bisectionGameAbi, functionName: 'callJudge', args: [gameId, proof] })));
  const a = await judgeAbis();
  const judgeEvents = parseEventLogs({ abi: [...a.checkpointJudge, ...a.stepJudge] as Abi, logs: tx.receipt.logs }).map((l) => ({
    eventName: l.eventName as string,
    args: l.args as Record<string, unknown>,
  }));
  return { ...tx, judgeEvents };
}

/** CheckpointJudge.settle: a finished level-1 game decides its level-0 game. */
export async function settleSegment(c: ChainClient, j: JudgesDeployment, subGameId: bigint): Promise<TxResult> {
  const { checkpointJudge } = await judgeAbis();
  return decoded(send(c, (w, x) => w.writeContract({ ...x, address: j.checkpointJudge, abi: checkpointJudge, functionName: 'settle', args: [subGameId] })));
}

/** StepJudge.settle: a finished level-2 game decides its level-1 game. */
export async function settleOps(c: ChainClient, j: JudgesDeployment, subGameId: bigint): Promise<TxResult> {
  const { stepJudge } = await judgeAbis();
  return decoded(send(c, (w, x) => w.writeContract({ ...x, address: j.stepJudge, abi: stepJudge, functionName: 'settle', args: [subGameId] })));
}

/** StepJudge.settleOp: a finished op dispute decides its level-2 game. */
export async function settleOpDispute(c: ChainClient, j: JudgesDeployment, opId: bigint): Promise<TxResult> {
  const { stepJudge } = await judgeAbis();
  return decoded(send(c, (w, x) => w.writeContract({ ...x, address: j.stepJudge, abi: stepJudge, functionName: 'settleOp', args: [opId] })));
}

export interface Level2Info {
  parent: bigint;
  S: number;
  I: number;
  nOps: number;
}

/** The step a level-2 game decides (nOps 0: not a level-2 game). */
export async function level2Of(c: ChainClient, j: JudgesDeployment, gameId: bigint): Promise<Level2Info> {
  const { stepJudge } = await judgeAbis();
  const r = (await c.public.readContract({ address: j.stepJudge, abi: stepJudge, functionName: 'level2Of', args: [gameId] })) as Record<string, bigint | number>;
  return { parent: BigInt(r.parent), S: Number(r.S), I: Number(r.I), nOps: Number(r.nOps) };
}

export type Child =
  | { kind: 'segment'; id: bigint; fromStep: number; steps: number }
  | { kind: 'ops'; id: bigint; step: number; ops: number }
  | { kind: 'op'; id: bigint; op: number };

/** The sub-game (or op dispute) a judged game opened, from the judges' events; null if none yet. */
export async function childOf(c: ChainClient, j: JudgesDeployment, gameId: bigint, judge: Address): Promise<Child | null> {
  const a = await judgeAbis();
  const at = judge.toLowerCase();
  if (at === j.checkpointJudge.toLowerCase()) {
    const logs = await c.public.getContractEvents({ address: j.checkpointJudge, abi: a.checkpointJudge, eventName: 'SegmentOpened', args: { parentGameId: gameId }, fromBlock: 0n });
    const e = (logs[0] as unknown as { args: { subGameId: bigint; fromStep: bigint; steps: number } } | undefined)?.args;
    return e ? { kind: 'segment', id: e.subGameId, fromStep: Number(e.fromStep), steps: Number(e.steps) } : null;
  }
  if (at !== j.stepJudge.toLowerCase()) return null;
  const ops = await c.public.getContractEvents({ address: j.stepJudge, abi: a.stepJudge, eventName: 'OpsGameOpened', args: { parentGameId: gameId }, fromBlock: 0n });
  const o = (ops[0] as unknown as { args: { subGameId: bigint; step: bigint; ops: number } } | undefined)?.args;
  if (o) return { kind: 'ops', id: o.subGameId, step: Number(o.step), ops: Number(o.ops) };
  const opd = await c.public.getContractEvents({ address: j.stepJudge, abi: a.stepJudge, eventName: 'OpDisputeOpened', args: { parentGameId: gameId }, fromBlock: 0n });
  const d = (opd[0] as unknown as { args: { opId: bigint; op: number } } | undefined)?.args;
  return d ? { kind: 'op', id: d.opId, op: Number(d.op) } : null;
}
