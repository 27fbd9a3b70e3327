// Shared setup of the chain tests: a real anvil on a free port, the contracts deployed, one client
// per dev account, and anvil's snapshot/time controls. No mocks.
import assert from 'node:assert/strict';
import { afterEach, beforeEach } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, createTestClient, http, keccak256, toHex, type Hex } from 'viem';
import { registerNode } from '../src/chain/registry.ts';
import { answer, callJudge, getGame, nextIndex, reveal } from '../src/chain/game.ts';
import { merkleProof } from '../src/chain/merkle.ts';
import { ContractRevertError } from '../src/chain/errors.ts';
import { gunzipSync } from 'node:zlib';
import { rpcCall, startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { deployContracts, type DeployParams } from '../src/chain/deploy.ts';
import type { Deployment } from '../src/chain/deployment.ts';
import type { CompileOptions } from '../src/chain/compile.ts';

export interface TestChain {
  anvil: Anvil;
  deployment: Deployment;
  /** Client of dev account i (account 0 deployed the contracts). */
  as(i: number): ChainClient;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  /** Move the chain's clock forward and mine a block. */
  increaseTime(seconds: number): Promise<void>;
  mine(blocks?: number): Promise<void>;
  now(): Promise<number>;
}

/** Start anvil and deploy; call `ch.anvil.stop()` in a top-level after(). The anvil is killed when the process exits anyway. */
export async function startTestChain(opts: { params?: Partial<DeployParams>; accounts?: number; compile?: CompileOptions } = {}): Promise<TestChain> {
  const anvil = await startAnvil({ args: ['--accounts', String(opts.accounts ?? 10)] });
  process.on('exit', () => anvil.process.kill('SIGKILL'));
  const deployment = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), params: opts.params, compile: opts.compile });
  const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  const clients = new Map<number, ChainClient>();
  const as = (i: number) => {
    if (!clients.has(i)) clients.set(i, connect({ deployment, account: devAccount(i) }));
    return clients.get(i)!;
  };
  return {
    anvil,
    deployment,
    as,
    snapshot: () => test.snapshot(),
    async revert(id) {
      await test.revert({ id });
    },
    async increaseTime(seconds) {
      await test.increaseTime({ seconds });
      await test.mine({ blocks: 1 });
    },
    async mine(blocks = 1) {
      await test.mine({ blocks });
    },
    async now() {
      return Number((await as(0).public.getBlock()).timestamp);
    },
  };
}

/** A 32-byte test hash from a label. */
export function h(label: string): Hex {
  return keccak256(toHex(label));
}

/** A fresh libp2p key (as a node's keystore holds) and its peer id bytes. */
export async function libp2pKey(type: 'Ed25519' | 'secp256k1' = 'secp256k1'): Promise<{ key: PrivateKey; peerId: Hex }> {
  const key = await generateKeyPair(type);
  return { key, peerId: bytesToHex(peerIdFromPrivateKey(key).toMultihash().bytes) };
}

/** Register a solver/verifier node for client `c` with a fresh secp256k1 libp2p key. */
export async function registerTestNode(c: ChainClient, roles = 3): Promise<bigint> {
  const { key, peerId } = await libp2pKey();
  return (await registerNode(c, { peerId, peer: key, roles, hardware: { cores: 2, memoryMiB: 4096, accelerator: 'none' } })).nodeId;
}

/** The honest leaves of the TestJudge's step function: leaf[i] = keccak256(abi.encode(leaf[i-1], i)). */
export { honestLeaves } from './chain-leaves.ts';

/** Client of dev account i that sends without estimating gas, so a reverting call is mined. */
export function minedAs(ch: TestChain, i: number): ChainClient {
  return connect({ deployment: ch.deployment, account: devAccount(i), fixedGas: 3_000_000n });
}

// Contracts the chain itself writes every block (EIP-2935 block hashes, EIP-4788 beacon roots).
const SYSTEM_CONTRACTS = new Set(['0x0000f90827f1c53a10cb7a02335b175320002935', '0x000f3df6d732807ef1319fb7b8bb8522d0beac02']);

/**
 * The storage of every contract on the chain (token balances, stakes, jobs, games, nodes, ...), from
 * anvil_dumpState: compared before and after a reverted call, it shows that nothing changed.
 */
export async function worldState(ch: TestChain): Promise<Record<string, unknown>> {
  const gz = await rpcCall<string>(ch.anvil.url, 'anvil_dumpState', []);
  const dump = JSON.parse(gunzipSync(Buffer.from(gz.slice(2), 'hex')).toString()) as { accounts: Record<string, { code: string; storage: unknown }> };
  return Object.fromEntries(
    Object.entries(dump.accounts)
      .filter(([address, a]) => a.code !== '0x' && a.code !== '' && !SYSTEM_CONTRACTS.has(address.toLowerCase()))
      .map(([address, a]) => [address, a.storage]),
  );
}

/**
 * Run `action` (made with a minedAs client, so the reverting transaction is mined) and check that
 * it reverts with the custom error `name`, that a reverted transaction was mined, and that the
 * world state is unchanged.
 */
export async function expectRevert(ch: TestChain, action: () => Promise<unknown>, name: string): Promise<ContractRevertError> {
  const before = await worldState(ch);
  let err: unknown;
  try {
    await action();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof ContractRevertError)) throw new Error(`expected ${name} revert, got ${err === undefined ? 'success' : String(err)}`);
  if (err.errorName !== name) throw new Error(`expected ${name} revert, got ${err.errorName}: ${err.message}`);
  if (!err.transactionHash) throw new Error(`the ${name} revert was not mined (use a minedAs client)`);
  const receipt = await ch.as(0).public.getTransactionReceipt({ hash: err.transactionHash });
  if (receipt.status !== 'reverted') throw new Error(`transaction ${err.transactionHash} did not revert on chain`);
  const after = await worldState(ch);
  assert.deepStrictEqual(after, before, `state changed by a reverted ${name}`);
  return err;
}

/**
 * Play a bisection game to its end: the defender reveals from `defenderLeaves` (its committed
 * sequence), the challenger agrees exactly when a revealed leaf equals `trueLeaves`, then the
 * defender calls the judge. Returns the final phase.
 */
export async function playGame(
  defender: ChainClient,
  challenger: ChainClient,
  gameId: bigint,
  defenderLeaves: readonly Hex[],
  trueLeaves: readonly Hex[],
): Promise<string> {
  for (;;) {
    const g = await getGame(defender, gameId);
    if (g.phase === 'defender-moves') {
      const i = await nextIndex(defender, gameId);
      await reveal(defender, gameId, defenderLeaves[i], merkleProof(defenderLeaves, i));
    } else if (g.phase === 'challenger-moves') {
      const i = Math.floor((g.agreed + g.disputed) / 2) - 1;
      await answer(challenger, gameId, g.revealed === trueLeaves[i]);
    } else if (g.phase === 'judging') {
      await callJudge(defender, gameId); // showing the last step is the defender's burden
    } else return g.phase;
  }
}

/** Each test of the file starts from the chain as `before` left it: a snapshot before it, reverted after. */
export function isolateTests(chain: () => TestChain): void {
  let snap: Hex;
  beforeEach(async () => {
    snap = await chain().snapshot();
  });
  afterEach(async () => {
    await chain().revert(snap);
  });
}
