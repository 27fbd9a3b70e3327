// Who is who on the network, read from the chain: registered nodes (peer id ↔ operator address ↔
// roles, hardware), their operators' stakes, and job submitters. Gossip validation asks it whether
// a message's sender may speak (src/net/gossip.ts's StakeCheck) and must answer within gossipsub's
// ~100 ms, so everything is cached in memory: filled from NodeRegistered/Updated/Deregistered and
// Staking events as the chain follower delivers them, a stake read on a cache miss, and the job
// table for submitters. An Ed25519 peer binding (not checkable on chain) is verified here, from
// the signature the registry recorded, before the peer counts as bound.
import { peerIdFromMultihash } from '@libp2p/peer-id';
import * as Digest from 'multiformats/hashes/digest';
import { hexToBytes, type Address, type Hex } from 'viem';
import type { ChainClient } from '../chain/client.ts';
import { getEvents, type ChainEvent } from '../chain/events.ts';
import { getJob } from '../chain/market.ts';
import { bindingMessage } from '../chain/peer.ts';
import { ROLES } from '../chain/registry.ts';
import { stakeOf } from '../chain/staking.ts';
import type { StakeCheck } from '../net/gossip.ts';

export interface NodeIdentity {
  nodeId: bigint;
  owner: Address;
  peerId: string;
  roles: number;
  cores: number;
  memoryMiB: number;
}

export interface Identities {
  /** Feed chain events (any contract; the ones that matter are picked out). */
  apply(events: ChainEvent[]): Promise<void>;
  /** Reads every registry event from the deployment block to `toBlock` (a node's start). */
  load(toBlock?: bigint): Promise<void>;
  byPeer(peerId: string): NodeIdentity | undefined;
  byNode(nodeId: bigint): NodeIdentity | undefined;
  byOwner(owner: Address): NodeIdentity[];
  /** Bonded stake of an operator (cached; read from the chain on a miss). */
  bonded(owner: Address): Promise<bigint>;
  /** The StakeCheck for gossip: a bound, staked node, or the on-chain submitter of an announced job ('unknown' while the chain does not answer). */
  check: StakeCheck;
  size(): number;
}

export interface IdentitiesOptions {
  /** The chain client, or how to get the current one (a node swaps it when the RPC moves). */
  client: ChainClient | (() => ChainClient);
  /** The on-chain submitter of a job, from the node's job table when it has the job. */
  submitterOf?: (jobId: bigint) => Address | undefined;
  /** How long a cached stake is trusted without a Staking event (default 60 s). */
  stakeTtlMs?: number;
}

/** The peer id string of libp2p peer id multihash bytes. */
export function peerIdString(bytes: Hex): string {
  return peerIdFromMultihash(Digest.decode(hexToBytes(bytes))).toString();
}

/** The registry's and staking contract's events in [from, to] (what identities are built from). */
async function getContractEvents(c: ChainClient, fromBlock: bigint, toBlock: bigint): Promise<ChainEvent[]> {
  const all = await getEvents(c, { fromBlock, toBlock });
  const keep = new Set([c.deployment.contracts.registry.toLowerCase(), c.deployment.contracts.staking.toLowerCase()]);
  return all.filter((e) => keep.has(e.address.toLowerCase()));
}

