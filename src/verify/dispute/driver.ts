// The dispute driver: plays one side of a dispute through all five levels (docs/verification.md §4)
// with no one at the keyboard. Each `tick` reads the dispute's games from the chain, walks down to
// the live one and makes the move that is due: a reveal or an answer from the party's own leaves, a
// judge call with its proof data, a settle of a finished sub-game, a timeout of a silent opponent,
// and at the end the market's settlement. Everything it needs is on chain or recomputed from the
// job, so after a restart it simply carries on; the store only lists the disputes it plays.
//
// The chain is behind DisputePort (implemented in src/chain/dispute-port.ts), so this layer
// imports no chain code.
import type { Address, Hex } from 'viem';
import { InputError } from '../../errors.ts';
import { fromHex, MerkleTree, hex } from '../merkle.ts';
import type { OpProver } from '../ops/index.ts';
import type { Party } from './party.ts';

export type GamePhase = 'none' | 'defender-moves' | 'challenger-moves' | 'judging' | 'awaiting-judge' | 'defender-won' | 'challenger-won';

export interface GameState {
  id: bigint;
  phase: GamePhase;
  arity: number;
  challenger: Address;
  defender: Address;
  judge: Address;
  deadline: number;
  n: number;
  agreed: number;
  disputed: number;
  root: Hex;
  revealed: Hex;
  context: Hex;
}

export interface OpState {
  id: bigint;
  phase: GamePhase;
  deadline: number;
  lo: number;
  hi: number;
}

export type Child =
  | { kind: 'segment'; id: bigint; fromStep: number; steps: number }
  | { kind: 'ops'; id: bigint; step: number; ops: number }
  | { kind: 'op'; id: bigint; op: number };

/** What the driver needs of the chain (one account: `me`). */
export interface DisputePort {
  readonly me: Address;
  /**
   * Called at the start of each tick: read what happened on chain since the last call. Returns the
   * games ("game:<id>") and op disputes ("op:<id>") that any event since then was about.
   */
  refresh?(): Promise<ReadonlySet<string>>;
  /** Read the states of the games below root game `root` at once (a hint: game() and op.state() may then answer without a round trip). */
  prefetch?(root: bigint): Promise<void>;
  /** The chain's time (the latest block's timestamp; as of the last refresh when the port has one). */
  now(): Promise<number>;
  game(id: bigint): Promise<GameState>;
  /** The sub-game or op dispute that judging game `id` opened (null before the judge call). */
  child(id: bigint, judge: Address): Promise<Child | null>;
  /** The leaves of the current k-ary round. */
  revealedLeaves(id: bigint): Promise<Hex[]>;
  reveal(id: bigint, leaf: Hex, proof: readonly Hex[]): Promise<void>;
  answer(id: bigint, agree: boolean): Promise<void>;
  revealMany(id: bigint, leaves: readonly Hex[]): Promise<void>;
  choosePart(id: bigint, part: number, leaves: readonly Hex[]): Promise<void>;
  callJudge(id: bigint, proof: Hex): Promise<void>;
  timeout(id: bigint): Promise<void>;
  /** Report a finished child to the game that opened it. */
  settle(child: Child): Promise<void>;
  op: {
    state(id: bigint): Promise<OpState>;
    /**
     * Do what is due in op dispute `id` for this side (VB's protocol: its turn, the judge call when it
     * holds the agreed pre-state, or the other side's timeout); 'waiting' when nothing is.
     */
    act(id: bigint, prover: OpProver, role: Role): Promise<'moved' | 'judged' | 'timed-out' | 'waiting' | 'over'>;
  };
  /** The market's settlement of a dispute whose root game is over (idempotent: false if nothing to do). */
  settleRoot(d: DisputeRecord): Promise<boolean>;
}

export type Role = 'challenger' | 'defender';

export interface DisputeRecord {
  /** The root game's id (decimal). */
  game: string;
  jobId: string;
  role: Role;
  /** 0: a challenge of the result (checkpoints); 1: a probe dispute (steps from fromStep). */
  level: 0 | 1;
  fromStep?: number;
  status: 'active' | 'won' | 'lost';
  settled?: boolean;
}

/** Where the driver lists its disputes (a small JSON file, or the node's sqlite db). */
export interface DisputeStore {
  list(): DisputeRecord[];
  put(r: DisputeRecord): void;
}

