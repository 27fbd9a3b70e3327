// Node processes on this machine: what `veritrain devnet up --solvers N --verifiers M`, the demo,
// the fault tests and the network bench start. Each node is a real `veritrain node` process with
// its own data directory, keystore, database and libp2p identity, launched the way `veritrain node`
// re-executes itself (src/node/launch.ts: V8's young generation capped, the strip cache, malloc settings). Nothing
// here is a shortcut the network itself does not take: nodes find each other through the bootstrap
// addresses of nodes already up, and register and stake on chain themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEther, type Account, type Address } from 'viem';
import { connect, devAccount } from '../chain/client.ts';
import type { Deployment } from '../chain/deployment.ts';
import { DevnetError } from '../chain/anvil.ts';
import { NODE_FILE, type NodeInfoFile } from './daemon.ts';
import { writeFileAtomic } from '../files.ts';
import { openKeystore, PASSPHRASE_ENV } from './keystore.ts';
import { DAEMON_EXEC_ARGV, daemonEnv, warmStripCache } from './launch.ts';
import type { Role } from './state.ts';

export const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
/** Only for devnets: their keys guard nothing of value. A real node takes VERITRAIN_PASSPHRASE or a prompt. */
export const DEVNET_PASSPHRASE = 'veritrain-devnet';
/** scrypt cost of devnet keystores (the default 2^17 costs ~0.5 s and 128 MiB per node start). */
export const DEVNET_SCRYPT_N = 2 ** 14;

export interface NodeProcessOptions {
  name: string;
  dataDir: string;
  roles: Role[];
  deploymentFile: string;
  bootstrap?: string[];
  passphrase?: string;
  /** Extra `veritrain node` arguments (e.g. --fault, --cores). */
  args?: string[];
  /** Appended to <dataDir>/node.log (default) or given here. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
}

export interface NodeProcess {
  name: string;
  dataDir: string;
  roles: Role[];
  logFile: string;
  proc: ChildProcess;
  /** Resolves with node.json once this process wrote it; rejects if the process exits first. */
  ready: Promise<NodeInfoFile>;
  exited: Promise<number | string>;
  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** kill -9 and wait. */
  kill(): Promise<void>;
}

/** Creates the node's keystore (devnet passphrase and scrypt cost) if it has none; returns its address. */
export async function prepareNodeDir(dataDir: string, passphrase = DEVNET_PASSPHRASE): Promise<{ address: Address; peerId: string }> {
  mkdirSync(dataDir, { recursive: true });
  const ks = await openKeystore({ dataDir, passphrase, scryptN: DEVNET_SCRYPT_N });
  return { address: ks.address, peerId: ks.peerId.toString() };
}

/** Sends devnet ETH for gas from anvil's dev account `from` (default 0) to each address below `eth`. */
export async function fundFromDev(deployment: Deployment, addresses: Address[], eth = '10', from: Account = devAccount(0)): Promise<void> {
  const c = connect({ deployment, account: from });
  const want = parseEther(eth);
  for (const a of addresses) {
    const have = await c.public.getBalance({ address: a });
    if (have >= want / 2n) continue;
    const hash = await c.wallet!.sendTransaction({ to: a, value: want - have });
    await c.public.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  }
}

export function readNodeInfo(dataDir: string): NodeInfoFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, NODE_FILE), 'utf8')) as NodeInfoFile;
  } catch {
    return undefined;
  }
}

