import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { after, test } from 'node:test';
import { InputError } from '../errors.ts';
import { createNetNode, DHT_PROTOCOL, type NetNode } from './node.ts';
import { loopbackNode, waitFor } from './testing.ts';

const nodes: NetNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

test('no hard-coded bootnodes: a node bootstraps off any node given to it, then finds others through the DHT', async () => {
  const A = await loopbackNode();
  nodes.push(A);
  const boot = [A.getMultiaddrs()[0].toString()];
  const B = await loopbackNode({ bootstrap: boot });
  const C = await loopbackNode({ bootstrap: boot });
  nodes.push(B, C);
  await waitFor(() => B.getConnections(A.peerId).length > 0 && C.getConnections(A.peerId).length > 0, 'B and C connect to their bootnode');
  // B was told only A's address: C's comes from the DHT (a FIND_NODE through A).
  await waitFor(
    () =>
      B.peerRouting.findPeer(C.peerId, { signal: AbortSignal.timeout(2000) }).then(
        (p) => p.multiaddrs.length > 0,
        () => false,
      ),
    'B finds C in the DHT',
  );
  await B.dial(C.peerId);
  assert.ok(B.getConnections(C.peerId).length > 0);
  await waitFor(async () => (await B.peerStore.get(C.peerId)).protocols.includes(DHT_PROTOCOL), 'identify tells B that C speaks our DHT');
});

test('a bootstrap address without /p2p/<peer id> is an InputError; mDNS can be turned on', async () => {
  const privateKey = await generateKeyPair('Ed25519');
  await assert.rejects(createNetNode({ privateKey, bootstrap: ['/ip4/127.0.0.1/tcp/4001'], mdns: false }), InputError);
  await assert.rejects(createNetNode({ privateKey, bootstrap: ['not a multiaddr'], mdns: false }), /bad bootstrap address/);
  const M = await createNetNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: true });
  nodes.push(M);
  assert.equal(M.status, 'started');
});
