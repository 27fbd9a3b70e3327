// The dispute driver's chain port (src/verify/dispute/driver.ts DisputePort) over a real chain:
// BisectionGame moves (game.ts), the level 0–2 judges (judges.ts), the op judge of levels 3–4
// (op-judge.ts) and the market's settlement.
import { parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import type { DisputePort, DisputeRecord, GameState, OpState } from '../verify/dispute/driver.ts';
import type { OpProver } from '../verify/ops/index.ts';
import { addressOf, type ChainClient } from './client.ts';
import { bisectionGameAbi } from './abi.ts';
import * as game from './game.ts';
import { callJudge, judgeAbis, settleOpDispute, settleOps, settleSegment, type JudgesDeployment } from './judges.ts';
import * as market from './market.ts';
import { actOnOpDispute, getOpDispute, type OpJudgeClient } from './op-judge.ts';

export interface DisputePortOptions {
  client: ChainClient;
  judges: JudgesDeployment;
  op: OpJudgeClient;
  /** The market's settlement when a root game is over (default: JobMarket.settleDispute / settleProbeDispute). */
  settleRoot?: (d: DisputeRecord) => Promise<boolean>;
  /** First block to read dispute events from (default 0: the deployment's block is a good value). */
  fromBlock?: bigint;
}

type Ev = { eventName: string; args: Record<string, unknown> };

/**
 * The dispute events (k-ary reveals, sub-games opened by the judges, op-dispute reveals), read
 * incrementally: each update scans only the blocks since the last one. One index per chain and set
 * of contracts is shared by every port of the process; each port keeps its own cursor into the list
 * of what the events touched.
 */
class EventIndex {
  private next: bigint;
  private readonly byKey = new Map<string, Ev[]>();
  /** Per event, in chain order: the game ("game:<id>") or op dispute ("op:<id>") it was about. */
  readonly touched: string[] = [];
  private abi?: Abi;
  private inFlight?: Promise<void>;
  private readonly c: ChainClient;
  private readonly addresses: Address[];
  private readonly opAbi: Abi;
  constructor(c: ChainClient, addresses: Address[], opAbi: Abi, fromBlock: bigint) {
    this.c = c;
    this.addresses = addresses;
    this.opAbi = opAbi;
    this.next = fromBlock;
  }

  get started(): boolean {
    return this.inFlight !== undefined;
  }

  /** Read the blocks mined since the last update (one update at a time). */
  update(): Promise<void> {
    const run = async () => {
      this.abi ??= [...bisectionGameAbi, ...(await judgeAbis()).checkpointJudge, ...(await judgeAbis()).stepJudge, ...this.opAbi].filter((x) => x.type === 'event') as Abi;
      const latest = await this.c.public.getBlockNumber({ cacheTime: 0 });
      if (latest < this.next) return;
      const logs = await this.c.public.getLogs({ address: this.addresses, fromBlock: this.next, toBlock: latest });
      const op = this.addresses[3].toLowerCase();
      for (const l of parseEventLogs({ abi: this.abi, logs, strict: false })) {
        const args = l.args as Record<string, unknown>;
        const from = l.address.toLowerCase();
        const id = args.gameId ?? args.parentGameId ?? args.id;
        this.touched.push(`${from === op ? 'op' : 'game'}:${String(id)}`);
        const key = `${from}/${l.eventName}/${String(id)}`;
        const list = this.byKey.get(key) ?? [];
        list.push({ eventName: l.eventName as string, args });
        this.byKey.set(key, list);
      }
      this.next = latest + 1n;
    };
    const p = (this.inFlight ?? Promise.resolve()).then(run, run);
    this.inFlight = p;
    return p;
  }

  /** The last such event as of the last update (the driver refreshes at the start of each tick). */
  async last(address: Address, eventName: string, id: bigint): Promise<Ev | undefined> {
    if (!this.started) await this.update();
    const list = this.byKey.get(`${address.toLowerCase()}/${eventName}/${id}`);
    return list?.[list.length - 1];
  }
}

const indexes = new Map<string, EventIndex>();
function sharedIndex(c: ChainClient, addresses: Address[], opAbi: Abi, fromBlock: bigint): EventIndex {
  const key = `${c.deployment.rpcUrl}|${addresses.join(',')}`.toLowerCase();
  let ix = indexes.get(key);
  if (!ix) indexes.set(key, (ix = new EventIndex(c, addresses, opAbi, fromBlock)));
  return ix;
}

export function disputePort(o: DisputePortOptions): DisputePort {
  const c = o.client;
  const game0 = c.deployment.contracts.game;
  const ev = sharedIndex(c, [game0, o.judges.checkpointJudge, o.judges.stepJudge, o.op.d.opJudge], o.op.d.abi, o.fromBlock ?? 0n);
  let cursor = ev.touched.length;
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
    async refresh() {
      await ev.update();
      const touched = new Set(ev.touched.slice(cursor));
      cursor = ev.touched.length;
      return touched;
    },
    async now() {
      return Number((await c.public.getBlock()).timestamp);
    },
    async game(id): Promise<GameState> {
      const g = await game.getGame(c, id);
      return { ...g, id, phase: g.phase };
    },
    async child(id, judge) {
      if (judge.toLowerCase() === o.judges.checkpointJudge.toLowerCase()) {
        const e = (await ev.last(o.judges.checkpointJudge, 'SegmentOpened', id))?.args;
        return e ? { kind: 'segment', id: e.subGameId as bigint, fromStep: Number(e.fromStep), steps: Number(e.steps) } : null;
      }
      const ops = (await ev.last(o.judges.stepJudge, 'OpsGameOpened', id))?.args;
      if (ops) return { kind: 'ops', id: ops.subGameId as bigint, step: Number(ops.step), ops: Number(ops.ops) };
      const op = (await ev.last(o.judges.stepJudge, 'OpDisputeOpened', id))?.args;
      return op ? { kind: 'op', id: op.opId as bigint, op: Number(op.op) } : null;
    },
    async revealedLeaves(id) {
      return [...(((await ev.last(game0, 'LeavesRevealed', id))?.args.leaves as Hex[] | undefined) ?? [])];
    },
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
      async state(id): Promise<OpState> {
        const s = await getOpDispute(o.op, id);
        return { id, phase: s.phase, deadline: s.deadline, lo: s.lo, hi: s.hi };
      },
      async act(id, prover: OpProver, role) {
        const shown = (await ev.last(o.op.d.opJudge, 'StatesRevealed', id))?.args.leaves as Hex[] | undefined;
        return (await actOnOpDispute(id, { client: o.op, prover }, role, shown)).action;
      },
    },
    settleRoot,
  };
}