export interface DriverOptions {
  port: DisputePort;
  store: DisputeStore;
  /** The party this node plays in a job's disputes. */
  party(jobId: bigint, role: Role): Party;
  /** Test hook: a party that stops answering. Called before each move this node would make. */
  silent?: (d: DisputeRecord, move: MoveInfo) => boolean;
  log?: (msg: string) => void;
}

export interface MoveInfo {
  level: number;
  game: bigint;
  kind: 'reveal' | 'answer' | 'judge' | 'timeout' | 'settle' | 'settle-root';
}

export interface TickResult {
  record: DisputeRecord;
  /** Moves made this tick. */
  moves: MoveInfo[];
  /** The deadline the driver waits for next (0: nothing to wait for). */
  waitingUntil: number;
}

interface Frame {
  level: number;
  game: GameState;
  /** Level 1: the step the game starts from; level 2: the step it decides. */
  step: number;
}

export class DisputeDriver {
  private readonly o: DriverOptions;
  private readonly parties = new Map<string, Party>();
  private readonly level0Trees = new Map<string, MerkleTree>();

  constructor(o: DriverOptions) {
    this.o = o;
  }

  /** Start playing a dispute (a game this node opened, or one opened against it). Idempotent. */
  track(r: Omit<DisputeRecord, 'status'>): DisputeRecord {
    const have = this.o.store.list().find((x) => x.game === r.game);
    if (have) return have;
    const rec: DisputeRecord = { ...r, status: 'active' };
    this.o.store.put(rec);
    return rec;
  }

  active(): DisputeRecord[] {
    return this.o.store.list().filter((r) => r.status === 'active' || !r.settled);
  }

  /** One pass over every active dispute: at most one move per dispute and level. */
  async tick(): Promise<TickResult[]> {
    const out: TickResult[] = [];
    // A dispute whose games saw no event since a tick that made no move can only have changed by
    // a deadline passing: skip it until then.
    const touched = await this.o.port.refresh?.();
    let now: number | undefined;
    for (const r of this.active()) {
      const idle = this.idle.get(r.game);
      const ids = this.ids.get(r.game);
      if (touched && idle !== undefined && ids && ![...ids].some((x) => touched.has(x))) {
        now ??= await this.o.port.now();
        if (idle === 0 || now <= idle) {
          out.push({ record: r, moves: [], waitingUntil: idle });
          continue;
        }
      }
      try {
        const res = await this.tickOne(r);
        if (res.moves.length) this.idle.delete(r.game);
        else this.idle.set(r.game, res.waitingUntil);
        out.push(res);
      } catch (e) {
        // The party could not compute its answer (or the chain could not be read): try again next tick.
        this.o.log?.(`dispute ${r.game}: tick failed: ${(e as Error).message.split('\n')[0]}`);
        this.failures++;
        out.push({ record: r, moves: [], waitingUntil: 0 });
      }
    }
    return out;
  }

  /** Ticks that failed (the party's computation or a chain read threw). */
  failures = 0;
  /** Disputes whose last tick made no move, with the deadline they wait for. */
  private readonly idle = new Map<string, number>();
  /** The games and op disputes of each dispute seen so far. */
  private readonly ids = new Map<string, Set<string>>();
  private see(r: DisputeRecord, id: string): void {
    let s = this.ids.get(r.game);
    if (!s) this.ids.set(r.game, (s = new Set()));
    s.add(id);
  }

  /** Tick until every dispute is over and settled, waiting `pollMs` between passes (and `advance` to pass time in tests). */
  async run(opts: { pollMs?: number; maxTicks?: number; idle?: (waitingUntil: number) => Promise<void> } = {}): Promise<DisputeRecord[]> {
    const max = opts.maxTicks ?? 10_000;
    for (let i = 0; i < max && this.active().length > 0; i++) {
      const res = await this.tick();
      if (res.every((r) => r.moves.length === 0)) {
        const until = Math.min(...res.map((r) => r.waitingUntil || Infinity));
        if (opts.idle) await opts.idle(until);
        else await new Promise((s) => setTimeout(s, opts.pollMs ?? 1000));
      }
    }
    return this.o.store.list();
  }

  private party(r: DisputeRecord): Party {
    const key = `${r.jobId}/${r.role}`;
    let p = this.parties.get(key);
    if (!p) this.parties.set(key, (p = this.o.party(BigInt(r.jobId), r.role)));
    return p;
  }

