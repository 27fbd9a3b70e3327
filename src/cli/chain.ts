// Chain commands: devnet up, deploy, faucet, stake, chain info. Every one takes
// --rpc <url> and --deployment <file> (default: the devnet's <data-dir>/deployment.json).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPublicClient, formatUnits, http, isAddress, parseUnits, type Account, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { InputError } from '../errors.ts';
import { connect, devAccount, type ChainClient } from '../chain/client.ts';
import { deployContracts } from '../chain/deploy.ts';
import { readDeployment, writeDeployment } from '../chain/deployment.ts';
import { defaultDataDir, startDevnet } from '../chain/devnet.ts';
import { DeploymentError, toChainError } from '../chain/errors.ts';
import { jobCount, withdrawable } from '../chain/market.ts';
import { bond, requestUnbond, stakeOf, withdrawUnbonded } from '../chain/staking.ts';
import { ensureAllowance, faucet, tokenBalance } from '../chain/token.ts';
import type { CliContext } from './main.ts';

export const CHAIN_OPTIONS = {
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  rpc: { type: 'string' },
  deployment: { type: 'string' },
  token: { type: 'string' },
  judge: { type: 'string' },
  'checkpoint-judge': { type: 'string' },
  judges: { type: 'string' },
  'key-file': { type: 'string' },
  account: { type: 'string' },
} as const;

export type ChainValues = { [K in keyof typeof CHAIN_OPTIONS]?: string };

export const CHAIN_USAGE = `
Chain (coordination layer):
  veritrain devnet up [--data-dir DIR] [--port N] [--json]
  veritrain deploy --rpc <url> [--deployment OUT] [--token ADDR] [--judges verification|test] [--judge ADDR] [--checkpoint-judge ADDR] [--key-file F] [--json]
  veritrain faucet [--account N | --key-file F] [--rpc <url>] [--deployment FILE] [--json]
  veritrain stake bond|unbond <VTT> | withdraw | show [ADDR]  [same options]
  veritrain chain info [same options]

Chain options:
  --data-dir DIR     devnet data directory (default $VERITRAIN_HOME/devnet, ~/.veritrain/devnet)
  --port N           devnet RPC port (default 8545; 0 picks a free one)
  --rpc URL          JSON-RPC endpoint (default: the deployment file's)
  --deployment FILE  deployment.json (default <data-dir>/deployment.json; deploy writes it)
  --key-file F       file holding the sender's 0x private key (or set VERITRAIN_PRIVATE_KEY)
  --account N        devnet only: send from anvil's dev account N (default 0)
  --token ADDR       deploy: use this ERC-20 instead of deploying VeriToken (with a faucet)
  --judges KIND      deploy: "verification" (default: CheckpointJudge, StepJudge, OpJudge) or "test" (LeafJudge, TestJudge)
  --judge ADDR       deploy: an existing level-1 (step) judge for the market
  --checkpoint-judge ADDR  deploy: an existing level-0 (checkpoint) judge for the market
`;

function portOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError(`--port must be 0..65535, got "${v}"`);
  return n;
}

function judgesOption(v: string | undefined): 'verification' | 'test' {
  if (v === undefined || v === 'verification' || v === 'test') return v ?? 'verification';
  throw new InputError(`--judges must be "verification" or "test", got "${v}"`);
}

function addressOption(name: string, v: string | undefined): Address | undefined {
  if (v === undefined) return undefined;
  if (!isAddress(v)) throw new InputError(`--${name} must be a 0x address, got "${v}"`);
  return v;
}

/** "12.5" VTT → wei. */
export function parseAmount(s: string | undefined): bigint {
  if (s === undefined || !/^\d+(\.\d{1,18})?$/.test(s)) {
    throw new InputError(`expected an amount in VTT like 100 or 12.5, got "${s ?? ''}"`);
  }
  return parseUnits(s, 18);
}

const vtt = (wei: bigint) => formatUnits(wei, 18);

