// The embedded EVM node: anvil from the npm package @foundry-rs/anvil (its binary ships inside a
// per-platform registry package), started as a child process and stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VeritrainError } from '../errors.ts';

/** The devnet node could not start or stopped unexpectedly. */
export class DevnetError extends VeritrainError {
  override name = 'DevnetError';
}

export interface AnvilOptions {
  /** Port to listen on; 0 picks a free one (default 0). */
  port?: number;
  host?: string;
  /** Start from this state file (written by a previous devnet; see devnet.ts). */
  loadState?: string;
  chainId?: number;
  /** Extra command line arguments. */
  args?: string[];
  /** Milliseconds to wait for the RPC to answer (default 15 s). */
  readyTimeoutMs?: number;
}

export interface Anvil {
  url: string;
  port: number;
  pid: number;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Path of the anvil binary inside the platform package that npm installed. */
export function anvilBinary(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new DevnetError(`the anvil binary package ${pkg} is not installed`, {
      details: `@foundry-rs/anvil ships anvil in per-platform optional packages; ${process.platform}/${process.arch} found none`,
      hint: 'run npm install with Node >= 22 (optional platform packages are skipped on older Node), or use --rpc <url> with another node',
      cause: e,
    });
  }
  const bin = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!existsSync(bin)) throw new DevnetError(`anvil binary missing at ${bin}`, { hint: 'reinstall @foundry-rs/anvil' });
  return bin;
}

/** Start anvil and wait until its RPC answers eth_chainId. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const host = opts.host ?? '127.0.0.1';
  // Port 0: anvil binds a free port itself and prints it, so no other process can take it in between.
  const args = ['--port', String(opts.port ?? 0), '--host', host];
  if (opts.loadState) args.push('--load-state', opts.loadState);
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  // Keep the last 64 block states in memory and none on disk: by default anvil writes every older
  // state to ~/.foundry/anvil/tmp (a JSON file of the whole state per block, ~5 MB with our
  // contracts), never cleaned when anvil is killed; a few hundred random disputes filled 100 GB.
  // Reads at a recent block (a reverted move replayed at its block) stay possible.
  if (!(opts.args ?? []).some((a) => a.startsWith('--prune-history') || a.startsWith('--max-persisted-states'))) args.push('--prune-history', '64');
  args.push(...(opts.args ?? []));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  let output = '';
  const listening = new Promise<number>((resolvePort) => {
    const onData = (b: Buffer) => {
      if (output.length < 16_000) output += b.toString();
      const m = /Listening on \S*:(\d+)/.exec(output);
      if (m) resolvePort(Number(m[1]));
    };
    // Keep reading its output (request logs) for its whole life, so a full pipe never blocks it.
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  const failed = exited.then((code) => {
    throw new DevnetError(`anvil exited before it was ready (exit ${code})`, {
      details: output.trim().slice(-2000),
      hint: /address already in use/i.test(output) ? `port ${opts.port} is taken: pass another --port (0 picks a free one)` : undefined,
    });
  });
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const tooLate = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DevnetError(`anvil did not start within ${timeoutMs} ms`, { details: output.slice(-2000) })), timeoutMs);
  });
  let url: string;
  let port: number;
  try {
    port = await Promise.race([listening, failed, tooLate]);
    url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    await Promise.race([waitForRpc(url, timeoutMs), failed, tooLate]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  failed.catch(() => {}); // after readiness an exit is the caller's to watch (via `exited`)
  return {
    url,
    port,
    pid: child.pid!,
    process: child,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Poll eth_chainId until the node answers; returns the chain id. */
export async function waitForRpc(url: string, timeoutMs = 15_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const r = await rpcCall<string>(url, 'eth_chainId', []);
      return Number(r);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new DevnetError(`no JSON-RPC answer from ${url}`, { details: String(last), hint: 'is the node running and the URL right?' });
}

/** One raw JSON-RPC call (for anvil_* methods viem has no action for). */
export async function rpcCall<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new DevnetError(`${method} failed: ${body.error.message}`);
  return body.result as T;
}
