// Network figures on loopback, every node its own process (bench/network-node.ts):
//   1. gossip latency p50/p99: 20 nodes (bootstrap off node 0, plus 3 random dials each), signed
//      job announcements from every node in turn, one per 100 ms, after an unmeasured warm-up round;
//      latency = publish call → delivery at each of the other 19 nodes (signing, relaying and every
//      hop's full validation included);
//   2. idle RSS per node: each of those 20 processes after the mesh formed and 3 s of quiet; the
//      odd-numbered ones run with --max-semi-space-size=1 (V8's young generation capped at 1 MiB
//      per semi-space), the even ones with Node's defaults, and each group is reported;
//   3. blob throughput: a provider process serves a random blob; this process fetches it into a
//      fresh store (.part write + SHA-256 check + rename included), against the same file over a
//      bare TCP socket hashed and written to disk (the peer: no noise, no yamux, no framing);
//   4. idle RSS of real node daemons (bench/network-daemon.ts): 3 solver and 2 verifier `veritrain
//      node` processes on a devnet, 20 s after the last one is up (not in --quick runs);
//   5. end-to-end overhead of the network (bench/network-e2e.ts): one MNIST job trained alone on
//      this machine (`veritrain train`), then the same spec through a local network (devnet chain,
//      1 solver, 2 verifiers as processes): submit → result on chain, against the local time.
//
//   npm run bench:network [-- --json] [-- --quick] [-- --nodes N] [-- --e2e-seconds S] [-- --only e2e|gossip|daemon]
//
// --json: the table goes to stderr and the last stdout line is one JSON object (NetworkBenchResult).
// --quick: 5 nodes, 20 messages, a 32 MiB blob, no daemons and no end-to-end run unless --only asks (for the tests).
// --only gossip: all but the end-to-end run; --only daemon: the daemons' idle RSS alone.
// --e2e-seconds: how long the local training of the end-to-end job should take (default 120).
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { cpus, availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { fetchBlob } from '../src/net/blob-protocol.ts';
import { decodeAndVerify, signEnvelope } from '../src/net/messages.ts';
import { loopbackNode } from '../src/net/testing.ts';
import { openBlobStore } from '../src/node/blobs.ts';
import { daemonIdleBench, formatDaemonRss, type DaemonRssFigure } from './network-daemon.ts';
import { e2eBench, formatE2e, type E2eFigure } from './network-e2e.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_SCRIPT = join(HERE, 'network-node.ts');

export interface NetworkBenchResult {
  bench: 'veritrain-network';
  date: string;
  node: string;
  cpu: string;
  cores: number;
  quick: boolean;
  gossip: {
    nodes: number;
    messages: number;
    /** Pause between two publications (one publisher at a time, round robin). */
    publishIntervalMs: number;
    samples: number;
    /** Deliveries received / (messages × (nodes − 1)). */
    deliveredFraction: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
    meanMs: number;
    /** Smallest gossip mesh (peers on the job topic) over all nodes when publishing began. */
    minMesh: number;
    setupSec: number;
    /** Mean share of one core each node process used while idle (DHT, gossip heartbeats, keep-alives). */
    idleCpuShare: number;
    /** The same while the messages were published and delivered. */
    busyCpuShare: number;
  };
  /** Node defaults (even-numbered nodes) and --max-semi-space-size=1 (odd-numbered nodes). */
  idleRss: { default: RssFigure; semiSpace1: RssFigure };
  /** In-process cost of one message's decode + schema + EIP-191 signer recovery (ms). */
  verifyMs: number;
  /** Reference: the same measurement with 2 node processes (one hop, no CPU contention to speak of). */
  oneHop: { samples: number; p50Ms: number; p99Ms: number };
  blob: { sizeMiB: number; runs: number; oursMBps: number; oursSec: number; tcpMBps: number; ratioOursToTcp: number };
  /** Real `veritrain node` processes idle on a devnet; absent in --quick runs (unless --only daemon). */
  daemonRss?: DaemonRssFigure;
  /** Absent in --quick runs (unless --only e2e). */
  e2e?: E2eFigure;
}

export interface RssFigure {
  nodes: number;
  medianMB: number;
  /** Median proportional set size (shared pages, e.g. the node binary, split among processes); null off Linux. */
  pssMedianMB: number | null;
  minMB: number;
  maxMB: number;
  heapMedianMB: number;
}

interface Child {
  proc: ChildProcess;
  dir: string;
  ready: Promise<any>;
}

function spawnNode(onMessage?: (m: any) => void, execArgv: string[] = []): Child {
  const dir = mkdtempSync(join(tmpdir(), 'vt-netbench-'));
  const proc = fork(NODE_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execPath: process.execPath, execArgv });
  const ready = new Promise<any>((resolve, reject) => {
    proc.on('message', (m: any) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'error') reject(new Error(m.message));
      onMessage?.(m);
    });
    proc.on('exit', (code) => reject(new Error(`bench node exited with ${code}`)));
  });
  ready.catch(() => {});
  return { proc, dir, ready };
}

