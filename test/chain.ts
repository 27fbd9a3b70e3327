// Shared setup of the chain tests: a real anvil on a free port, the contracts deployed, one client
// per dev account, and anvil's snapshot/time controls. No mocks.
import { after } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, createTestClient, http, keccak256, toHex, type Hex } from 'viem';
import { registerNode } from '../src/chain/registry.ts';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
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

/** Start anvil, deploy, and stop anvil when the test file ends. */
export async function startTestChain(opts: { params?: Partial<DeployParams>; accounts?: number; compile?: CompileOptions } = {}): Promise<TestChain> {
  const anvil = await startAnvil({ args: ['--accounts', String(opts.accounts ?? 10)] });
  after(() => anvil.stop());
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
