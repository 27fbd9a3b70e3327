// The dispute driver's chain port (src/verify/dispute/driver.ts DisputePort) over a real chain:
// BisectionGame moves (game.ts), the level 0–2 judges (judges.ts), the op judge of levels 3–4
// (op-judge.ts) and the market's settlement.
import type { Hex } from 'viem';
import type { DisputePort, DisputeRecord, GameState, OpState } from '../verify/dispute/driver.ts';
import type { OpProver } from '../verify/ops/index.ts';
import { addressOf, type ChainClient } from './client.ts';
import * as game from './game.ts';
import { callJudge, childOf, settleOpDispute, settleOps, settleSegment, type JudgesDeployment } from './judges.ts';
import * as market from './market.ts';
import { answerStates, getOpDispute, judgeOpStep, revealStates, timeoutOpDispute, type OpJudgeClient } from './op-judge.ts';

export interface DisputePortOptions {
  client: ChainClient;
  judges: JudgesDeployment;
  op: OpJudgeClient;
  /** The market's settlement when a root game is over (default: JobMarket.settleDispute / settleProbeDispute). */
  settleRoot?: (d: DisputeRecord) => Promise<boolean>;
}

export function disputePort(o: DisputePortOptions): DisputePort {
  const c = o.client;
  const settleRoot = o.settleRoot ?? (async (d: DisputeRecord) => {
    try {
      if (d.level === 0) await market.settleDispute(c, BigInt(d.jobId));
      else await market.settleProbeDispute(c, BigInt(d.game));
      return true;
    } catch (e) {
      // Someone else settled it first: the market is past that state.
      if ((e as { errorName?: string }).errorName && /BadState|Unknown|NotOver|Settled/.test((e as { errorName: string }).errorName)) return false;
      throw e;
    }
  });
  return {
    me: addressOf(c),
    async now() {
      return Number((await c.public.getBlock()).timestamp);
    },
    async game(id): Promise<GameState> {
      const g = await game.getGame(c, id);
      return { ...g, id, phase: g.phase };
    },
    child: (id, judge) => childOf(c, o.judges, id, judge),
    revealedLeaves: (id) => game.revealedLeaves(c, id),
    reveal: async (id, leaf, proof) => void (await game.reveal(c, id, leaf, proof)),
    answer: async (id, agree) => void (await game.answer(c, id, agree)),
    revealMany: async (id, leaves) => void (await game.revealMany(c, id, leaves)),
    choosePart: async (id, part, leaves) => void (await game.choosePart(c, id, part, leaves)),
    callJudge: async (id, proof) => void (await callJudge(c, id, proof)),
    timeout: async (id) => void (await game.timeoutGame(c, id)),
    async settle(child) {
      if (child.kind === 'segment') await settleSegment(c, o.judges, child.id);
      else if (child.kind === 'ops') await settleOps(c, o.judges, child.id);
      else await settleOpDispute(c, o.judges, child.id);
    },
    op: {
      arity: o.op.d.arity,
      async state(id): Promise<OpState> {
        const s = await getOpDispute(o.op, id);
        return { id, phase: s.phase === 'none' ? 'none' : s.phase, deadline: s.deadline, lo: s.lo, hi: s.hi };
      },
      async revealed(id) {
        const logs = await o.op.public.getContractEvents({ address: o.op.d.opJudge, abi: o.op.d.abi, eventName: 'StatesRevealed', args: { id }, fromBlock: 0n });
        const last = logs[logs.length - 1] as unknown as { args: { leaves: Hex[] } } | undefined;
        return last ? [...last.args.leaves] : [];
      },
      reveal: async (id, leaves) => void (await revealStates(o.op, id, leaves)),
      answer: async (id, leaves, choice) => void (await answerStates(o.op, id, leaves, choice)),
      judge: async (id, prover: OpProver) => void (await judgeOpStep(o.op, id, prover)),
      timeout: async (id) => void (await timeoutOpDispute(o.op, id)),
    },
    settleRoot,
  };
}
