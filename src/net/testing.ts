// Helpers for tests and benchmarks that run real libp2p nodes on loopback (no mocks).
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createNetNode, type NetNode, type NetNodeOptions } from './node.ts';

/** A node on 127.0.0.1 with a fresh key, no mDNS, a fast gossip heartbeat. */
export async function loopbackNode(opts: Partial<NetNodeOptions> = {}): Promise<NetNode> {
  return createNetNode({
    privateKey: opts.privateKey ?? (await generateKeyPair('Ed25519')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    gossipHeartbeatMs: 100,
    allow: ['/ip4/127.0.0.0/ipcidr/8'],
    colocationWhitelist: ['127.0.0.1'],
    ...opts,
  });
}

export async function connect(a: NetNode, b: NetNode): Promise<void> {
  await a.dial(b.getMultiaddrs()[0]);
}

/** Polls `cond` every 20 ms; throws with `what` if it is still false after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Peers in this node's gossip mesh for `topic` (the implementation has it; the interface does not). */
export function meshPeers(node: NetNode, topic: string): string[] {
  return (node.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(topic);
}

/** Waits until every node has each of its expected neighbours in its gossip mesh for `topic`. */
export async function waitForMesh(nodes: NetNode[], topic: string, minPeers = 1, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => nodes.every((n) => meshPeers(n, topic).length >= minPeers), `gossip mesh on ${topic}`, timeoutMs);
}