export function createIdentities(opts: IdentitiesOptions): Identities {
  const cur = typeof opts.client === 'function' ? opts.client : () => opts.client as ChainClient;
  const c = cur(); // for what never changes: chain id, contract addresses, parameters
  const ttl = opts.stakeTtlMs ?? 60_000;
  const byPeer = new Map<string, NodeIdentity>();
  const byNode = new Map<bigint, NodeIdentity>();
  const stakes = new Map<string, { bonded: bigint; at: number }>();
  const submitters = new Map<bigint, Address>();
  const minStake = {
    solver: BigInt(c.deployment.params.minSolverStake),
    verifier: BigInt(c.deployment.params.minVerifierStake),
  };
  // The least a node of these roles must bond to count as staked (watchers: the verifier minimum).
  const needed = (roles: number) => {
    const wants: bigint[] = [];
    if (roles & ROLES.solver) wants.push(minStake.solver);
    if (roles & (ROLES.verifier | ROLES.watcher)) wants.push(minStake.verifier);
    return wants.length === 0 ? minStake.verifier : wants.reduce((a, b) => (a < b ? a : b));
  };

  async function bindingHolds(e: ChainEvent): Promise<boolean> {
    if (e.args.peerVerified) return true;
    try {
      const pid = peerIdFromMultihash(Digest.decode(hexToBytes(e.args.peerId as Hex)));
      if (pid.type !== 'Ed25519' || pid.publicKey === undefined) return false;
      const msg = hexToBytes(bindingMessage(c.deployment.chainId, c.deployment.contracts.registry, e.args.owner as Address));
      return await pid.publicKey.verify(msg, hexToBytes(e.args.peerSignature as Hex));
    } catch {
      return false;
    }
  }

  async function bonded(owner: Address): Promise<bigint> {
    const key = owner.toLowerCase();
    const hit = stakes.get(key);
    if (hit && Date.now() - hit.at < ttl) return hit.bonded;
    const s = await stakeOf(cur(), owner);
    stakes.set(key, { bonded: s.bonded, at: Date.now() });
    return s.bonded;
  }

  async function submitterOf(jobId: bigint): Promise<Address | undefined> {
    const known = opts.submitterOf?.(jobId) ?? submitters.get(jobId);
    if (known) return known;
    try {
      const j = await getJob(cur(), jobId);
      submitters.set(jobId, j.submitter);
      return j.submitter;
    } catch {
      return undefined;
    }
  }

  let loadedTo = BigInt(c.deployment.deployedAtBlock) - 1n;
  let refreshing: Promise<void> | undefined;
  let refreshedAt = 0;
  async function load(toBlock?: bigint): Promise<void> {
    const to = toBlock ?? (await cur().public.getBlockNumber({ cacheTime: 0 }));
    if (to <= loadedTo) return;
    const events = await getContractEvents(cur(), loadedTo + 1n, to);
    await apply(events);
    loadedTo = to;
  }
  /**
   * On an unknown peer: the registration may be newer than the last chain poll (at most one read per
   * 200 ms). False when the chain did not answer (then nobody is blamed for what it cannot check).
   */
  let lastRefreshOk = true;
  function refresh(): Promise<boolean> {
    if (!refreshing && Date.now() - refreshedAt > 200) {
      refreshedAt = Date.now();
      refreshing = load()
        .then(() => void (lastRefreshOk = true))
        .catch(() => void (lastRefreshOk = false))
        .finally(() => (refreshing = undefined));
    }
    return (refreshing ?? Promise.resolve()).then(() => lastRefreshOk);
  }

  async function apply(events: ChainEvent[]): Promise<void> {
    for (const e of events) {
      switch (e.eventName) {
        case 'NodeRegistered': {
          if (!(await bindingHolds(e))) break;
          let peerId: string;
          try {
            peerId = peerIdString(e.args.peerId as Hex);
          } catch {
            break;
          }
          const n: NodeIdentity = {
            nodeId: e.args.nodeId as bigint,
            owner: e.args.owner as Address,
            peerId,
            roles: Number(e.args.roles),
            cores: Number(e.args.cores),
            memoryMiB: Number(e.args.memoryMiB),
          };
          byPeer.set(peerId, n);
          byNode.set(n.nodeId, n);
          break;
        }
        case 'NodeUpdated': {
          const n = byNode.get(e.args.nodeId as bigint);
          if (n) Object.assign(n, { roles: Number(e.args.roles), cores: Number(e.args.cores), memoryMiB: Number(e.args.memoryMiB) });
          break;
        }
        case 'NodeDeregistered': {
          const n = byNode.get(e.args.nodeId as bigint);
          if (n) {
            byNode.delete(n.nodeId);
            if (byPeer.get(n.peerId) === n) byPeer.delete(n.peerId);
          }
          break;
        }
        case 'Bonded':
        case 'UnbondRequested':
        case 'Slashed':
          stakes.delete(String(e.args.operator).toLowerCase());
          break;
        case 'JobPosted':
          submitters.set(e.args.jobId as bigint, e.args.submitter as Address);
          break;
      }
    }
  }

  return {
    apply,
    load,
    byPeer: (peerId) => byPeer.get(peerId),
    byNode: (nodeId) => byNode.get(nodeId),
    byOwner: (owner) => [...byNode.values()].filter((n) => n.owner.toLowerCase() === owner.toLowerCase()),
    bonded,
    async check(sender, envelope) {
      let chainOk = true;
      if (!byPeer.has(sender.peerId)) chainOk = await refresh();
      const n = byPeer.get(sender.peerId);
      if (n && n.owner.toLowerCase() === sender.address.toLowerCase()) {
        try {
          if ((await bonded(n.owner)) >= needed(n.roles)) return true;
        } catch {
          chainOk = false;
        }
      }
      if (envelope?.kind === 'job') {
        const s = await submitterOf(BigInt(envelope.body.jobId));
        if (s !== undefined) return s.toLowerCase() === sender.address.toLowerCase();
        chainOk = false;
      }
      // The chain did not answer: the message is not taken, and nobody is scored down for it.
      return chainOk ? false : 'unknown';
    },
    size: () => byNode.size,
  };
}
