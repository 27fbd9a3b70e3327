// The embedded devnet: anvil with its state persisted in a data directory, the contracts deployed
// once, deployment.json written. The state file is written by us, atomically (temp file, fsync,
// rename) after every new block, from anvil_dumpState: a kill -9 at any moment leaves the previous
// complete file, never a torn one (anvil's own --state writes the file in place).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { rpcCall, startAnvil, DevnetError, type Anvil } from './anvil.ts';
import { devAccount } from './client.ts';
import { deployContracts, deploymentIsLive, type DeployParams } from './deploy.ts';
import { readDeployment, writeDeployment, type Deployment } from './deployment.ts';

export interface DevnetOptions {
  dataDir: string;
  /** RPC port (default 8545; 0 picks a free one). */
  port?: number;
  host?: string;
  /** How often to look for new blocks to persist, in ms (default 200). */
  persistIntervalMs?: number;
  /** Contract parameters for the first deployment. */
  params?: Partial<DeployParams>;
  /**
   * The market's judges at the first deployment: 'verification' (CheckpointJudge → StepJudge →
   * OpJudge: real training steps judged down to one binary32 op; the default) or 'test' (LeafJudge
   * and TestJudge, hash-chain steps, for tests of the coordination layer alone).
   */
  judges?: 'test' | 'verification';
}

export interface Devnet {
  deployment: Deployment;
  anvil: Anvil;
  dataDir: string;
  stateFile: string;
  deploymentFile: string;
  /** True when this start deployed the contracts (false: they came back from the state file). */
  deployedNow: boolean;
  /** Highest block known to be in the state file on disk. */
  persistedBlock(): number;
  /** Persist now (if the chain moved) and resolve when the file is on disk. */
  flush(): Promise<void>;
  /** Rejects if anvil dies while the devnet runs. */
  failed: Promise<never>;
  stop(): Promise<void>;
}

/** $VERITRAIN_HOME/devnet, default ~/.veritrain/devnet. */
export function defaultDataDir(): string {
  return join(process.env.VERITRAIN_HOME ?? join(homedir(), '.veritrain'), 'devnet');
}

interface PidFile {
  pid: number;
  start: string;
  anvilPid: number;
  anvilStart: string;
  url: string;
}

/** The kernel's start time of a process (Linux), to tell our process from a reused pid. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The chain's clock beside the state file: anvil's state holds the blocks, not its time offset. */
const clockFileOf = (stateFile: string) => join(dirname(stateFile), 'clock.json');

/**
 * Dump anvil's whole chain (state, blocks, receipts) and write it atomically; returns the block
 * dumped. The clock's offset from the wall clock (evm_increaseTime) goes beside it, as the latest
 * block shows it, so that a restart neither turns the chain's time back nor loses the offset.
 */
async function persist(url: string, stateFile: string): Promise<number> {
  const latest = await rpcCall<{ number: string; timestamp: string }>(url, 'eth_getBlockByNumber', ['latest', false]);
  const offset = Number(latest.timestamp) - Math.floor(Date.now() / 1000);
  const gz = await rpcCall<string>(url, 'anvil_dumpState', []);
  atomicWrite(stateFile, gunzipSync(Buffer.from(gz.slice(2), 'hex')));
  atomicWrite(clockFileOf(stateFile), JSON.stringify({ offset }) + '\n');
  return Number(latest.number);
}

/**
 * anvil started from a state file starts its clock at the wall clock: a chain that had been moved
 * forward would mine blocks older than its last one. Its clock goes on from where it was (the
 * offset recorded at the last persist), never behind its latest block.
 */
async function restoreClock(url: string, stateFile: string): Promise<void> {
  let offset = 0;
  try {
    offset = Number((JSON.parse(readFileSync(clockFileOf(stateFile), 'utf8')) as { offset?: number }).offset) || 0;
  } catch {
    // No clock file (a state file from before it): the latest block alone keeps the time from going back.
  }
  const latest = await rpcCall<{ timestamp: string }>(url, 'eth_getBlockByNumber', ['latest', false]);
  const now = Math.floor(Date.now() / 1000);
  const time = Math.max(now + offset, Number(latest.timestamp) + 1);
  if (time > now) await rpcCall(url, 'anvil_setTime', [time]);
}

/**
 * A previous devnet of this data dir killed with -9 can leave its anvil running: save that anvil's
 * chain (it may hold blocks newer than the state file), then stop it by its recorded pid.
 */