function ask<T>(c: Child, msg: object, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: any) => {
      if (m.type === reply) {
        c.proc.off('message', on);
        resolve(m);
      } else if (m.type === 'error') {
        c.proc.off('message', on);
        reject(new Error(m.message));
      }
    };
    c.proc.on('message', on);
    c.proc.send(msg);
  });
}

const SEMI_SPACE_FLAG = '--max-semi-space-size=1';
// Every message costs each of the other nodes one verification (~3 ms of CPU): 20 nodes at one
// message per 100 ms keep ~0.6 of the 2 cores busy, so the figure is latency, not a saturated queue.
const PUBLISH_INTERVAL_MS = 100;

function rssFigure(statuses: Array<{ rssMB: number; pssMB: number | null; heapMB: number }>): RssFigure {
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  const rss = sorted(statuses.map((s) => s.rssMB));
  const heap = sorted(statuses.map((s) => s.heapMB));
  const pss = statuses.every((s) => s.pssMB !== null) ? sorted(statuses.map((s) => s.pssMB!)) : null;
  return {
    nodes: rss.length,
    medianMB: quantile(rss, 0.5),
    pssMedianMB: pss && quantile(pss, 0.5),
    minMB: rss[0],
    maxMB: rss[rss.length - 1],
    heapMedianMB: quantile(heap, 0.5),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.proc.exitCode !== null) return resolve();
          const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
          c.proc.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.proc.send({ cmd: 'stop' });
        }),
    ),
  );
  for (const c of children) rmSync(c.dir, { recursive: true, force: true });
}

