// Real libp2p nodes on loopback: three honest nodes in a line (A–B–C, so C hears A only through
// B's relay) and an attacker M connected to A that publishes raw bytes on our topics.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { openDb, type NodeDb } from '../node/db.ts';
import { tempDir } from '../../test/cli.ts';
import { allowList, startGossip, type Delivered, type DropReason, type Gossip } from './gossip.ts';
import { encodeEnvelope, MAX_MESSAGE_BYTES, MESSAGE_KINDS, signEnvelope, topicOf, type MessageBody } from './messages.ts';
import type { NetNode } from './node.ts';
import { BLOCK_BELOW, createPeerScorer, type PeerScorer } from './peers.ts';
import { connect, loopbackNode, meshPeers, waitFor, waitForMesh } from './testing.ts';

const chainId = 31337;
const jobTopic = topicOf('job', chainId);
const h = (c: string) => c.repeat(64);
const job = (n: number): MessageBody<'job'> => ({ jobId: `0x${n.toString(16).padStart(64, '0')}`, specHash: h('a'), datasetHash: h('b'), reward: '5', deadline: 2_000_000_000 });

interface Honest {
  node: NetNode;
  db: NodeDb;
  scorer: PeerScorer;
  gossip: Gossip;
  account: ReturnType<typeof privateKeyToAccount>;
  got: Delivered[];
  drops: Array<{ reason: DropReason; from: string }>;
}

const accounts = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
let staked = allowList([]);
const nodes: NetNode[] = [];
let A: Honest, B: Honest, C: Honest, M: NetNode, Mgossip: Gossip;

async function honest(i: number, opts: { blockBelow?: number } = {}): Promise<Honest> {
  const db = openDb(join(tempDir(), 'node.db'));
  const scorer = createPeerScorer({ store: db.peers, blockBelow: opts.blockBelow });
  const node = await loopbackNode({ isBlocked: (p) => scorer.isBlocked(p) });
  nodes.push(node);
  scorer.attach(node);
  const got: Delivered[] = [];
  const drops: Honest['drops'] = [];
  const gossip = startGossip({
    node,
    chainId,
    signer: accounts[i],
    isStakedNode: (s) => staked(s),
    scorer,
    seen: db.seen,
    onDrop: (d) => drops.push(d),
  });
  for (const kind of MESSAGE_KINDS) gossip.on(kind, (m) => got.push(m as Delivered));
  return { node, db, scorer, gossip, account: accounts[i], got, drops };
}

before(async () => {
  A = await honest(0);
  B = await honest(1);
  C = await honest(2);
  M = await loopbackNode();
  nodes.push(M);
  // The attacker runs our gossip code too (so it can produce valid envelopes) but publishes raw bytes as well.
  Mgossip = startGossip({ node: M, chainId, signer: accounts[3], isStakedNode: () => true, scorer: createPeerScorer({ store: openDb(':memory:').peers }), seen: openDb(':memory:').seen });
  staked = allowList([
    { address: A.account.address, peerId: A.node.peerId.toString() },
    { address: B.account.address, peerId: B.node.peerId.toString() },
    { address: C.account.address, peerId: C.node.peerId.toString() },
    // M is staked too: what gets it blocked is what it sends, not who it is.
    { address: accounts[3].address, peerId: M.peerId.toString() },
  ]);
  await connect(A.node, B.node);
  await connect(B.node, C.node);
  await connect(M, A.node);
  await waitForMesh([A.node, B.node, C.node], jobTopic);
  await waitFor(() => meshPeers(A.node, jobTopic).includes(M.peerId.toString()), 'M in A’s mesh');
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  for (const x of [A, B, C]) x?.db.close();
});

test('a signed job announcement from A reaches B and C (relayed by B), once each', async () => {
  const { id } = await A.gossip.publish('job', job(1));
  await waitFor(() => B.got.some((m) => m.id === id) && C.got.some((m) => m.id === id), 'delivery to B and C');
  const atC = C.got.find((m) => m.id === id)!;
  assert.equal(atC.envelope.peer, A.node.peerId.toString());
  assert.equal(atC.envelope.from, A.account.address.toLowerCase());
  assert.equal(atC.from, B.node.peerId.toString(), 'C heard it from B');
  assert.deepEqual(atC.envelope.body, job(1));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(C.got.filter((m) => m.id === id).length, 1, 'delivered once');
  assert.equal(A.got.length, 0, 'not echoed to its author');
  assert.ok(C.db.seen.has(id), 'recorded as seen (dedup across restarts)');
});

