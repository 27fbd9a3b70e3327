// What every role of the daemon shares: identities, stores, the chain client, the p2p node, and a
// few helpers that keep the rules in one place (one transaction at a time per account, blobs
// announced once stored, blob fetches that try the peers known to hold them first).
import type { Address } from 'viem';
import type { ChainClient } from '../chain/client.ts';
import type { Deployment } from '../chain/deployment.ts';
import type { Hardware } from '../chain/registry.ts';
import { announceBlob, fetchBlob } from '../net/blob-protocol.ts';
import type { Gossip } from '../net/gossip.ts';
import { askJobInfo, type JobInfo } from '../net/job-info.ts';
import type { MessageBody, MessageKind } from '../net/messages.ts';
import type { NetNode } from '../net/node.ts';
import type { PeerScorer } from '../net/peers.ts';
import type { BlobStore } from './blobs.ts';
import type { NodeDb } from './db.ts';
import type { Identities } from './identities.ts';
import type { Keystore } from './keystore.ts';
import type { NodeState, Role } from './state.ts';

export interface NodeContext {
  dataDir: string;
  keys: Keystore;
  address: Address;
  db: NodeDb;
  state: NodeState;
  store: BlobStore;
  deployment: Deployment;
  client(): ChainClient;
  net: NetNode;
  gossip: Gossip;
  scorer: PeerScorer;
  identities: Identities;
  roles: ReadonlySet<Role>;
  hardware: Hardware;
  /** Threads for the compute worker's kernels. */
  threads: number;
  nodeId(): bigint | undefined;
  /** The chain's clock: wall time plus the offset the chain's blocks show (a devnet may have been moved forward). */
  chainNow(): number;
  /** The latest block number seen. */
  head(): bigint;
  log(message: string): void;
  /** Runs `send` after every transaction this node sent before it (one nonce sequence per account). */
  tx<T>(send: () => Promise<T>): Promise<T>;
  /** Behaviour switches for the fault tests (a cheating solver etc.); empty in production. */
  faults: ReadonlySet<string>;
  /**
   * Starts the dispute process now if it is not running (set by createDisputes): a solver that
   * submitted a result or a verifier about to challenge may be in a dispute soon, and the process
   * takes seconds to load the engine and the judges — time a dispute move should not spend.
   */
  warmDisputes?: () => void;
}

/** The part of a node that moves blobs (a daemon's context, or the SDK's light peer). */
export type BlobPeer = Pick<NodeContext, 'net' | 'store' | 'scorer' | 'db'>;

/** Fetches a blob unless it is here, trying known providers first, then announces it. */
export async function ensureBlob(ctx: BlobPeer, hash: string, providers: string[] = [], timeoutMs = 60_000): Promise<void> {
  if (!ctx.store.has(hash)) {
    const known = ctx.db.providers.list(hash).map((p) => p.peerId);
    await fetchBlob({
      node: ctx.net,
      store: ctx.store,
      hash,
      providers: [...new Set([...providers, ...known])].filter((p) => p !== ctx.net.peerId.toString()),
      scorer: ctx.scorer,
      signal: AbortSignal.timeout(timeoutMs),
      idleTimeoutMs: 10_000,
    });
  }
  announce(ctx, hash);
}

/** Stores bytes as a blob and announces it in the DHT (in the background). */
export async function publishBlob(ctx: BlobPeer, bytes: Uint8Array): Promise<string> {
  const hash = await ctx.store.put(bytes);
  announce(ctx, hash);
  return hash;
}

const announced = new WeakMap<object, Map<string, number>>();

/** Announces a blob in the DHT unless that was done in the last 10 minutes. */
export function announce(ctx: Pick<NodeContext, 'net'>, hash: string, force = false): void {
  let m = announced.get(ctx.net);
  if (!m) announced.set(ctx.net, (m = new Map()));
  const last = m.get(hash) ?? 0;
  if (!force && Date.now() - last < 10 * 60_000) return;
  m.set(hash, Date.now());
  announceBlob(ctx.net, hash, { signal: AbortSignal.timeout(30_000) }).catch(() => m!.delete(hash));
}

/** Publishes on gossip; failures (no peers yet) are logged, never thrown: the chain is the truth. */
export async function say<K extends MessageKind>(ctx: NodeContext, kind: K, body: MessageBody<K>): Promise<void> {
  try {
    await ctx.gossip.publish(kind, body);
  } catch (e) {
    ctx.log(`gossip ${kind} not sent: ${(e as Error).message}`);
  }
}

/** What connected peers (the job's solver first, when known) know about a job's artifacts. */
export async function askPeers(ctx: Pick<NodeContext, 'net' | 'scorer'>, jobId: bigint, first?: string): Promise<JobInfo[]> {
  const peers = ctx.net.getPeers();
  const ordered = first ? [...peers.filter((p) => p.toString() === first), ...peers.filter((p) => p.toString() !== first)] : peers;
  const answers = await Promise.all(ordered.slice(0, 8).map((p) => askJobInfo(ctx.net, p, jobId, { scorer: ctx.scorer })));
  return answers.filter((a): a is JobInfo => a !== null);
}

/**
 * Runs a role's async steps keyed by what they are about (a job, a job and a slot): one at a time
 * per key, at most once per `everyMs`; a failure is logged (the next tick tries again).
 */
export function keyedRunner(label: string, log: (m: string) => void) {
  const busy = new Set<string>();
  const lastTry = new Map<string, number>();
  function run(key: string, fn: () => Promise<void>, everyMs = 1000): void {
    if (busy.has(key) || Date.now() - (lastTry.get(key) ?? 0) < everyMs) return;
    lastTry.set(key, Date.now());
    busy.add(key);
    fn()
      .catch((e: Error) => log(`${label} ${key}: ${e.message.split('\n')[0]}`))
      .finally(() => busy.delete(key));
  }
  return { run, busy };
}

/** A 32-byte job id as gossip writes it. */
export function jobIdHex(jobId: bigint): `0x${string}` {
  return `0x${jobId.toString(16).padStart(64, '0')}`;
}