/** The sending account: --key-file, VERITRAIN_PRIVATE_KEY, or (devnet only) --account N. */
function senderOf(v: ChainValues, chainId: number): Account {
  const key = v['key-file'] !== undefined ? readKeyFile(v['key-file']) : process.env.VERITRAIN_PRIVATE_KEY?.trim();
  if (key) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new InputError('the private key must be 0x followed by 64 hex digits');
    return privateKeyToAccount(key as Hex);
  }
  if (chainId !== 31337) {
    throw new InputError(`no key to send from on chain ${chainId}`, { hint: 'pass --key-file <file> or set VERITRAIN_PRIVATE_KEY' });
  }
  const index = v.account === undefined ? 0 : Number(v.account);
  if (!Number.isInteger(index) || index < 0 || index > 1000) throw new InputError(`--account must be a dev account index, got "${v.account}"`);
  return devAccount(index);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new InputError(`cannot read key file ${path}`, { details: (e as Error).message });
  }
}

function deploymentPath(v: ChainValues): string {
  return resolve(v.deployment ?? join(v['data-dir'] ?? defaultDataDir(), 'deployment.json'));
}

/** Connect as the sender (if `withSender`) to the deployment's chain, checking the chain id. */
async function chainClient(v: ChainValues, withSender: boolean): Promise<ChainClient> {
  const deployment = readDeployment(deploymentPath(v));
  const c = connect({ deployment, rpcUrl: v.rpc, account: withSender ? senderOf(v, deployment.chainId) : undefined });
  let chainId: number;
  try {
    chainId = await c.public.getChainId();
  } catch (e) {
    throw toChainError(e, c.deployment.rpcUrl);
  }
  if (chainId !== deployment.chainId) {
    throw new DeploymentError(`the deployment is for chain ${deployment.chainId} but ${c.deployment.rpcUrl} is chain ${chainId}`, {
      hint: 'pass the --rpc of the chain the deployment file describes',
    });
  }
  return c;
}

// ---- commands ---------------------------------------------------------------------------------

/** devnet up: start anvil with persisted state, deploy once, print the deployment, run until stopped. */
export async function cmdDevnet(ctx: CliContext, v: ChainValues): Promise<Record<string, unknown>> {
  const [sub] = ctx.positionals;
  if (sub !== 'up') throw new InputError(`unknown devnet command "${sub ?? ''}"`, { hint: 'veritrain devnet up [--data-dir DIR]' });
  const dataDir = resolve(v['data-dir'] ?? defaultDataDir());
  const devnet = await startDevnet({ dataDir, port: portOption(v.port) });
  const ready = {
    ...devnet.deployment,
    devnet: {
      dataDir,
      deploymentFile: devnet.deploymentFile,
      stateFile: devnet.stateFile,
      pid: process.pid,
      anvilPid: devnet.anvil.pid,
      deployedNow: devnet.deployedNow,
    },
  };
  if (ctx.json) process.stdout.write(JSON.stringify(ready) + '\n');
  else {
    ctx.say(`devnet ready at ${devnet.deployment.rpcUrl} (chain ${devnet.deployment.chainId})`);
    ctx.say(`  ${devnet.deployedNow ? 'deployed' : 'resumed'} contracts: ${devnet.deploymentFile}`);
    ctx.say(`  state: ${devnet.stateFile} (written after every block)`);
    ctx.say('  Ctrl-C stops it; devnet up again resumes with every job, stake and balance.');
  }
  const signal = await Promise.race([
    new Promise<string>((res) => {
      process.once('SIGINT', () => res('SIGINT'));
      process.once('SIGTERM', () => res('SIGTERM'));
    }),
    devnet.failed,
  ]);
  await devnet.stop();
  return { stopped: true, signal, persistedBlock: devnet.persistedBlock(), dataDir };
}

/** deploy --rpc <url>: deploy the contracts to any EVM chain and write the deployment file. */
export async function cmdDeploy(ctx: CliContext, v: ChainValues): Promise<Record<string, unknown>> {
  if (!v.rpc) throw new InputError('deploy needs --rpc <url>', { hint: 'for a local chain use veritrain devnet up' });
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport: http(v.rpc, { retryCount: 0 }) }).getChainId();
  } catch (e) {
    throw toChainError(e, v.rpc);
  }
  const account = senderOf(v, chainId);
  const out = resolve(v.deployment ?? 'deployment.json');
  ctx.say(`deploying from ${account.address} to chain ${chainId} at ${v.rpc} ...`);
  const d = await deployContracts({
    rpcUrl: v.rpc,
    account,
    token: addressOption('token', v.token),
    judge: addressOption('judge', v.judge),
    checkpointJudge: addressOption('checkpoint-judge', v['checkpoint-judge']),
    judges: judgesOption(v.judges),
  });
  writeDeployment(out, d);
  ctx.say(`market ${d.contracts.market}; deployment written to ${out}`);
  return { ...d, deploymentFile: out };
}