test('every kind gets through; a node that is not staked is dropped everywhere', async () => {
  await C.gossip.publish('heartbeat', { roles: ['verifier'], freeSlots: 1, version: '0.1.0' });
  await C.gossip.publish('attestation', { jobId: `0x${h('1')}`, segment: 0, fromHash: h('c'), toHash: h('d'), verdict: 'agree' });
  await B.gossip.publish('claim', { jobId: `0x${h('1')}` });
  await waitFor(() => A.got.filter((m) => m.envelope.kind !== 'job').length >= 3, 'heartbeat, attestation and claim at A');

  const before = staked;
  staked = allowList([{ address: A.account.address }, { address: C.account.address }]); // B loses its stake
  try {
    const bDrops = C.drops.length;
    await B.gossip.publish('heartbeat', { roles: ['solver'], freeSlots: 3, version: '0.1.0' });
    await waitFor(() => C.drops.length > bDrops && A.drops.some((d) => d.reason === 'unstaked'), 'unstaked drops');
    assert.equal(C.drops.at(-1)?.reason, 'unstaked');
    assert.ok(!A.got.some((m) => m.envelope.kind === 'heartbeat' && m.envelope.from === B.account.address.toLowerCase()));
  } finally {
    staked = before;
  }
});

async function fromM(bytes: Uint8Array, topic = jobTopic): Promise<void> {
  await M.services.pubsub.publish(topic, bytes);
}

test('forged, unsigned, oversized, malformed and re-attributed messages are dropped, not relayed; M is scored down, then blocked and cut off', async () => {
  const seenBefore = A.db.seen.count();
  const gotBefore = [A.got.length, B.got.length, C.got.length];
  const mId = M.peerId.toString();

  // malformed: not JSON (-25)
  await fromM(new TextEncoder().encode('hello'));
  await waitFor(() => A.drops.some((d) => d.reason === 'json' && d.from === mId), 'json drop');
  assert.equal(A.db.peers.get(mId)?.score, -25);

  // oversized (-25)
  await fromM(new Uint8Array(MAX_MESSAGE_BYTES + 100).fill(0x7b));
  await waitFor(() => A.drops.some((d) => d.reason === 'oversized'), 'oversized drop');

  // unsigned: an envelope without its signature (schema) (-25)
  const valid = await signEnvelope({ kind: 'job', body: job(2), chainId, peerId: mId, signer: accounts[3] });
  const { sig: _sig, ...unsigned } = valid.envelope;
  await fromM(new TextEncoder().encode(JSON.stringify(unsigned)));
  await waitFor(() => A.drops.filter((d) => d.from === mId).length >= 3, 'unsigned drop');
  assert.equal(A.db.peers.get(mId)?.score, -75);
  assert.equal(A.scorer.isBlocked(mId), false);

  // forged: claims to be from A's address, signed by M's key (-50) → score -125 → blocked
  const forged = encodeEnvelope({ ...valid.envelope, from: A.account.address.toLowerCase() });
  await fromM(forged);
  await waitFor(() => A.drops.some((d) => d.reason === 'signature'), 'signature drop');
  assert.ok(A.db.peers.get(mId)!.score <= BLOCK_BELOW);
  assert.ok(A.db.peers.blockedUntil(mId) > Date.now(), 'blocked in the database');
  await waitFor(() => A.node.getConnections(M.peerId).length === 0 && M.getConnections(A.node.peerId).length === 0, 'A hangs up on M');
  // M's redial: its side may finish its handshake half, but A never opens a connection and it dies.
  let opened = 0;
  const onOpen = (e: CustomEvent<{ remotePeer: { toString(): string } }>) => void (e.detail.remotePeer.toString() === mId && opened++);
  A.node.addEventListener('connection:open', onOpen);
  await M.dial(A.node.getMultiaddrs()[0]).catch(() => undefined);
  await waitFor(() => M.getConnections(A.node.peerId).length === 0, 'M’s redial closed');
  A.node.removeEventListener('connection:open', onOpen);
  assert.equal(opened, 0, 'A refused M’s redial');
  assert.equal(A.node.getConnections(M.peerId).length, 0);
  assert.match(A.db.peers.events(mId).map((e) => e.reason).join('\n'), /signature: message is not signed by its sender/);

  // Nothing reached a handler or the seen table, and no honest node relayed any of it.
  assert.equal(A.db.seen.count(), seenBefore);
  assert.deepEqual([A.got.length, B.got.length, C.got.length], gotBefore);
  assert.equal(B.drops.filter((d) => d.from === A.node.peerId.toString()).length, 0, 'A relayed none of it to B');
  assert.equal(B.db.peers.get(A.node.peerId.toString())?.score ?? 0, 0);
});