async function adoptOrphan(pidFile: string, stateFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  let rec: PidFile;
  try {
    rec = JSON.parse(readFileSync(pidFile, 'utf8')) as PidFile;
  } catch {
    rmSync(pidFile, { force: true });
    return;
  }
  if (rec.pid !== process.pid && alive(rec.pid) && startTimeOf(rec.pid) === rec.start) {
    throw new DevnetError(`a devnet is already running on this data directory (pid ${rec.pid}, ${rec.url})`, {
      hint: 'use that one, stop it, or pass another --data-dir',
    });
  }
  if (alive(rec.anvilPid) && startTimeOf(rec.anvilPid) === rec.anvilStart) {
    try {
      await persist(rec.url, stateFile);
    } catch {
      // Unresponsive: the state file from its last persist stands.
    }
    process.kill(rec.anvilPid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(rec.anvilPid); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive(rec.anvilPid)) process.kill(rec.anvilPid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

export async function startDevnet(opts: DevnetOptions): Promise<Devnet> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'state.json');
  const deploymentFile = join(dataDir, 'deployment.json');
  const pidFile = join(dataDir, 'devnet.pid');
  await adoptOrphan(pidFile, stateFile);

  const hadState = existsSync(stateFile);
  if (hadState) {
    try {
      JSON.parse(readFileSync(stateFile, 'utf8'));
    } catch (e) {
      throw new DevnetError(`the devnet state file ${stateFile} is not valid JSON`, {
        details: (e as Error).message,
        hint: `it was not written by veritrain; move it away (or remove ${dataDir}) to start a fresh devnet`,
      });
    }
  }
  const anvil = await startAnvil({
    port: opts.port ?? 8545,
    host: opts.host,
    loadState: hadState ? stateFile : undefined,
    chainId: 31337,
  });
  const pidRecord: PidFile = { pid: process.pid, start: startTimeOf(process.pid) ?? '', anvilPid: anvil.pid, anvilStart: startTimeOf(anvil.pid) ?? '', url: anvil.url };
  writeFileSync(pidFile, JSON.stringify(pidRecord));

  let deployment: Deployment;
  let deployedNow = false;
  try {
    if (hadState) await restoreClock(anvil.url, stateFile);
    if (existsSync(deploymentFile)) {
      const previous = readDeployment(deploymentFile);
      if (!(await deploymentIsLive(previous, anvil.url))) {
        throw new DevnetError(`the contracts of ${deploymentFile} are not on this devnet's chain`, {
          details: hadState ? 'the state file does not hold them' : `${stateFile} is missing`,
          hint: `the chain state was lost; remove ${dataDir} to start a fresh devnet`,
        });
      }
      deployment = { ...previous, rpcUrl: anvil.url };
    } else {
      deployment = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), params: opts.params, judges: opts.judges ?? 'verification' });
      deployedNow = true;
    }
  } catch (e) {
    await anvil.stop();
    rmSync(pidFile, { force: true });
    throw e;
  }

  let persisted = -1;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    // One writer at a time; each flush waits for the one before it.
    writing = writing.then(async () => {
      const head = Number(await rpcCall<string>(anvil.url, 'eth_blockNumber', []));
      if (head > persisted) persisted = await persist(anvil.url, stateFile);
    });
    return writing;
  };
  await flush(); // the deployment is on disk before anyone is told the devnet is ready
  writeDeployment(deploymentFile, deployment);

  let stopping = false;
  const timer = setInterval(() => {
    flush().catch(() => {}); // a failed poll is retried on the next tick; anvil's death is reported below
  }, opts.persistIntervalMs ?? 200);
  const failed = anvil.exited.then((code) => {
    clearInterval(timer);
    if (stopping) return new Promise<never>(() => {});
    throw new DevnetError(`anvil stopped unexpectedly (exit ${code})`, {
      details: `state on disk through block ${persisted}`,
      hint: 'run devnet up again with the same --data-dir: it resumes from the state file',
    });
  });
  failed.catch(() => {});

  return {
    deployment,
    anvil,
    dataDir,
    stateFile,
    deploymentFile,
    deployedNow,
    persistedBlock: () => persisted,
    flush,
    failed,
    async stop() {
      stopping = true;
      clearInterval(timer);
      try {
        // No block after the last dump: a transaction mined between the dump and the exit would
        // be lost with its receipt already handed out (its sender sure it landed). With mining
        // off, what arrives now stays pending and goes with the process, as a stopped node's
        // mempool does; its sender never sees a receipt and sends it again to the restarted chain.
        await rpcCall(anvil.url, 'evm_setAutomine', [false]).catch(() => {});
        await flush();
      } finally {
        await anvil.stop();
        rmSync(pidFile, { force: true });
      }
    },
  };
}