/** faucet: mint the faucet amount of VTT to the sender (devnets and testnets). */
export async function cmdFaucet(ctx: CliContext, v: ChainValues): Promise<Record<string, unknown>> {
  const c = await chainClient(v, true);
  const tx = await faucet(c);
  const address = c.wallet!.account.address;
  const balance = await tokenBalance(c, address);
  ctx.say(`${address} now holds ${vtt(balance)} VTT`);
  return { address, balance: balance.toString(), tx: tx.hash };
}

/** stake bond|unbond <VTT> | withdraw | show [ADDR]. */
export async function cmdStake(ctx: CliContext, v: ChainValues): Promise<Record<string, unknown>> {
  const [sub, arg] = ctx.positionals;
  const c = await chainClient(v, sub !== 'show');
  let tx: string | undefined;
  let who: Address;
  switch (sub) {
    case 'bond': {
      const amount = parseAmount(arg);
      await ensureAllowance(c, c.deployment.contracts.staking, amount);
      tx = (await bond(c, amount)).hash;
      break;
    }
    case 'unbond':
      tx = (await requestUnbond(c, parseAmount(arg))).hash;
      break;
    case 'withdraw':
      tx = (await withdrawUnbonded(c)).hash;
      break;
    case 'show':
      break;
    default:
      throw new InputError(`unknown stake command "${sub ?? ''}"`, { hint: 'veritrain stake bond|unbond <VTT> | withdraw | show [ADDR]' });
  }
  if (sub === 'show') who = addressOption('address', arg) ?? senderOf(v, c.deployment.chainId).address;
  else who = c.wallet!.account.address;
  const s = await stakeOf(c, who);
  ctx.say(`${who}: bonded ${vtt(s.bonded)} (locked ${vtt(s.locked)}), unbonding ${vtt(s.unbonding)} VTT`);
  return {
    address: who,
    bonded: s.bonded.toString(),
    locked: s.locked.toString(),
    unbonding: s.unbonding.toString(),
    unbondAt: Number(s.unbondAt),
    inVerifierPool: s.inVerifierPool,
    ...(tx ? { tx } : {}),
  };
}

/** chain info: where the deployment lives and what the sender holds. */
export async function cmdChain(ctx: CliContext, v: ChainValues): Promise<Record<string, unknown>> {
  const [sub] = ctx.positionals;
  if (sub !== 'info') throw new InputError(`unknown chain command "${sub ?? ''}"`, { hint: 'veritrain chain info' });
  const c = await chainClient(v, false);
  let who: Address | undefined;
  try {
    who = senderOf(v, c.deployment.chainId).address;
  } catch {
    // No key on a non-devnet chain: show the chain without an account.
  }
  const [block, jobs] = await Promise.all([c.public.getBlockNumber(), jobCount(c)]);
  ctx.say(`chain ${c.deployment.chainId} at ${c.deployment.rpcUrl}, block ${block}, ${jobs} jobs`);
  const base = { chainId: c.deployment.chainId, rpcUrl: c.deployment.rpcUrl, block: Number(block), contracts: c.deployment.contracts, jobCount: Number(jobs) };
  if (!who) return base;
  const [eth, token, stake, owed] = await Promise.all([c.public.getBalance({ address: who }), tokenBalance(c, who), stakeOf(c, who), withdrawable(c, who)]);
  ctx.say(`${who}: ${vtt(token)} VTT, bonded ${vtt(stake.bonded)}, withdrawable ${vtt(owed)}`);
  return {
    ...base,
    account: { address: who, eth: eth.toString(), token: token.toString(), bonded: stake.bonded.toString(), withdrawable: owed.toString() },
  };
}