/** idleMs: quiet time before the idle RSS/CPU sample (0: none). */
async function gossipBench(nNodes: number, nMessages: number, idleMs: number, log: (s: string) => void) {
  const t0 = performance.now();
  const recvs: Array<{ id: string; t: number }> = [];
  const onMessage = (m: any) => {
    if (m.type === 'recv') recvs.push({ id: m.id, t: m.t });
  };
  const children: Child[] = [];
  try {
    // Node 0 first: the others bootstrap off it (no hard-coded bootnodes; any node can be one).
    const first = spawnNode(onMessage);
    children.push(first);
    first.proc.send({ cmd: 'gossip', dir: first.dir });
    const boot = await first.ready;
    for (let i = 1; i < nNodes; i++) {
      const c = spawnNode(onMessage, i % 2 === 1 ? [SEMI_SPACE_FLAG] : []);
      children.push(c);
      c.proc.send({ cmd: 'gossip', dir: c.dir, bootstrap: [`${boot.addr}`] });
    }
    const infos = await Promise.all(children.map((c) => c.ready));
    const list = infos.map((i) => ({ address: i.address, peerId: i.peerId }));
    for (const c of children) c.proc.send({ cmd: 'allow', list });
    // A few random extra links so the graph is not a star around node 0.
    await Promise.all(
      children.map((c, i) => {
        const others = infos.filter((_, j) => j !== i && j !== 0);
        const pick = Array.from({ length: Math.min(3, others.length) }, () => others[Math.floor(Math.random() * others.length)].addr);
        return ask(c, { cmd: 'connect', addrs: [...new Set(pick)] }, 'connected');
      }),
    );
    const wantMesh = Math.min(4, nNodes - 1);
    let statuses: any[] = [];
    const meshDeadline = Date.now() + 60_000;
    for (;;) {
      statuses = await Promise.all(children.map((c) => ask<any>(c, { cmd: 'status' }, 'status')));
      if (statuses.every((s) => s.mesh >= wantMesh)) break;
      if (Date.now() > meshDeadline) {
        const col = (k: string) => statuses.map((s) => s[k]).join(',');
        throw new Error(`gossip mesh did not form: mesh sizes ${col('mesh')}; connections ${col('connections')}; gossip peers ${col('gossipPeers')}; subscribers ${col('subscribers')}`);
      }
      await sleep(250);
    }
    const setupSec = (performance.now() - t0) / 1000;
    log(`  ${nNodes} nodes up, mesh formed in ${setupSec.toFixed(1)} s${idleMs > 0 ? `; idling ${(idleMs / 1000).toFixed(1)} s for RSS` : ''}`);
    // Two samples: the first starts the CPU clock, the second (after the quiet time) reads it.
    await sleep(idleMs / 2);
    statuses = await Promise.all(children.map((c) => ask<any>(c, { cmd: 'status' }, 'status')));
    await sleep(idleMs / 2);
    statuses = await Promise.all(children.map((c) => ask<any>(c, { cmd: 'status' }, 'status')));
    const idleCpuShare = statuses.reduce((s, x) => s + x.cpuShare, 0) / statuses.length;
    const idleRss = { default: rssFigure(statuses.filter((_, i) => i % 2 === 0)), semiSpace1: rssFigure(statuses.filter((_, i) => i % 2 === 1)) };
    const minMesh = Math.min(...statuses.map((s) => s.mesh));

    // Warm-up round, not measured: a long-running node has its JIT warm (cold verification in the
    // interpreter is several times slower than the figure a daemon sees).
    const warmup = Math.min(nMessages, 2 * nNodes);
    for (let seq = 0; seq < warmup; seq++) {
      await ask<any>(children[seq % nNodes], { cmd: 'publish', seq: 1_000_000 + seq }, 'published');
      await sleep(PUBLISH_INTERVAL_MS);
    }
    await sleep(500);
    const published = new Map<string, number>();
    for (let seq = 0; seq < nMessages; seq++) {
      const c = children[seq % nNodes];
      const p = await ask<any>(c, { cmd: 'publish', seq }, 'published');
      published.set(p.id, p.t);
      await sleep(PUBLISH_INTERVAL_MS);
    }
    const expected = nMessages * (nNodes - 1);
    const end = Date.now() + 10_000;
    while (recvs.filter((r) => published.has(r.id)).length < expected && Date.now() < end) await sleep(50);
    const busy = await Promise.all(children.map((c) => ask<any>(c, { cmd: 'status' }, 'status')));
    const busyCpuShare = busy.reduce((s, x) => s + x.cpuShare, 0) / busy.length;
    const lat = recvs.filter((r) => published.has(r.id)).map((r) => r.t - published.get(r.id)!);
    lat.sort((a, b) => a - b);
    return {
      gossip: {
        nodes: nNodes,
        messages: nMessages,
        publishIntervalMs: PUBLISH_INTERVAL_MS,
        samples: lat.length,
        deliveredFraction: lat.length / expected,
        p50Ms: quantile(lat, 0.5),
        p90Ms: quantile(lat, 0.9),
        p99Ms: quantile(lat, 0.99),
        maxMs: lat[lat.length - 1],
        meanMs: lat.reduce((s, x) => s + x, 0) / lat.length,
        minMesh,
        setupSec,
        idleCpuShare,
        busyCpuShare,
      },
      idleRss,
    };
  } finally {
    await stopAll(children);
  }
}

async function tcpFetch(port: number, file: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const h = createHash('sha256');
    const out = createWriteStream(file);
    const sock = tcpConnect(port, '127.0.0.1');
    sock.on('data', (d) => h.update(d));
    sock.pipe(out);
    out.on('finish', () => {
      h.digest('hex');
      resolve();
    });
    sock.on('error', reject);
  });
  return (performance.now() - t0) / 1000;
}

