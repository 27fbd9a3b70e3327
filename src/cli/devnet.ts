// veritrain devnet up --solvers N --verifiers M [--watchers K]: the devnet chain plus node
// processes on loopback (src/node/localnet.ts), until SIGINT/SIGTERM. Without node counts,
// `devnet up` is the chain alone (src/cli/chain.ts).
import { join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { defaultDataDir } from '../chain/devnet.ts';
import type { CliContext } from './main.ts';

export const DEVNET_NODE_OPTIONS = {
  solvers: { type: 'string' },
  verifiers: { type: 'string' },
  watchers: { type: 'string' },
} as const;

export interface DevnetNodeValues {
  solvers?: string;
  verifiers?: string;
  watchers?: string;
  'data-dir'?: string;
  port?: string;
}

export const DEVNET_NODE_USAGE = `
Local network:
  veritrain devnet up --solvers N --verifiers M [--watchers K] [--data-dir DIR] [--port N] [--json]
    the devnet chain plus N + M + K node processes on 127.0.0.1 (data dirs under <data-dir>/nodes),
    registered and staked, a funded submitter in <data-dir>/client, bootstrap addresses in
    <data-dir>/bootstrap.json; \`veritrain job ...\` then works against it with no other flag
`;

export const wantsNodes = (v: DevnetNodeValues) => v.solvers !== undefined || v.verifiers !== undefined || v.watchers !== undefined;

function count(name: string, v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 32) throw new InputError(`--${name} must be 0..32, got "${v}"`);
  return n;
}

export async function cmdDevnetNodes(ctx: CliContext, v: DevnetNodeValues): Promise<Record<string, unknown>> {
  const [sub] = ctx.positionals;
  if (sub !== 'up') throw new InputError(`unknown devnet command "${sub ?? ''}"`, { hint: 'veritrain devnet up --solvers 3 --verifiers 2' });
  const spec = { solvers: count('solvers', v.solvers), verifiers: count('verifiers', v.verifiers), watchers: count('watchers', v.watchers) };
  const dataDir = resolve(v['data-dir'] ?? defaultDataDir());
  const port = v.port === undefined ? 8545 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be 0..65535, got "${v.port}"`);
  const { startLocalNetwork } = await import('../node/localnet.ts');
  const net = await startLocalNetwork({ dataDir, port, spec, log: (l) => ctx.say(l) });
  const nodes = net.cluster.nodes.map((n) => {
    const i = net.cluster.infos.get(n.name)!;
    return { name: n.name, roles: n.roles, nodeId: i.nodeId, address: i.address, peerId: i.peerId, pid: i.pid, dataDir: n.dataDir, log: n.logFile };
  });
  const ready = {
    rpcUrl: net.devnet.deployment.rpcUrl,
    chainId: net.devnet.deployment.chainId,
    deploymentFile: net.devnet.deploymentFile,
    bootstrapFile: join(dataDir, 'bootstrap.json'),
    clientDir: net.clientDir,
    nodes,
  };
  if (ctx.json) process.stdout.write(JSON.stringify(ready) + '\n');
  ctx.say(`network ready: chain at ${ready.rpcUrl}, ${nodes.length} nodes (logs in ${join(dataDir, 'nodes', '<name>', 'node.log')})`);
  ctx.say(`  try: veritrain job submit examples/mnist-mlp.json${v['data-dir'] ? ` --deployment ${ready.deploymentFile}` : ''}`);
  ctx.say('  Ctrl-C stops it; devnet up again resumes the chain and every node.');
  const exited = Promise.race(net.cluster.nodes.map((n) => n.exited.then((code) => `${n.name} exited (${code})`)));
  const signal = await Promise.race([
    new Promise<string>((res) => {
      process.once('SIGINT', () => res('SIGINT'));
      process.once('SIGTERM', () => res('SIGTERM'));
    }),
    net.devnet.failed,
    exited.then((why) => {
      ctx.say(`warning: ${why}; the others keep running`);
      return new Promise<string>(() => {});
    }),
  ]);
  await net.stop();
  return { stopped: true, signal, dataDir, persistedBlock: net.devnet.persistedBlock() };
}
