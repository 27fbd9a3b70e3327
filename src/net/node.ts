// The libp2p node: TCP, noise, yamux, identify, ping, gossipsub, kad-dht, bootstrap and mDNS.
// Bootnodes come from configuration (any registered node can be one); nothing is hard-coded.
import { bootstrap } from '@libp2p/bootstrap';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht';
import { mdns } from '@libp2p/mdns';
import { noise } from '@libp2p/noise';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p';
import { InputError } from '../errors.ts';
import { createHash } from 'node:crypto';
import { sha256 } from '../engine/hash.ts';

export const DHT_PROTOCOL = '/veritrain/kad/1.0.0';
/** Largest gossip RPC frame accepted from a peer; our own messages are far smaller (MAX_MESSAGE_BYTES). */
export const MAX_GOSSIP_RPC_BYTES = 1 << 20;
/** Yamux per-stream window cap: below the stream read buffer (4 MiB) so a paused reader never overflows it. */
export const STREAM_WINDOW_BYTES = 2 << 20;

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
export type NetServices = {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
  dht: KadDHT;
};

export type NetNode = Libp2p<NetServices>;

export interface NetNodeOptions {
  privateKey: PrivateKey;
  /** Multiaddrs to listen on; default all interfaces, a random TCP port. */
  listen?: string[];
  /** Bootstrap peers: multiaddrs ending in /p2p/<peer id>, e.g. other registered nodes. */
  bootstrap?: string[];
  /** Discover peers on the local network (default true; tests turn it off). */
  mdns?: boolean;
  /** A peer for which this returns true can neither dial us nor be dialled (scored-out peers). */
  isBlocked?: (peerId: PeerId) => boolean;
  /** Gossipsub heartbeat in ms (default 1000; the mesh forms after a heartbeat or two). */
  gossipHeartbeatMs?: number;
  /**
   * Addresses exempt from the inbound connection rate limit (multiaddr prefixes such as
   * /ip4/10.0.0.0/ipcidr/8). Tests and benchmarks on loopback open many connections from one host.
   */
  allow?: string[];
  /**
   * IPs whose peers gossipsub does not score down for sharing one address (its IP-colocation
   * penalty, against Sybils on one host). Loopback tests and benchmarks run all nodes on 127.0.0.1:
   * beyond 10 peers on one IP every peer's score goes negative and the mesh never forms.
   */
  colocationWhitelist?: string[];
  /** Start the node (default true). */
  start?: boolean;
}

export async function createNetNode(opts: NetNodeOptions): Promise<NetNode> {
  const bootList = opts.bootstrap ?? [];
  for (const addr of bootList) checkBootAddr(addr);
  const isBlocked = opts.isBlocked ?? (() => false);
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = [];
  if (bootList.length > 0) peerDiscovery.push(bootstrap({ list: bootList, timeout: 0 }));
  if (opts.mdns ?? true) peerDiscovery.push(mdns({ serviceTag: 'veritrain.local' }));
  return createLibp2p({
    privateKey: opts.privateKey,
    start: opts.start ?? true,
    addresses: { listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'] },
    connectionManager: { allow: opts.allow ?? [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: STREAM_WINDOW_BYTES } })],
    connectionGater: {
      denyDialPeer: (peer) => isBlocked(peer),
      denyInboundEncryptedConnection: (peer) => isBlocked(peer),
      denyOutboundEncryptedConnection: (peer) => isBlocked(peer),
    },
    peerDiscovery,
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // libp2p signs every RPC message (origin = the signing peer id); we sign the payload again
        // with the node's EVM key inside (messages.ts), which binds it to the staked identity.
        globalSignaturePolicy: 'StrictSign',
        // Origin + payload: relays of one publication share it, and a peer that re-signs someone
        // else's payload as its own gets a different id, so it cannot make the real one a "duplicate".
        msgIdFn: (msg) => (msg.type === 'signed' ? sha256(msg.from.toMultihash().bytes, msg.data) : sha256(msg.data)),
        // Checked before the RPC's Ed25519 signature, so it covers the signature too: a forged copy
        // (other signature) never shadows the genuine one; a relayed duplicate costs a hash only.
        fastMsgIdFn: (rpc) => {
          const h = createHash('sha256');
          for (const part of [rpc.from, rpc.seqno, rpc.signature, rpc.data]) {
            h.update(new Uint8Array([part === undefined ? 0 : 1]));
            if (part !== undefined) h.update(lengthPrefix(part.length)).update(part);
          }
          return h.digest('base64');
        },
        allowPublishToZeroTopicPeers: true,
        maxInboundDataLength: MAX_GOSSIP_RPC_BYTES,
        heartbeatInterval: opts.gossipHeartbeatMs ?? 1000,
        scoreParams: { IPColocationFactorWhitelist: new Set(opts.colocationWhitelist ?? []) },
        emitSelf: false,
      }),
      dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
    },
  });
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function checkBootAddr(addr: string): void {
  try {
    const ma = multiaddr(addr);
    if (ma.getComponents().some((c) => c.name === 'p2p')) return;
  } catch {
    // reported below
  }
  throw new InputError(`bad bootstrap address: ${addr}`, { hint: 'use a multiaddr ending in /p2p/<peer id>, e.g. /ip4/10.0.0.5/tcp/4001/p2p/12D3Koo...' });
}