test('re-attribution: a valid envelope of A republished under another libp2p identity is dropped (peer mismatch)', async () => {
  // A fresh attacker with a clean score, connected to B.
  const M2 = await loopbackNode();
  nodes.push(M2);
  await connect(M2, B.node);
  M2.services.pubsub.subscribe(jobTopic);
  await waitFor(() => B.node.services.pubsub.getSubscribers(jobTopic).some((p) => p.equals(M2.peerId)), 'M2 subscribed at B');
  await waitFor(() => M2.services.pubsub.getSubscribers(jobTopic).some((p) => p.equals(B.node.peerId)), 'B subscribed at M2');
  const stolen = await signEnvelope({ kind: 'job', body: job(3), chainId, peerId: A.node.peerId.toString(), signer: A.account });
  await M2.services.pubsub.publish(jobTopic, stolen.bytes);
  await waitFor(() => B.drops.some((d) => d.reason === 'peer-mismatch' && d.from === M2.peerId.toString()), 'peer-mismatch drop');
  assert.equal(B.db.peers.get(M2.peerId.toString())?.score, -50);
  assert.ok(!B.got.some((m) => m.id === stolen.id));
  // M2 got there first, but that must not make A's own publication of these bytes a "duplicate".
  await A.node.services.pubsub.publish(jobTopic, stolen.bytes);
  await waitFor(() => B.got.some((m) => m.id === stolen.id && m.envelope.peer === A.node.peerId.toString()), 'A’s genuine copy delivered at B');
  // A message on the wrong topic (a job envelope on the claim topic) is dropped too.
  const own = await signEnvelope({ kind: 'job', body: job(4), chainId, peerId: M2.peerId.toString(), signer: accounts[3] });
  M2.services.pubsub.subscribe(topicOf('claim', chainId));
  await waitFor(() => B.node.services.pubsub.getSubscribers(topicOf('claim', chainId)).some((p) => p.equals(M2.peerId)), 'M2 on claims');
  await M2.services.pubsub.publish(topicOf('claim', chainId), own.bytes);
  await waitFor(() => B.drops.some((d) => d.reason === 'wrong-topic'), 'wrong-topic drop');
  await M2.stop();
});

test('fuzz over the network: random payloads from a peer never reach a handler or change the seen table', async () => {
  // A lenient receiver (it never blocks) so every fuzzed message is actually processed.
  const R = await honest(0, { blockBelow: -1e12 });
  const F = await loopbackNode();
  nodes.push(F);
  F.services.pubsub.subscribe(jobTopic);
  await connect(F, R.node);
  await waitFor(() => R.node.services.pubsub.getSubscribers(jobTopic).some((p) => p.equals(F.peerId)), 'F subscribed at R');
  await waitFor(() => F.services.pubsub.getSubscribers(jobTopic).some((p) => p.equals(R.node.peerId)), 'R subscribed at F');
  const valid = await signEnvelope({ kind: 'job', body: job(9), chainId, peerId: F.peerId.toString(), signer: accounts[3] });
  const samples = fc.sample(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      fc.uint8Array({ minLength: MAX_MESSAGE_BYTES + 1, maxLength: MAX_MESSAGE_BYTES + 64 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => new TextEncoder().encode(JSON.stringify(v) ?? 'null')),
      fc.integer({ min: 0, max: valid.bytes.length - 1 }).map((i) => {
        const b = valid.bytes.slice();
        b[i] ^= 0x20;
        return b;
      }),
    ),
    { numRuns: 40, seed: 42 },
  );
  const seenBefore = R.db.seen.count();
  let sent = 0;
  for (const s of samples) {
    try {
      await F.services.pubsub.publish(jobTopic, s);
      sent++;
    } catch {
      // gossipsub refuses a duplicate publish (same bytes twice): not ours to test
    }
  }
  await waitFor(() => R.drops.length >= sent, `${sent} drops at R (have ${R.drops.length})`, 15_000);
  assert.equal(R.got.length, 0);
  assert.equal(R.db.seen.count(), seenBefore);
  assert.ok(R.drops.every((d) => d.from === F.peerId.toString()));
  R.gossip.stop();
  R.db.close();
});
