// The SDK's own p2p presence: a libp2p node that serves the submitter's blobs, fetches results,
// and listens to gossip (progress). It holds no stake, so the network relays nothing it says
// except a job announcement signed by the job's on-chain submitter.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import type { ChainClient } from '../chain/client.ts';
import { serveBlobs, type BlobServer } from '../net/blob-protocol.ts';
import { startGossip, type Gossip } from '../net/gossip.ts';
import type { MessageSigner } from '../net/messages.ts';
import { createNetNode, type NetNode } from '../net/node.ts';
import { createPeerScorer, type PeerScorer } from '../net/peers.ts';
import { openBlobStore, type BlobStore } from '../node/blobs.ts';
import { openDb, type NodeDb } from '../node/db.ts';
import { VeritrainError } from '../errors.ts';

/** The SDK could not reach the p2p network. */
export class NetworkError extends VeritrainError {
  override name = 'NetworkError';
}
import { createIdentities, type Identities } from '../node/identities.ts';

export interface LightPeer {
  net: NetNode;
  store: BlobStore;
  db: NodeDb;
  scorer: PeerScorer;
  gossip: Gossip;
  identities: Identities;
  /** Waits until connected to at least `n` peers (bootstrap), up to `timeoutMs`. */
  connected(n?: number, timeoutMs?: number): Promise<void>;
  /** Feeds new registry and staking events to `identities` (gossip validation). */
  syncIdentities(): Promise<void>;
  stop(): Promise<void>;
}

export interface LightPeerOptions {
  dataDir: string;
  /** The blob store of dataDir when the caller has it open (one store per directory: opening one clears its tmp files). */
  store?: BlobStore;
  client: ChainClient;
  bootstrap: string[];
  listen?: string[];
  privateKey?: PrivateKey;
  /** Signs what the peer publishes (the submitter's account); an ephemeral key when absent. */
  signer?: MessageSigner;
  mdns?: boolean;
}

export async function startLightPeer(opts: LightPeerOptions): Promise<LightPeer> {
  const store = opts.store ?? openBlobStore(opts.dataDir);
  // Seen ids and peer scores of a short-lived client need not outlive it.
  const db = openDb(':memory:');
  const scorer = createPeerScorer({ store: db.peers });
  const listen = opts.listen ?? ['/ip4/127.0.0.1/tcp/0'];
  const loopback = listen.every((a) => a.startsWith('/ip4/127.'));
  const net = await createNetNode({
    privateKey: opts.privateKey ?? (await generateKeyPair('Ed25519')),
    listen,
    bootstrap: opts.bootstrap,
    mdns: opts.mdns ?? false,
    isBlocked: (p) => scorer.isBlocked(p),
    gossipHeartbeatMs: 500,
    ...(loopback ? { allow: ['/ip4/127.0.0.0/ipcidr/8'], colocationWhitelist: ['127.0.0.1'] } : {}),
  });
  scorer.attach(net);
  const identities = createIdentities({ client: opts.client });
  const syncIdentities = () => identities.load();
  await syncIdentities();
  const { generatePrivateKey, privateKeyToAccount } = await import('viem/accounts');
  const signer: MessageSigner = opts.signer ?? privateKeyToAccount(generatePrivateKey());
  const gossip = startGossip({ node: net, chainId: opts.client.deployment.chainId, signer, isStakedNode: identities.check, scorer, seen: db.seen });
  const server: BlobServer = await serveBlobs({ node: net, store, scorer });
  return {
    net,
    store,
    db,
    scorer,
    gossip,
    identities,
    syncIdentities,
    async connected(n = 1, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (net.getPeers().length < n) {
        if (Date.now() > end) {
          throw new NetworkError(`no connection to ${n} peer(s) after ${timeoutMs / 1000} s`, { hint: 'check the bootstrap addresses (--bootstrap, or the devnet\'s bootstrap.json)' });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      gossip.stop();
      await server.stop().catch(() => {});
      await net.stop();
      db.close();
    },
  };
}
