// BisectionGame moves and reads (binary rounds, unrooted k-ary rounds); the TestJudge's deferred decision.
import type { Address, Hex } from 'viem';
import { bisectionGameAbi, testJudgeAbi } from './abi.ts';
import { read, send, type ChainClient, type TxResult } from './client.ts';
import { GAME_PHASES } from './errors.ts';
import { cuts } from '../verify/dispute/driver.ts';

export type GamePhase = (typeof GAME_PHASES)[number];

export interface Game {
  gameId: bigint;
  phase: GamePhase;
  /** Parts per round: 2 (reveal/answer) or k > 2 (revealMany/choosePart, unrooted games). */
  arity: number;
  challenger: Address;
  defender: Address;
  judge: Address;
  deadline: number;
  moveTimeout: number;
  n: number;
  agreed: number;
  disputed: number;
  root: Hex;
  pre: Hex;
  post: Hex;
  revealed: Hex;
  context: Hex;
}

const gameOf = (c: ChainClient) => ({ address: c.deployment.contracts.game, abi: bisectionGameAbi });

/** Defender: reveal the leaf at the game's next index with its Merkle proof. */
export function reveal(c: ChainClient, gameId: bigint, leaf: Hex, proof: readonly Hex[]): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'reveal', args: [gameId, leaf, proof] }));
}

/** Challenger: agree or disagree with the revealed leaf. */
export function answer(c: ChainClient, gameId: bigint, agree: boolean): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'answer', args: [gameId, agree] }));
}

export function callJudge(c: ChainClient, gameId: bigint, proof: Hex = '0x'): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'callJudge', args: [gameId, proof] }));
}

/** End a game whose mover missed the deadline. */
export function timeoutGame(c: ChainClient, gameId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'timeout', args: [gameId] }));
}

export async function getGame(c: ChainClient, gameId: bigint): Promise<Game> {
  const g = await read<Record<string, any>>(c, { ...gameOf(c), functionName: 'getGame', args: [gameId] });
  return {
    gameId,
    phase: GAME_PHASES[g.phase],
    arity: Number(g.arity),
    challenger: g.challenger,
    defender: g.defender,
    judge: g.judge,
    deadline: Number(g.deadline),
    moveTimeout: Number(g.moveTimeout),
    n: Number(g.n),
    agreed: Number(g.agreed),
    disputed: Number(g.disputed),
    root: g.root,
    pre: g.pre,
    post: g.post,
    revealed: g.revealed,
    context: g.context,
  };
}

/**
 * The cut points of a k-ary round over the disputed range (agreed, disputed] (BisectionGame.cutsOf):
 * m = min(k, width) parts, cut i after step agreed + floor(i·width/m); the defender reveals the leaf
 * after each cut (leaf index cut - 1). Part j runs from cut j to cut j+1 (cut 0 = agreed, cut m = disputed).
 */
export function cutsOf(agreed: number, disputed: number, arity: number): number[] {
  return cuts(agreed, disputed, arity);
}

/** The range (agreed, disputed] after the challenger names `part` of a round with cuts `cuts`. */
export function partRange(agreed: number, disputed: number, cuts: readonly number[], part: number): [number, number] {
  const all = [agreed, ...cuts, disputed];
  return [all[part], all[part + 1]];
}

/** Defender of a k-ary game: reveal the leaves after each cut of the disputed range. */
export function revealMany(c: ChainClient, gameId: bigint, leaves: readonly Hex[]): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'revealMany', args: [gameId, leaves] }));
}

/** Challenger of a k-ary game: the first part whose end leaf it disputes, with the revealed leaves. */
export function choosePart(c: ChainClient, gameId: bigint, part: number, leaves: readonly Hex[]): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...gameOf(c), functionName: 'choosePart', args: [gameId, BigInt(part), leaves] }));
}

/** The leaves of the current k-ary round, from its LeavesRevealed event. */
export async function revealedLeaves(c: ChainClient, gameId: bigint): Promise<Hex[]> {
  const logs = await c.public.getContractEvents({ ...gameOf(c), eventName: 'LeavesRevealed', args: { gameId }, fromBlock: 0n });
  const last = logs[logs.length - 1] as unknown as { args: { leaves: Hex[] } } | undefined;
  return last ? [...last.args.leaves] : [];
}

/** The leaf index the defender reveals next. */
export async function nextIndex(c: ChainClient, gameId: bigint): Promise<number> {
  return Number(await read<number>(c, { ...gameOf(c), functionName: 'nextIndex', args: [gameId] }));
}

/** TestJudge in deferred mode: decide a pending case and resolve the game. */
export function decidePending(c: ChainClient, judge: Address, gameId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, address: judge, abi: testJudgeAbi, functionName: 'decide', args: [c.deployment.contracts.game, gameId] }));
}
