// veritrain node: run the daemon with one or more roles until SIGINT/SIGTERM.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseUnits } from 'viem';
import { InputError } from '../errors.ts';
import { readDeployment } from '../chain/deployment.ts';
import { defaultDataDir } from '../chain/devnet.ts';
import type { DaemonOptions } from '../node/daemon.ts';
import { readPassphrase } from '../node/keystore.ts';
import { DAEMON_EXEC_ARGV, daemonEnv, dropDaemonOnlyEnv, warmStripCache } from '../node/launch.ts';
import type { Role } from '../node/state.ts';
import type { CliContext } from './main.ts';

export const NODE_OPTIONS = {
  role: { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  cores: { type: 'string' },
  memory: { type: 'string' },
  accelerator: { type: 'string' },
  stake: { type: 'string' },
  threads: { type: 'string' },
  'no-mdns': { type: 'boolean' },
  'poll-ms': { type: 'string' },
  'reconnect-ms': { type: 'string' },
  fault: { type: 'string', multiple: true },
} as const;

export type NodeValues = {
  role?: string;
  listen?: string[];
  bootstrap?: string[];
  cores?: string;
  memory?: string;
  accelerator?: string;
  stake?: string;
  threads?: string;
  'no-mdns'?: boolean;
  'poll-ms'?: string;
  'reconnect-ms'?: string;
  fault?: string[];
  'data-dir'?: string;
  rpc?: string;
  deployment?: string;
};

export const NODE_USAGE = `
Network node:
  veritrain node --role solver|verifier|watcher[,...] [--data-dir DIR] [--rpc URL] [--deployment FILE]
                 [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--cores N] [--memory MiB]
                 [--accelerator LABEL] [--stake VTT] [--threads N] [--no-mdns] [--json]
    The keystore is created on first start (passphrase from VERITRAIN_PASSPHRASE or a prompt);
    the node registers on chain, bonds stake and, as a verifier, joins the verifier pool.
    --data-dir     default $VERITRAIN_HOME/node (~/.veritrain/node)
    --deployment   default the devnet's deployment.json; bootstrap addresses default to the
                   bootstrap.json beside it (written by veritrain devnet up)
    --listen       default /ip4/0.0.0.0/tcp/0
    --poll-ms N    chain poll interval (default 500); --reconnect-ms N: redial interval (default 5000)
`;

const ROLE_NAMES: readonly Role[] = ['solver', 'verifier', 'watcher'];

export function parseRoles(s: string | undefined): Role[] {
  if (!s) throw new InputError('veritrain node needs --role', { hint: '--role solver, --role verifier,watcher, ...' });
  const roles = s.split(',').map((r) => r.trim());
  for (const r of roles) if (!ROLE_NAMES.includes(r as Role)) throw new InputError(`unknown role "${r}"`, { hint: `roles: ${ROLE_NAMES.join(', ')}` });
  return [...new Set(roles)] as Role[];
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InputError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** Addresses from a bootstrap.json ({"addrs": [...]}) beside the deployment file, if there is one. */
export function bootstrapFileAddrs(deploymentFile: string): string[] {
  const f = join(dirname(deploymentFile), 'bootstrap.json');
  if (!existsSync(f)) return [];
  try {
    const j = JSON.parse(readFileSync(f, 'utf8')) as { addrs?: unknown };
    return Array.isArray(j.addrs) ? j.addrs.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * A daemon runs with the launch settings of src/node/launch.ts (V8's young generation capped, the
 * strip cache, malloc settings): started without them, the command fills the strip cache, runs
 * itself again with them (the same arguments and stdio, signals passed on) and exits with its exit code.
 */
async function reexecAsDaemon(): Promise<never> {
  const { spawn } = await import('node:child_process');
  await warmStripCache();
  const child = spawn(process.execPath, [...DAEMON_EXEC_ARGV, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: daemonEnv() });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((res) => child.on('exit', (c, signal) => res(c ?? (signal ? 1 : 0))));
  process.exit(code);
}

export async function cmdNode(ctx: CliContext, v: NodeValues): Promise<Record<string, unknown>> {
  if (!DAEMON_EXEC_ARGV.every((f) => process.execArgv.includes(f))) return reexecAsDaemon();
  dropDaemonOnlyEnv();
  const roles = parseRoles(v.role);
  const dataDir = resolve(v['data-dir'] ?? join(process.env.VERITRAIN_HOME ?? join(homedir(), '.veritrain'), 'node'));
  const deploymentFile = resolve(v.deployment ?? join(defaultDataDir(), 'deployment.json'));
  const deployment = readDeployment(deploymentFile);
  const listen = v.listen ?? ['/ip4/0.0.0.0/tcp/0'];
  const stake = v.stake === undefined ? undefined : parseUnits(v.stake, 18);
  const opts: DaemonOptions = {
    dataDir,
    roles,
    deployment,
    deploymentFile,
    rpcUrl: v.rpc,
    passphrase: await readPassphrase(),
    listen,
    bootstrap: v.bootstrap ?? bootstrapFileAddrs(deploymentFile),
    mdns: !v['no-mdns'],
    hardware: {
      ...(v.cores ? { cores: positiveInt('cores', v.cores) } : {}),
      ...(v.memory ? { memoryMiB: positiveInt('memory', v.memory) } : {}),
      ...(v.accelerator ? { accelerator: v.accelerator } : {}),
    },
    stake,
    threads: positiveInt('threads', v.threads),
    pollMs: positiveInt('poll-ms', v['poll-ms']),
    reconnectMs: positiveInt('reconnect-ms', v['reconnect-ms']),
    loopback: listen.every((a) => a.startsWith('/ip4/127.')),
    faults: v.fault,
    log: (l) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${l}\n`),
  };
  // Loaded here, not at the top: `veritrain --help` and the other commands need none of it.
  const { startDaemon } = await import('../node/daemon.ts');
  const daemon = await startDaemon(opts);
  ctx.say(`node ${daemon.info.nodeId} running (${roles.join(', ')}), data in ${dataDir}; Ctrl-C stops it`);
  const signal = await new Promise<string>((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
  await daemon.stop();
  return { stopped: true, signal, ...daemon.info };
}