async function blobBench(sizeMiB: number, runs: number) {
  const provider = spawnNode();
  const scratch = mkdtempSync(join(tmpdir(), 'vt-netbench-client-'));
  const client = await loopbackNode();
  try {
    provider.proc.send({ cmd: 'provider', dir: provider.dir, size: sizeMiB * 2 ** 20 });
    const info = await provider.ready;
    const oursSec: number[] = [];
    const tcpSec: number[] = [];
    for (let r = 0; r < runs; r++) {
      const store = openBlobStore(join(scratch, `run${r}`));
      const t0 = performance.now();
      const res = await fetchBlob({ node: client, store, hash: info.hash, providers: [info.addr], useDht: false });
      oursSec.push((performance.now() - t0) / 1000);
      if (res.size !== sizeMiB * 2 ** 20) throw new Error(`fetched ${res.size} bytes`);
      rmSync(join(scratch, `run${r}`), { recursive: true, force: true });
      tcpSec.push(await tcpFetch(info.tcpPort, join(scratch, `tcp${r}`)));
      rmSync(join(scratch, `tcp${r}`), { force: true });
    }
    // The connection is opened on the first run: the best run is the steady-state transfer.
    const ours = Math.min(...oursSec);
    const tcp = Math.min(...tcpSec);
    const bytes = sizeMiB * 2 ** 20;
    return {
      blob: { sizeMiB, runs, oursMBps: bytes / 1e6 / ours, oursSec: ours, tcpMBps: bytes / 1e6 / tcp, ratioOursToTcp: tcp / ours },
    };
  } finally {
    await client.stop();
    await stopAll([provider]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function verifyCost(): Promise<number> {
  const signer = privateKeyToAccount(generatePrivateKey());
  const msgs = [];
  for (let i = 0; i < 60; i++) {
    const body = { jobId: `0x${i.toString(16).padStart(64, '0')}`, specHash: 'a'.repeat(64), datasetHash: 'b'.repeat(64), reward: '1', deadline: 2e9 };
    msgs.push((await signEnvelope({ kind: 'job', body, chainId: 31337, peerId: '12D3KooWPMMxZemWiZqeyULLmLtwkyCxes8dpJiJQcJJaeJhkT4k', signer })).bytes);
  }
  for (const m of msgs.slice(0, 10)) await decodeAndVerify(m); // warm-up
  const t0 = performance.now();
  for (const m of msgs.slice(10)) await decodeAndVerify(m);
  return (performance.now() - t0) / 50;
}

export async function runNetworkBench(opts: { quick: boolean; nodes?: number; e2eSeconds?: number; only?: 'e2e' | 'gossip' | 'daemon'; log: (s: string) => void }): Promise<NetworkBenchResult> {
  const head = { bench: 'veritrain-network' as const, date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), quick: opts.quick };
  if (opts.only === 'e2e') return { ...head, e2e: await e2eBench({ quick: opts.quick, seconds: opts.e2eSeconds, log: opts.log }) } as NetworkBenchResult;
  const daemons = async () => {
    opts.log('daemons: a devnet with 3 solver and 2 verifier node processes');
    return daemonIdleBench({ log: opts.log });
  };
  if (opts.only === 'daemon') return { ...head, daemonRss: await daemons() } as NetworkBenchResult;
  const verifyMs = await verifyCost();
  const nNodes = opts.nodes ?? (opts.quick ? 5 : 20);
  const nMessages = opts.quick ? 20 : 100;
  opts.log(`gossip: ${nNodes} node processes, ${nMessages} messages`);
  const g = await gossipBench(nNodes, nMessages, opts.quick ? 2000 : 5000, opts.log);
  opts.log(`gossip one hop: 2 node processes, ${opts.quick ? 10 : 50} messages`);
  const hop = (await gossipBench(2, opts.quick ? 10 : 50, 0, opts.log)).gossip;
  const sizeMiB = opts.quick ? 32 : 256;
  opts.log(`blob: ${sizeMiB} MiB, 3 runs`);
  const b = await blobBench(sizeMiB, 3);
  const daemonRss = opts.quick ? undefined : await daemons();
  const e2e = opts.quick || opts.only === 'gossip' ? undefined : await e2eBench({ quick: false, seconds: opts.e2eSeconds, log: opts.log });
  return {
    ...head,
    daemonRss,
    e2e,
    verifyMs,
    oneHop: { samples: hop.samples, p50Ms: hop.p50Ms, p99Ms: hop.p99Ms },
    ...g,
    ...b,
  };
}

export function formatNetworkBench(r: NetworkBenchResult): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  if (r.gossip === undefined) return r.e2e ? formatE2e(r.e2e) : formatDaemonRss(r.daemonRss!);
  return [
    `veritrain network bench — ${r.date.slice(0, 10)}, ${r.cpu}, ${r.cores} cores, Node ${r.node}, load ${loadavg()[0].toFixed(2)} at end`,
    '',
    `gossip latency, ${r.gossip.nodes} node processes on loopback, ${r.gossip.messages} signed job announcements, one per ${r.gossip.publishIntervalMs} ms (publish → delivery at each other node)`,
    `p50 ${f(r.gossip.p50Ms, 2)} ms   p90 ${f(r.gossip.p90Ms, 2)} ms   p99 ${f(r.gossip.p99Ms, 2)} ms   max ${f(r.gossip.maxMs, 2)} ms   mean ${f(r.gossip.meanMs, 2)} ms`,
    `${r.gossip.samples} deliveries (${f(r.gossip.deliveredFraction * 100)} % of expected), smallest mesh ${r.gossip.minMesh}, network up in ${f(r.gossip.setupSec)} s`,
    `each hop decodes and verifies before relaying: ${f(r.verifyMs, 2)} ms per message (EIP-191 recovery in JS), on ${r.cores} cores shared by ${r.gossip.nodes} processes`,
    `reference, 2 node processes (one hop): p50 ${f(r.oneHop.p50Ms, 2)} ms   p99 ${f(r.oneHop.p99Ms, 2)} ms (${r.oneHop.samples} deliveries)`,
    `a node uses ${f(r.gossip.idleCpuShare * 100)} % of a core idle, ${f(r.gossip.busyCpuShare * 100)} % while the messages flow (${f(r.gossip.busyCpuShare * r.gossip.nodes * 100)} % of one core for all ${r.gossip.nodes})`,
    '',
    `idle memory per node process (target RSS < 150 MB) RSS median    min    max   PSS median   JS heap median`,
    ...(['default', 'semiSpace1'] as const).map((k) => {
      const x = r.idleRss[k];
      const label = k === 'default' ? `Node defaults (${x.nodes} nodes)` : `--max-semi-space-size=1 (${x.nodes} nodes)`;
      return `${label.padEnd(50)}${f(x.medianMB).padStart(10)} ${f(x.minMB).padStart(6)} ${f(x.maxMB).padStart(6)}   ${(x.pssMedianMB === null ? 'n/a' : f(x.pssMedianMB)).padStart(10)}   ${f(x.heapMedianMB).padStart(14)} MB`;
    }),
    '',
    `blob transfer, ${r.blob.sizeMiB} MiB provider process → this process, best of ${r.blob.runs} (target >= 100 MB/s)`,
    `ours (/veritrain/blob/1.0.0: noise + yamux + frames, .part + SHA-256 + rename): ${f(r.blob.oursMBps)} MB/s (${f(r.blob.oursSec, 2)} s)`,
    `peer (bare TCP socket, SHA-256, written to disk):                              ${f(r.blob.tcpMBps)} MB/s   ours/peer ${f(r.blob.ratioOursToTcp, 2)}`,
    ...(r.daemonRss ? ['', formatDaemonRss(r.daemonRss)] : []),
    ...(r.e2e ? ['', formatE2e(r.e2e)] : []),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const out = json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');
  try {
    const arg = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
    const nodes = arg('--nodes') === undefined ? undefined : Number(arg('--nodes'));
    const e2eSeconds = arg('--e2e-seconds') === undefined ? undefined : Number(arg('--e2e-seconds'));
    const only = arg('--only') as 'e2e' | 'gossip' | 'daemon' | undefined;
    if (only !== undefined && !['e2e', 'gossip', 'daemon'].includes(only)) throw new Error(`--only takes e2e, gossip or daemon, got ${only}`);
    const r = await runNetworkBench({ quick: args.includes('--quick'), nodes, e2eSeconds, only, log: (s) => process.stderr.write(s + '\n') });
    out(formatNetworkBench(r));
    if (json) console.log(JSON.stringify(r));
    process.exit(0);
  } catch (e) {
    if (json) console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    console.error(e);
    process.exit(1);
  }
}
