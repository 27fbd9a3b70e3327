// The daemon's side of its disputes: which ones it is in (read from the chain's DisputeOpened and
// ProbeDisputeOpened events, so a restart finds them again), and the dispute process
// (dispute-worker.ts) that plays them with VA's driver. Records are kept in the node's database
// and handed to the process again whenever it starts (tracking is idempotent).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainEvent } from '../chain/events.ts';
import type { DisputeRecord } from '../verify/dispute/driver.ts';
import type { NodeContext } from './context.ts';
import type { DisputeMessage, DisputeReport, Tracked } from './dispute-worker.ts';
import { WORKER_EXEC_ARGV, workerEnv } from './launch.ts';
import type { SolverTaskData } from './solver.ts';
import type { VerifyTaskData } from './verifier.ts';

const WORKER = fileURLToPath(new URL('./dispute-worker.ts', import.meta.url));
const KEY = 'dispute:';

export interface Disputes {
  /** Looks for disputes this node is a party of among new chain events. */
  apply(events: ChainEvent[]): void;
  /** Disputes tracked and not yet over (from the dispute process's last report). */
  active(): DisputeRecord[];
  /** The chain moved (another RPC URL): the dispute process starts again on it. */
  rpcMoved(): void;
  stop(): Promise<void>;
}

/** True when the deployment's judges can judge real training (the verification judges). */
export function judgesPlayable(ctx: NodeContext): boolean {
  const d = ctx.deployment;
  return d.checkpointJudgeKind === 'CheckpointJudge' && d.contracts.opJudge !== undefined;
}

export function createDisputes(ctx: NodeContext, opts: { passphrase: string; pollMs?: number }): Disputes {
  const me = ctx.address.toLowerCase();
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let records: DisputeRecord[] = readStore();

  function readStore(): DisputeRecord[] {
    const f = join(ctx.dataDir, 'disputes.json');
    if (!existsSync(f)) return [];
    try {
      return (JSON.parse(readFileSync(f, 'utf8')) as { disputes?: DisputeRecord[] }).disputes ?? [];
    } catch {
      return [];
    }
  }

  const wanted = (): Tracked[] => {
    const out: Tracked[] = [];
    for (const key of ctx.state.kv.keys(KEY)) out.push(JSON.parse(ctx.state.kv.get(key)!));
    return out;
  };

  function start(): void {
    if (child || stopping || !judgesPlayable(ctx)) return;
    const c = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...WORKER_EXEC_ARGV], env: workerEnv() });
    child = c;
    c.on('message', (m: DisputeReport) => {
      if (m.type === 'log') ctx.log(`dispute: ${m.text}`);
      else if (m.type === 'records') records = m.records;
    });
    c.on('exit', (code) => {
      child = undefined;
      if (stopping) return;
      ctx.log(`dispute process exited (${code}); restarting`);
      setTimeout(start, Math.min(30_000, 1000 * 2 ** Math.min(restarts++, 5)));
    });
    const send = (m: DisputeMessage) => c.send(m);
    // The client's deployment: its RPC URL follows the deployment file when the chain moves.
    send({ type: 'init', deployment: ctx.client().deployment, passphrase: opts.passphrase, dataDir: ctx.dataDir, pollMs: opts.pollMs });
    for (const r of wanted()) send({ type: 'track', record: r });
  }

  function track(r: Tracked): void {
    if (ctx.state.kv.get(KEY + r.game) !== undefined) return;
    ctx.state.kv.set(KEY + r.game, JSON.stringify(r));
    ctx.log(`job ${r.jobId}: in dispute ${r.game} as the ${r.role} (level ${r.level})${judgesPlayable(ctx) ? '' : ' — this deployment has test judges: the deadlines decide'}`);
    if (child) child.send({ type: 'track', record: r } satisfies DisputeMessage);
    else start();
  }

  ctx.warmDisputes = start;

  // Disputes tracked before a restart are played on.
  if (wanted().some((w) => !records.some((r) => r.game === w.game && r.status !== 'active' && r.settled))) start();

  // Fault tests only: the lie this node defends in a dispute of the job, as its solver (the cheat
  // it trained with) or as a griefing watcher (the story it challenged with).
  const asSolver = (jobId: bigint): Partial<Tracked> => {
    const d = ctx.state.tasks.get<SolverTaskData>(jobId, 'solver')?.data;
    return d?.cheat ? { cheat: d.cheat, copied: d.cheat === 'copy' ? (d.copied as Tracked['copied']) : undefined } : {};
  };
  const asChallenger = (jobId: bigint): Partial<Tracked> => {
    const grief = ctx.state.tasks.get<VerifyTaskData>(jobId, 'watcher')?.data.grief;
    return grief ? { cheat: `grief-${grief}` } : {};
  };

  return {
    apply(events) {
      for (const e of events) {
        if (e.eventName === 'DisputeOpened') {
          const jobId = e.args.jobId as bigint;
          const game = String(e.args.gameId);
          const solver = ctx.state.jobs.get(jobId)?.solver?.toLowerCase();
          if (String(e.args.challenger).toLowerCase() === me) track({ game, jobId: String(jobId), role: 'challenger', level: 0, ...asChallenger(jobId) });
          else if (solver === me) track({ game, jobId: String(jobId), role: 'defender', level: 0, ...asSolver(jobId) });
        } else if (e.eventName === 'ProbeDisputeOpened') {
          const jobId = e.args.jobId as bigint;
          const game = String(e.args.gameId);
          const fromStep = Number(e.args.fromStep);
          const solver = ctx.state.jobs.get(jobId)?.solver?.toLowerCase();
          if (String(e.args.verifier).toLowerCase() === me) track({ game, jobId: String(jobId), role: 'defender', level: 1, fromStep });
          else if (solver === me) track({ game, jobId: String(jobId), role: 'challenger', level: 1, fromStep, ...asSolver(jobId) });
        }
      }
    },
    active: () => records.filter((r) => r.status === 'active' || !r.settled),
    rpcMoved() {
      restarts = 0;
      child?.kill('SIGTERM'); // its exit handler starts it again with the current deployment
    },
    async stop() {
      stopping = true;
      const c = child;
      if (!c) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.send({ type: 'stop' } satisfies DisputeMessage);
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
