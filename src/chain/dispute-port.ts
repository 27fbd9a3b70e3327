// The dispute driver's chain port (src/verify/dispute/driver.ts DisputePort) over a real chain:
// BisectionGame moves, the level 0–2 judges (judges.ts), the op judge of levels 3–4 (op-judge.ts)
// and the market's settlement.
//
// Round trips are what a dispute costs off chain, so the port makes few: the dispute events are read
// incrementally (one eth_getBlockByNumber, which also gives the clock, and one eth_getLogs per
// refresh); the states of every game of a dispute are read in one JSON-RPC batch (`prefetch`) and
// kept until the next refresh or move; moves are sent by txSender (sender.ts: an explicit gas limit
// per move, no estimate, a local nonce, the receipt asked for at once).
import { parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import type { DisputePort, DisputeRecord, GameState, OpState } from '../verify/dispute/driver.ts';
import type { OpProver } from '../verify/ops/index.ts';
import { addressOf, type ChainClient } from './client.ts';
import { bisectionGameAbi } from './abi.ts';
import * as game from './game.ts';
import { decodeJudgeRevert, judgeAbis, type JudgesDeployment } from './judges.ts';
import * as market from './market.ts';
import { actOnOpDispute, getOpDispute, type OpDisputeView, type OpJudgeClient } from './op-judge.ts';
import { txSender, type Sender } from './sender.ts';

/** Gas limits of the driver's transactions (what they use, with a wide margin; sender.ts retries one that ran out with an estimate). */
export interface GasLimits {
  reveal: bigint;
  answer: bigint;
  revealMany: bigint;
  choosePart: bigint;
  timeout: bigint;
  settle: bigint;
  /** callJudge: base + perByte × proof bytes (the level-1 call carries two state preimages). */
  judgeBase: bigint;
  judgePerByte: bigint;
  /** The op judge's moves and its judge call (op-judge.ts). */
  opMove: bigint;
  opJudge: bigint;
}

export const GAS: GasLimits = {
  reveal: 400_000n,
  answer: 300_000n,
  revealMany: 800_000n,
  choosePart: 800_000n,
  timeout: 500_000n,
  settle: 600_000n,
  judgeBase: 800_000n,
  judgePerByte: 128n,
  opMove: 800_000n,
  opJudge: 2_000_000n,
};

export interface DisputePortOptions {
  client: ChainClient;
  judges: JudgesDeployment;
  op: OpJudgeClient;
  /** The market's settlement when a root game is over (default: JobMarket.settleDispute / settleProbeDispute). */
  settleRoot?: (d: DisputeRecord) => Promise<boolean>;
  /** First block to read dispute events from (default 0: the deployment's block is a good value). */
  fromBlock?: bigint;
  /** Gas limits (default GAS). */
  gas?: Partial<GasLimits>;
  /** How the port sends (default: txSender(client)). */
  sender?: Sender;
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
  /** Sub-games and op disputes by the game that opened them (from the judges' events). */
  readonly children = new Map<string, { kind: 'segment' | 'ops' | 'op'; args: Record<string, unknown> }>();
  /** Per event, in chain order: the game ("game:<id>") or op dispute ("op:<id>") it was about. */
  readonly touched: string[] = [];
  /** The latest block's timestamp as of the last update. */
  timestamp = 0;
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
      if (!this.abi) {
        const j = await judgeAbis();
        this.abi = [...bisectionGameAbi, ...j.checkpointJudge, ...j.stepJudge, ...this.opAbi].filter((x) => x.type === 'event') as Abi;
      }
      const block = await this.c.public.getBlock({ blockTag: 'latest' });
      this.timestamp = Number(block.timestamp);
      const latest = block.number;
      if (latest < this.next) return;
      const logs = await this.c.public.getLogs({ address: this.addresses, fromBlock: this.next, toBlock: latest });
      const [, ckpt, step, op] = this.addresses.map((a) => a.toLowerCase());
      for (const l of parseEventLogs({ abi: this.abi, logs, strict: false })) {
        const args = l.args as Record<string, unknown>;
        const from = l.address.toLowerCase();
        const id = args.gameId ?? args.parentGameId ?? args.id;
        this.touched.push(`${from === op ? 'op' : 'game'}:${String(id)}`);
        const key = `${from}/${l.eventName}/${String(id)}`;
        const list = this.byKey.get(key) ?? [];
        list.push({ eventName: l.eventName as string, args });
        this.byKey.set(key, list);
        if (from === ckpt && l.eventName === 'SegmentOpened') this.children.set(String(id), { kind: 'segment', args });
        if (from === step && l.eventName === 'OpsGameOpened') this.children.set(String(id), { kind: 'ops', args });
        if (from === step && l.eventName === 'OpDisputeOpened') this.children.set(String(id), { kind: 'op', args });
      }
      this.next = latest + 1n;
    };
    const p = (this.inFlight ?? Promise.resolve()).then(run, run);
    this.inFlight = p;
    return p;
  }

  async ready(): Promise<void> {
    if (!this.started) await this.update();
  }

  /** The last such event as of the last update (the driver refreshes at the start of each tick). */
  async last(address: Address, eventName: string, id: bigint): Promise<Ev | undefined> {
    await this.ready();
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
  const gas = { ...GAS, ...o.gas };
  const game0 = c.deployment.contracts.game;
  const ev = sharedIndex(c, [game0, o.judges.checkpointJudge, o.judges.stepJudge, o.op.d.opJudge], o.op.d.abi, o.fromBlock ?? 0n);
  const sender = o.sender ?? txSender(c);
  const opc: OpJudgeClient = { ...o.op, public: c.public as OpJudgeClient['public'], sender, gas: { move: gas.opMove, judge: gas.opJudge } };
  let cursor = ev.touched.length;
  // Game and op-dispute states read since the last refresh or move (prefetch fills it in one batch).
  const games = new Map<bigint, Promise<GameState>>();
  const ops = new Map<bigint, Promise<OpDisputeView>>();
  const forget = () => (games.clear(), ops.clear());

  const readGame = (id: bigint): Promise<GameState> => {
    let g = games.get(id);
    if (!g) {
      g = game.getGame(c, id).then((x) => ({ ...x, id, phase: x.phase }));
      games.set(id, g);
      g.catch(() => games.delete(id));
    }
    return g;
  };
  const readOp = (id: bigint): Promise<OpDisputeView> => {
    let s = ops.get(id);
    if (!s) {
      s = getOpDispute(opc, id);
      ops.set(id, s);
      s.catch(() => ops.delete(id));
    }
    return s;
  };

  const tx = async (address: Address, abi: Abi, functionName: string, args: readonly unknown[], limit: bigint): Promise<void> => {
    forget();
    try {
      await sender({ address, abi, functionName, args, gas: limit });
    } catch (e) {
      throw await decodeJudgeRevert(e);
    }
  };
  const gameTx = (functionName: string, args: readonly unknown[], limit: bigint) => tx(game0, bisectionGameAbi as Abi, functionName, args, limit);

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
  const childOf = async (id: bigint) => {
    await ev.ready();
    const ch = ev.children.get(String(id));
    if (!ch) return null;
    const a = ch.args;
    if (ch.kind === 'segment') return { kind: 'segment' as const, id: a.subGameId as bigint, fromStep: Number(a.fromStep), steps: Number(a.steps) };
    if (ch.kind === 'ops') return { kind: 'ops' as const, id: a.subGameId as bigint, step: Number(a.step), ops: Number(a.ops) };
    return { kind: 'op' as const, id: a.opId as bigint, op: Number(a.op) };
  };

  return {
    me: addressOf(c),
    async refresh() {
      forget();
      await ev.update();
      const touched = new Set(ev.touched.slice(cursor));
      cursor = ev.touched.length;
      return touched;
    },
    async prefetch(root) {
      // The sub-games below the root are known from the judges' events: read them all at once.
      const reads: Promise<unknown>[] = [readGame(root)];
      for (let id = root, k = 0; k < 8; k++) {
        const ch = await childOf(id);
        if (!ch) break;
        if (ch.kind === 'op') {
          reads.push(readOp(ch.id));
          break;
        }
        reads.push(readGame(ch.id));
        id = ch.id;
      }
      await Promise.allSettled(reads);
    },
    async now() {
      await ev.ready();
      return ev.timestamp;
    },
    game: readGame,
    async child(id, judge) {
      const at = judge.toLowerCase();
      if (at !== o.judges.checkpointJudge.toLowerCase() && at !== o.judges.stepJudge.toLowerCase()) return null;
      return childOf(id);
    },
    async revealedLeaves(id) {
      return [...(((await ev.last(game0, 'LeavesRevealed', id))?.args.leaves as Hex[] | undefined) ?? [])];
    },
    reveal: (id, leaf, proof) => gameTx('reveal', [id, leaf, proof], gas.reveal),
    answer: (id, agree) => gameTx('answer', [id, agree], gas.answer),
    revealMany: (id, leaves) => gameTx('revealMany', [id, leaves], gas.revealMany),
    choosePart: (id, part, leaves) => gameTx('choosePart', [id, BigInt(part), leaves], gas.choosePart),
    callJudge: (id, proof) => gameTx('callJudge', [id, proof], gas.judgeBase + gas.judgePerByte * BigInt((proof.length - 2) / 2)),
    timeout: (id) => gameTx('timeout', [id], gas.timeout),
    async settle(child) {
      const j = await judgeAbis();
      if (child.kind === 'segment') await tx(o.judges.checkpointJudge, j.checkpointJudge, 'settle', [child.id], gas.settle);
      else if (child.kind === 'ops') await tx(o.judges.stepJudge, j.stepJudge, 'settle', [child.id], gas.settle);
      else await tx(o.judges.stepJudge, j.stepJudge, 'settleOp', [child.id], gas.settle);
    },
    op: {
      async state(id): Promise<OpState> {
        const s = await readOp(id);
        return { id, phase: s.phase, deadline: s.deadline, lo: s.lo, hi: s.hi };
      },
      async act(id, prover: OpProver, role) {
        const shown = (await ev.last(o.op.d.opJudge, 'StatesRevealed', id))?.args.leaves as Hex[] | undefined;
        const view = await readOp(id);
        forget();
        return (await actOnOpDispute(id, { client: opc, prover }, role, shown, { view, now: ev.timestamp })).action;
      },
    },
    settleRoot,
  };
}