  private async tickOne(r: DisputeRecord): Promise<TickResult> {
    const moves: MoveInfo[] = [];
    const port = this.o.port;
    await port.prefetch?.(BigInt(r.game));
    const root = await port.game(BigInt(r.game));
    this.see(r, `game:${root.id}`);
    if (root.phase === 'defender-won' || root.phase === 'challenger-won') {
      const won = (root.phase === 'defender-won') === (r.role === 'defender');
      if (r.status === 'active') {
        r.status = won ? 'won' : 'lost';
        this.o.store.put(r);
        this.o.log?.(`dispute ${r.game} (job ${r.jobId}): ${r.status}`);
      }
      if (!r.settled) {
        const m: MoveInfo = { level: r.level, game: root.id, kind: 'settle-root' };
        if (!this.o.silent?.(r, m)) {
          if (await port.settleRoot(r)) moves.push(m);
          r.settled = true;
          this.o.store.put(r);
        }
      }
      return { record: r, moves, waitingUntil: 0 };
    }
    // Walk down to the live game.
    let f: Frame = { level: r.level, game: root, step: r.fromStep ?? 0 };
    for (;;) {
      if (f.game.phase !== 'awaiting-judge') break;
      const child = await port.child(f.game.id, f.game.judge);
      if (!child) return { record: r, moves, waitingUntil: 0 };
      this.see(r, `${child.kind === 'op' ? 'op' : 'game'}:${child.id}`);
      if (child.kind === 'op') {
        return { record: r, moves, waitingUntil: await this.playOp(r, f, child, moves) };
      }
      const g = await port.game(child.id);
      if (g.phase === 'defender-won' || g.phase === 'challenger-won') {
        await this.move(r, { level: f.level + 1, game: g.id, kind: 'settle' }, moves, () => port.settle(child));
        return { record: r, moves, waitingUntil: 0 };
      }
      f = child.kind === 'segment' ? { level: 1, game: g, step: child.fromStep } : { level: 2, game: g, step: child.step };
    }
    return { record: r, moves, waitingUntil: await this.playGame(r, f, moves) };
  }

  private async move(r: DisputeRecord, m: MoveInfo, moves: MoveInfo[], act: () => Promise<void>): Promise<boolean> {
    if (this.o.silent?.(r, m)) return false;
    try {
      await act();
    } catch (e) {
      // A move the chain refuses (e.g. a judge call whose proof a lying party cannot make good, or
      // a race with the other side) changes nothing: the deadline decides if it was due.
      this.o.log?.(`dispute ${r.game}: level ${m.level} game ${m.game}: ${m.kind} refused: ${(e as Error).message.split('\n')[0]}`);
      this.refused++;
      return false;
    }
    moves.push(m);
    this.o.log?.(`dispute ${r.game}: level ${m.level} game ${m.game}: ${m.kind}`);
    return true;
  }

  /** Moves the chain refused so far (a lying party's judge calls, races). */
  refused = 0;

