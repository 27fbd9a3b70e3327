// Shared setup of the network tests: a real local network (devnet chain + node processes on
// loopback, src/node/localnet.ts), small job specs, and ways to look at what the nodes did (their
// sqlite databases, their logs, the chain). No mocks: every node is a `veritrain node` process.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { connect, type ChainClient } from '../src/chain/client.ts';
import { getEvents, type ChainEvent } from '../src/chain/events.ts';
import { rpcCall } from '../src/chain/anvil.ts';
import { getJob, verificationOf, type JobState } from '../src/chain/market.ts';
import { DEVNET_PASSPHRASE, DEVNET_SCRYPT_N, type ClusterSpec } from '../src/node/cluster.ts';
import { startLocalNetwork, type LocalNetwork } from '../src/node/localnet.ts';
import { createClient, type VeritrainClient } from '../src/sdk/index.ts';
import { tempDir } from './cli.ts';

export const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

export interface TestNet extends LocalNetwork {
  dir: string;
  chain: ChainClient;
  /** An SDK client as the devnet's submitter (or with another data dir: a stranger). */
  client(dataDir?: string): VeritrainClient;
  /** Polls the chain until the job is in `state`; returns the job. */
  waitJob(jobId: bigint, state: JobState | ((j: Awaited<ReturnType<typeof getJob>>) => boolean), timeoutMs?: number): Promise<Awaited<ReturnType<typeof getJob>>>;
  events(jobId?: bigint): Promise<ChainEvent[]>;
  /** A node's log so far. */
  log(name: string): string;
  /** Waits until a node's log matches. */
  waitLog(name: string, re: RegExp, timeoutMs?: number): Promise<string>;
  /** Rows of a node's sqlite table (read-only connection beside the running node). */
  rows(name: string, sql: string): Record<string, unknown>[];
  /** Starts again every node that is not running (a test that failed half-way leaves none down). */
  allUp(): Promise<void>;
}

/**
 * Once every drawn verifier of a submitted job has revealed, moves the chain's clock to the end of
 * its challenge window (the window is waiting time; the nodes read the chain's clock from its
 * blocks, so they finalize at once). Returns when done or when the job left 'submitted'.
 */
