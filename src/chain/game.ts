// BisectionGame moves and reads; the TestJudge's deferred decision.
import type { Address, Hex } from 'viem';
import { bisectionGameAbi, testJudgeAbi } from './abi.ts';
import { read, send, type ChainClient, type TxResult } from './client.ts';
import { GAME_PHASES } from './errors.ts';

export type GamePhase = (typeof GAME_PHASES)[number];

export interface Game {
  gameId: bigint;
  phase: GamePhase;
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

/** The leaf index the defender reveals next. */
export async function nextIndex(c: ChainClient, gameId: bigint): Promise<number> {
  return Number(await read<number>(c, { ...gameOf(c), functionName: 'nextIndex', args: [gameId] }));
}

/** TestJudge in deferred mode: decide a pending case and resolve the game. */
export function decidePending(c: ChainClient, judge: Address, gameId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, address: judge, abi: testJudgeAbi, functionName: 'decide', args: [c.deployment.contracts.game, gameId] }));
}