/** Starts `veritrain node` as a child process. */
export function startNodeProcess(o: NodeProcessOptions): NodeProcess {
  mkdirSync(o.dataDir, { recursive: true });
  const logFile = o.logFile ?? join(o.dataDir, 'node.log');
  const out: WriteStream = createWriteStream(logFile, { flags: 'a' });
  const args = [
    ...DAEMON_EXEC_ARGV,
    CLI,
    'node',
    '--role',
    o.roles.join(','),
    '--data-dir',
    o.dataDir,
    '--deployment',
    o.deploymentFile,
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
    '--no-mdns',
    '--json',
    ...(o.bootstrap ?? []).flatMap((b) => ['--bootstrap', b]),
    ...(o.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: daemonEnv({ ...process.env, [PASSPHRASE_ENV]: o.passphrase ?? DEVNET_PASSPHRASE, ...o.env }),
  });
  proc.stdout!.pipe(out, { end: false });
  proc.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | string>((res) => proc.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  void exited.then(() => out.end());
  const ready = new Promise<NodeInfoFile>((resolve, reject) => {
    const poll = setInterval(() => {
      const info = readNodeInfo(o.dataDir);
      if (info && info.pid === proc.pid) {
        clearInterval(poll);
        resolve(info);
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(poll);
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
      reject(new DevnetError(`node ${o.name} exited before it was ready (${code})`, { details: tail.trim(), hint: `see ${logFile}` }));
    });
  });
  ready.catch(() => {});
  const wait = async (graceMs: number) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
  return {
    name: o.name,
    dataDir: o.dataDir,
    roles: o.roles,
    logFile,
    proc,
    ready,
    exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await wait(graceMs);
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ClusterSpec {
  solvers: number;
  verifiers: number;
  watchers?: number;
  /** Per-node extra arguments by name (e.g. { 'solver-1': ['--fault', 'wrong-result'] }). */
  args?: Record<string, string[]>;
}

export interface LocalCluster {
  nodes: NodeProcess[];
  infos: Map<string, NodeInfoFile>;
  /** Every node's first address: what a newcomer bootstraps off. */
  bootstrap(): string[];
  node(name: string): NodeProcess;
  /** (Re)starts one node by name with the cluster's settings. */
  restart(name: string, extraArgs?: string[]): Promise<NodeInfoFile>;
  stop(): Promise<void>;
}

/** Node names of a spec, in start order: solver-1.., verifier-1.., watcher-1... */
export function clusterNames(spec: ClusterSpec): Array<{ name: string; roles: Role[] }> {
  const out: Array<{ name: string; roles: Role[] }> = [];
  for (let i = 1; i <= spec.solvers; i++) out.push({ name: `solver-${i}`, roles: ['solver'] });
  for (let i = 1; i <= spec.verifiers; i++) out.push({ name: `verifier-${i}`, roles: ['verifier'] });
  for (let i = 1; i <= (spec.watchers ?? 0); i++) out.push({ name: `watcher-${i}`, roles: ['watcher'] });
  return out;
}

/**
 * Starts the nodes of `spec` under `<dir>/nodes/<name>`: keystores made and funded with devnet ETH
 * first, the first node alone, then the rest bootstrapping off it; writes `<dir>/bootstrap.json`.
 */
export async function startCluster(opts: { dir: string; deployment: Deployment; deploymentFile: string; spec: ClusterSpec; log?: (l: string) => void }): Promise<LocalCluster> {
  const named = clusterNames(opts.spec);
  if (named.length === 0) throw new DevnetError('a cluster needs at least one node');
  const dirs = new Map(named.map((n) => [n.name, join(opts.dir, 'nodes', n.name)]));
  const accounts: Address[] = [];
  for (const n of named) accounts.push((await prepareNodeDir(dirs.get(n.name)!)).address);
  await Promise.all([fundFromDev(opts.deployment, accounts), warmStripCache()]);
  const nodes = new Map<string, NodeProcess>();
  const infos = new Map<string, NodeInfoFile>();
  const bootstrap = () =>
    [...infos.values()].flatMap((i) => {
      const a = i.addrs.find((x) => x.includes('/ip4/127.0.0.1/')) ?? i.addrs[0];
      return a === undefined ? [] : [a.includes('/p2p/') ? a : `${a}/p2p/${i.peerId}`];
    });
  const writeBootstrap = () => writeFileAtomic(join(opts.dir, 'bootstrap.json'), JSON.stringify({ addrs: bootstrap() }, null, 2) + '\n');
  const launch = (name: string, extraArgs: string[] = []) => {
    const roles = named.find((n) => n.name === name)!.roles;
    const p = startNodeProcess({
      name,
      dataDir: dirs.get(name)!,
      roles,
      deploymentFile: opts.deploymentFile,
      bootstrap: bootstrap(),
      args: [...(opts.spec.args?.[name] ?? []), ...extraArgs],
    });
    nodes.set(name, p);
    return p;
  };
  const up = async (p: NodeProcess) => {
    const info = await p.ready;
    infos.set(p.name, info);
    opts.log?.(`${p.name} up: node ${info.nodeId}, ${info.address}`);
    return info;
  };
  try {
    await up(launch(named[0].name));
    await Promise.all(named.slice(1).map((n) => up(launch(n.name))));
    writeBootstrap();
  } catch (e) {
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    throw e;
  }
  return {
    get nodes() {
      return [...nodes.values()];
    },
    infos,
    bootstrap,
    node: (name) => {
      const n = nodes.get(name);
      if (!n) throw new DevnetError(`no node ${name} in this cluster`);
      return n;
    },
    async restart(name, extraArgs) {
      await nodes.get(name)?.stop();
      const info = await up(launch(name, extraArgs));
      writeBootstrap();
      return info;
    },
    async stop() {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
    },
  };
}