export async function skipChallengeWindow(rpcUrl: string, chain: ChainClient, jobId: bigint, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let mined = 0;
  for (;;) {
    const j = await getJob(chain, jobId);
    if (j.state !== 'submitted' && j.state !== 'claimed' && j.state !== 'open') return;
    if (j.state === 'submitted') {
      const v = await verificationOf(chain, jobId);
      // An idle devnet's clock stands still between transactions: a block now and then moves it.
      if (Date.now() - mined > 2000) {
        await rpcCall(rpcUrl, 'evm_mine', []);
        mined = Date.now();
      }
      const now = Number((await chain.public.getBlock()).timestamp);
      // A slot can still act until its reveal deadline (a replacement is drawn before that too).
      const open = v.slots.filter((x) => (x.status === 'drawn' || x.status === 'committed') && x.revealBy >= now).length;
      if (v.seed !== `0x${'0'.repeat(64)}` && open === 0 && v.pending === 0 && v.openProbes === 0) {
        const left = j.since + j.challengeWindow - now;
        if (left > 0) await rpcCall(rpcUrl, 'evm_increaseTime', [left + 1]);
        await rpcCall(rpcUrl, 'evm_mine', []);
        return;
      }
    }
    if (Date.now() > end) throw new Error(`job ${jobId}: the verifier round did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function startTestNet(spec: ClusterSpec, opts: { params?: Parameters<typeof startLocalNetwork>[0]['params'] } = {}): Promise<TestNet> {
  const dir = tempDir('vt-net-');
  const net = await startLocalNetwork({ dataDir: dir, port: 0, spec, params: opts.params });
  const chain = connect({ deployment: net.devnet.deployment, pollingInterval: 100 });
  const clients: VeritrainClient[] = [];
  const t: TestNet = {
    ...net,
    dir,
    chain,
    client(dataDir = net.clientDir) {
      const c = createClient({
        deployment: t.devnet.deployment,
        dataDir,
        passphrase: DEVNET_PASSPHRASE,
        scryptN: DEVNET_SCRYPT_N,
        bootstrap: net.cluster.bootstrap(),
      });
      clients.push(c);
      return c;
    },
    async waitJob(jobId, state, timeoutMs = 120_000) {
      const end = Date.now() + timeoutMs;
      const ok = typeof state === 'function' ? state : (j: { state: JobState }) => j.state === state;
      for (;;) {
        const j = await getJob(t.chain, jobId);
        if (ok(j)) return j;
        if (Date.now() > end) throw new Error(`job ${jobId} is ${j.state} after ${timeoutMs} ms, waited for ${typeof state === 'string' ? state : 'a condition'}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async events(jobId) {
      const all = await getEvents(t.chain);
      return jobId === undefined ? all : all.filter((e) => e.args.jobId === jobId);
    },
    log: (name) => {
      const f = join(dir, 'nodes', name, 'node.log');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    async waitLog(name, re, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(t.log(name));
        if (m) return m[0];
        if (Date.now() > end) throw new Error(`${name}'s log does not match ${re} after ${timeoutMs} ms:\n${t.log(name).slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    rows(name, sql) {
      const db = new DatabaseSync(join(dir, 'nodes', name, 'node.db'), { readOnly: true });
      try {
        return db.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async allUp() {
      for (const n of t.cluster.nodes) if (n.proc.exitCode !== null || n.proc.signalCode !== null) await t.cluster.restart(n.name);
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => {});
      await t.cluster.stop();
      await t.devnet.stop();
    },
  };
  // A test that fails half-way must not leave node processes or anvil behind.
  process.on('exit', () => {
    for (const n of t.cluster.nodes) n.proc.kill('SIGKILL');
    t.devnet.anvil.process.kill('SIGKILL');
  });
  return t;
}

/** The built-in MNIST MLP, short: `steps` steps, a checkpoint every `interval`. */
export function mnistSpec(steps: number, interval: number, name = 'net-test'): Record<string, unknown> {
  const example = JSON.parse(readFileSync(join(EXAMPLES, 'mnist-mlp.json'), 'utf8'));
  return { ...example, name, steps, checkpointInterval: interval };
}

/**
 * A small CSV classification job in `dir` (a spec file next to its data file): the path dataset
 * that `job submit` publishes as a blob.
 */
export function csvJob(dir: string, opts: { rows?: number; steps?: number; interval?: number } = {}): string {
  mkdirSync(dir, { recursive: true });
  const rows = opts.rows ?? 240;
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < rows; i++) {
    const x = [Math.sin(i), Math.cos(i * 0.7), ((i * 37) % 101) / 101, ((i * 13) % 7) / 7].map((v) => v.toFixed(4));
    lines.push(`${x.join(',')},${(i * 37) % 101 > 50 ? 1 : 0}`);
  }
  writeFileSync(join(dir, 'table.csv'), lines.join('\n') + '\n');
  const spec = {
    version: 1,
    name: 'csv-mlp',
    model: { type: 'mlp', hidden: [16] },
    dataset: { format: 'csv', path: 'table.csv', labelColumn: 'label' },
    optimizer: { type: 'adamw', lr: 0.01 },
    batchSize: 16,
    steps: opts.steps ?? 60,
    seed: 7,
    checkpointInterval: opts.interval ?? 10,
  };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return path;
}

/** Posted, claimed, submitted and finalized, never challenged; `agreed`: verifiers that revealed agreement. */
export function assertFinalizedWell(events: ChainEvent[], opts: { agreed?: number } = {}): void {
  const names = events.map((e) => e.eventName);
  for (const n of ['JobPosted', 'JobClaimed', 'ResultSubmitted', 'JobFinalized']) assert.ok(names.includes(n), `no ${n} event; got ${names.join(', ')}`);
  if (opts.agreed !== undefined) assert.equal(events.filter((e) => e.eventName === 'Revealed' && e.args.agree === true).length, opts.agreed, 'verifiers that revealed agreement');
  assert.ok(!names.includes('DisputeOpened'), 'an honest job was challenged');
  assert.ok(!names.includes('ProbeDisputeOpened'), 'an honest verifier was disputed');
}