  /** One move in a bisection game of level 0, 1 or 2 (or a timeout); returns the deadline waited for. */
  private async playGame(r: DisputeRecord, f: Frame, moves: MoveInfo[]): Promise<number> {
    const port = this.o.port, g = f.game;
    const me = port.me.toLowerCase();
    const mine = (role: 'defender' | 'challenger') => g[role].toLowerCase() === me;
    const p = this.party(r);
    const at = { level: f.level, game: g.id };
    const myMove = (g.phase === 'defender-moves' || g.phase === 'judging') === mine('defender') && g.phase !== 'awaiting-judge';
    // The clock matters only when the move is the other side's (or the judge call is overdue).
    const late = (!myMove || g.phase === 'judging') && (await port.now()) > g.deadline;
    if (g.phase === 'defender-moves' && mine('defender')) {
      if (g.arity === 2) {
        const i = Math.floor((g.agreed + g.disputed) / 2) - 1;
        const leaf = this.leaf(r, f, i);
        const proof = g.root === ZERO ? [] : this.level0Tree(r).proof(i).map(hex);
        await this.move(r, { ...at, kind: 'reveal' }, moves, () => port.reveal(g.id, leaf, proof));
      } else {
        const leaves = cuts(g.agreed, g.disputed, g.arity).map((c) => this.leaf(r, f, c - 1));
        await this.move(r, { ...at, kind: 'reveal' }, moves, () => port.revealMany(g.id, leaves));
      }
    } else if (g.phase === 'challenger-moves' && mine('challenger')) {
      if (g.arity === 2) {
        const i = Math.floor((g.agreed + g.disputed) / 2) - 1;
        const agree = g.revealed.toLowerCase() === this.leaf(r, f, i).toLowerCase();
        await this.move(r, { ...at, kind: 'answer' }, moves, () => port.answer(g.id, agree));
      } else {
        const shown = await port.revealedLeaves(g.id);
        const cs = cuts(g.agreed, g.disputed, g.arity);
        let part = cs.findIndex((c, i) => shown[i]?.toLowerCase() !== this.leaf(r, f, c - 1).toLowerCase());
        if (part < 0) part = cs.length;
        await this.move(r, { ...at, kind: 'answer' }, moves, () => port.choosePart(g.id, part, shown));
      }
    } else if (g.phase === 'judging' && mine('defender') && !late) {
      const proof = f.level === 0 ? p.level0Proof(g.agreed) : f.level === 1 ? p.level1Proof(f.step + g.agreed) : p.level2Proof(f.step, g.agreed);
      if (proof) await this.move(r, { ...at, kind: 'judge' }, moves, () => port.callJudge(g.id, proof));
    } else if (late && (g.phase === 'defender-moves' || g.phase === 'judging' ? mine('challenger') : g.phase === 'challenger-moves' && mine('defender'))) {
      await this.move(r, { ...at, kind: 'timeout' }, moves, () => port.timeout(g.id));
    }
    return moves.length ? 0 : g.deadline;
  }

  /** One move in the op dispute (levels 3–4, VB's OpJudge), or its settlement once it is over. */
  private async playOp(r: DisputeRecord, f: Frame, child: Extract<Child, { kind: 'op' }>, moves: MoveInfo[]): Promise<number> {
    const port = this.o.port;
    const s = await port.op.state(child.id);
    const at = { level: 3, game: child.id };
    if (s.phase === 'defender-won' || s.phase === 'challenger-won') {
      await this.move(r, { ...at, kind: 'settle' }, moves, () => port.settle(child));
      return 0;
    }
    const prover = this.prover(r, f.step, child.op);
    if (!prover) return s.deadline;
    const m: MoveInfo = { ...at, kind: 'reveal' };
    if (this.o.silent?.(r, m)) return s.deadline;
    const action = await port.op.act(child.id, prover, r.role);
    if (action === 'moved' || action === 'judged' || action === 'timed-out') {
      const done: MoveInfo = { ...at, kind: action === 'moved' ? 'reveal' : action === 'judged' ? 'judge' : 'timeout' };
      moves.push(done);
      this.o.log?.(`dispute ${r.game}: level 3 op dispute ${child.id}: ${action}`);
      return 0;
    }
    return s.deadline;
  }

  private readonly provers = new Map<string, OpProver | null>();
  private prover(r: DisputeRecord, step: number, op: number): OpProver | null {
    const key = `${r.game}/${step}/${op}`;
    if (!this.provers.has(key)) this.provers.set(key, this.party(r).opProver(step, op));
    return this.provers.get(key)!;
  }

  /** The leaf with index i of the game in frame f, as this party has it. */
  private leaf(r: DisputeRecord, f: Frame, i: number): Hex {
    const p = this.party(r);
    if (f.level === 0) return p.level0Leaf(i);
    if (f.level === 1) return p.level1Leaf(f.step + i + 1);
    if (f.level === 2) return p.level2Leaf(f.step, i);
    throw new InputError(`no leaves at level ${f.level}`);
  }

  private level0Tree(r: DisputeRecord): MerkleTree {
    let t = this.level0Trees.get(r.game);
    if (!t) this.level0Trees.set(r.game, (t = new MerkleTree(this.party(r).level0Leaves().map(fromHex))));
    return t;
  }
}

const ZERO = `0x${'00'.repeat(32)}` as Hex;

/** BisectionGame.cutsOf: the k-ary round's cut points of (agreed, disputed]. */
export function cuts(agreed: number, disputed: number, arity: number): number[] {
  const width = disputed - agreed;
  const m = Math.min(width, arity);
  const out: number[] = [];
  for (let i = 1; i < m; i++) out.push(agreed + Math.floor((i * width) / m));
  return out;
}

