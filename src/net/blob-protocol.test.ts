// Real libp2p nodes on loopback: two honest providers, one that serves wrong bytes, one that
// speaks garbage, and clients with fresh stores.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256Hex } from '../engine/hash.ts';
import { openBlobStore, type BlobStore } from '../node/blobs.ts';
import { openDb, type NodeDb } from '../node/db.ts';
import { tempDir } from '../../test/cli.ts';
import {
  announceBlob,
  BLOB_PROTOCOL,
  BlobFetchError,
  BlobProtocolError,
  decodeData,
  decodeHeader,
  decodeRequest,
  encodeData,
  encodeFrame,
  encodeHeader,
  encodeRequest,
  fetchBlob,
  findBlobProviders,
  frameReader,
  serveBlobs,
  STATUS,
  type BlobServer,
  type BlobSink,
} from './blob-protocol.ts';
import type { NetNode } from './node.ts';
import { createPeerScorer, PENALTY, type PeerScorer } from './peers.ts';
import { connect, loopbackNode, waitFor } from './testing.ts';

const SIZE = 8 * 1024 * 1024 + 12345; // not a multiple of the chunk size
const blob = randomBytes(SIZE);
const hash = sha256Hex(blob);

interface Peer {
  node: NetNode;
  store: BlobStore;
  db: NodeDb;
  scorer: PeerScorer;
  server?: BlobServer;
}

const nodes: NetNode[] = [];
const dbs: NodeDb[] = [];
let P1: Peer, P2: Peer, BAD: Peer, JUNK: Peer, CL: Peer;

async function peer(opts: { serve?: boolean; blockBelow?: number } = {}): Promise<Peer> {
  const dir = tempDir();
  const db = openDb(join(dir, 'node.db'));
  dbs.push(db);
  const scorer = createPeerScorer({ store: db.peers, blockBelow: opts.blockBelow });
  const node = await loopbackNode({ isBlocked: (p) => scorer.isBlocked(p) });
  scorer.attach(node);
  nodes.push(node);
  const store = openBlobStore(dir);
  const p: Peer = { node, store, db, scorer };
  if (opts.serve) p.server = await serveBlobs({ node, store, scorer });
  return p;
}

/** A client with an empty store (each test downloads from scratch). */
async function client(): Promise<Peer> {
  const c = await peer();
  for (const p of [P1, P2, BAD, JUNK]) await connect(c.node, p.node);
  return c;
}

before(async () => {
  P1 = await peer({ serve: true });
  P2 = await peer({ serve: true });
  await P1.store.put(blob, hash);
  await P2.store.put(blob, hash);
  // BAD answers every request with the right size and the wrong bytes.
  BAD = await peer();
  await BAD.node.handle(BLOB_PROTOCOL, async (stream) => {
    const reader = frameReader(stream);
    const req = decodeRequest(await reader.next());
    reader.dispose();
    stream.send(encodeHeader({ status: STATUS.ok, size: SIZE }));
    const junk = randomBytes(SIZE - req.offset);
    for (let o = 0; o < junk.length; o += 256 * 1024) {
      if (!stream.send(encodeData(junk.subarray(o, o + 256 * 1024)))) await stream.onDrain();
    }
    await stream.close();
  });
  // JUNK answers with a frame that is not a header.
  JUNK = await peer();
  await JUNK.node.handle(BLOB_PROTOCOL, async (stream) => {
    stream.send(encodeFrame(new Uint8Array([0x7f, 1, 2, 3])));
    await stream.close();
  });
  for (const [a, b] of [[P1, P2], [P1, BAD], [P2, BAD], [P1, JUNK]] as const) await connect(a.node, b.node);
  CL = await client();
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  for (const db of dbs) db.close();
});

test('a multi-MB blob moves with its hash checked; the provider earns a point', async () => {
  const t0 = performance.now();
  const r = await fetchBlob({ node: CL.node, store: CL.store, hash, providers: [P1.node.peerId], useDht: false, scorer: CL.scorer });
  const ms = performance.now() - t0;
  assert.equal(r.size, SIZE);
  assert.equal(r.resumedFrom, 0);
  assert.deepEqual(r.attempts.map((a) => a.outcome), ['ok']);
  assert.deepEqual(Buffer.from(await CL.store.get(hash)), blob);
  assert.equal(CL.store.partSize(hash), 0);
  assert.equal(CL.db.peers.get(P1.node.peerId.toString())?.score, 1);
  assert.ok(P1.server!.stats().served >= 1);
  console.log(`# ${(SIZE / 2 ** 20).toFixed(1)} MiB in ${ms.toFixed(0)} ms = ${(SIZE / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s (one process, both ends)`);
  // Already there: no network at all.
  const again = await fetchBlob({ node: CL.node, store: CL.store, hash, providers: [P1.node.peerId], useDht: false });
  assert.deepEqual(again.attempts, []);
});

test('two fetches of one blob at once share one download', async () => {
  const c = await client();
  const sentBefore = P2.server!.stats().bytesSent;
  const [a, b] = await Promise.all([
    fetchBlob({ node: c.node, store: c.store, hash, providers: [P2.node.peerId], useDht: false }),
    fetchBlob({ node: c.node, store: c.store, hash, providers: [P2.node.peerId], useDht: false }),
  ]);
  assert.equal(a.size, SIZE);
  assert.equal(b.size, SIZE);
  assert.equal(P2.server!.stats().bytesSent - sentBefore, SIZE, 'the blob crossed the network once');
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

test('providers announced in the DHT are found and used', async () => {
  await announceBlob(P2.node, hash);
  const c = await client();
  await waitFor(async () => (await findBlobProviders(c.node, hash, { timeoutMs: 2000 })).some((p) => p.equals(P2.node.peerId)), 'P2 found in the DHT');
  const r = await fetchBlob({ node: c.node, store: c.store, hash, scorer: c.scorer });
  assert.equal(r.attempts.at(-1)?.outcome, 'ok');
  assert.equal(r.attempts.at(-1)?.peer, P2.node.peerId.toString());
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

test('a provider serving wrong bytes is scored down and the next provider is used', async () => {
  const c = await client();
  const r = await fetchBlob({ node: c.node, store: c.store, hash, providers: [BAD.node.peerId, P1.node.peerId], useDht: false, scorer: c.scorer });
  assert.deepEqual(r.attempts.map((a) => [a.peer, a.outcome]), [
    [BAD.node.peerId.toString(), 'bad-bytes'],
    [P1.node.peerId.toString(), 'ok'],
  ]);
  assert.equal(r.resumedFrom, 0, 'the bad bytes were thrown away, not resumed from');
  assert.equal(c.db.peers.get(BAD.node.peerId.toString())?.score, -PENALTY.badBlob);
  assert.match(c.db.peers.events(BAD.node.peerId.toString())[0].reason, /failed its hash/);
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

test('a provider speaking garbage frames is scored down; nobody having the blob is a BlobFetchError', async () => {
  const c = await client();
  const missing = sha256Hex(randomBytes(10));
  await assert.rejects(fetchBlob({ node: c.node, store: c.store, hash: missing, providers: [JUNK.node.peerId, P1.node.peerId], useDht: false, scorer: c.scorer }), (e: unknown) => {
    assert.ok(e instanceof BlobFetchError);
    assert.deepEqual(e.attempts.map((a) => a.outcome), ['protocol', 'not-found']);
    return true;
  });
  assert.equal(c.db.peers.get(JUNK.node.peerId.toString())?.score, -PENALTY.blobProtocol);
  assert.equal(c.db.peers.get(P1.node.peerId.toString())?.score ?? 0, 0, 'not having a blob is no offence');
  assert.equal(c.store.partSize(missing), 0);
});

test('resume: the connection is killed mid-transfer; the next fetch continues from the .part', async () => {
  const c = await client();
  let killed = false;
  const first = fetchBlob({
    node: c.node,
    store: c.store,
    hash,
    providers: [P1.node.peerId],
    useDht: false,
    attemptsPerProvider: 1,
    onProgress: ({ received }) => {
      if (!killed && received > 3 * 2 ** 20) {
        killed = true;
        void c.node.hangUp(P1.node.peerId);
      }
    },
  });
  await assert.rejects(first, (e: unknown) => e instanceof BlobFetchError && e.attempts[0].outcome === 'dropped');
  const part = c.store.partSize(hash);
  assert.ok(part > 3 * 2 ** 20 && part < SIZE, `.part holds ${part} bytes`);
  assert.equal(c.store.has(hash), false);

  const sentBefore = P1.server!.stats().bytesSent;
  const second = await fetchBlob({ node: c.node, store: c.store, hash, providers: [P1.node.peerId], useDht: false });
  assert.equal(second.resumedFrom, part);
  assert.equal(second.attempts[0].bytes, SIZE - part, 'only the missing bytes moved');
  assert.equal(P1.server!.stats().bytesSent - sentBefore, SIZE - part);
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

test('resume within one fetch: a drop is retried from the .part, then another provider finishes', async () => {
  const c = await client();
  let kills = 0;
  const r = await fetchBlob({
    node: c.node,
    store: c.store,
    hash,
    providers: [P1.node.peerId, P2.node.peerId],
    useDht: false,
    attemptsPerProvider: 2,
    onProgress: ({ peer, received }) => {
      // Kill P1 twice (both its tries), at 2 MiB and at 5 MiB.
      if (peer === P1.node.peerId.toString() && received > (kills === 0 ? 2 : 5) * 2 ** 20 && kills < 2) {
        kills++;
        void c.node.hangUp(P1.node.peerId);
      }
    },
  });
  assert.deepEqual(r.attempts.map((a) => a.outcome), ['dropped', 'dropped', 'ok']);
  assert.equal(r.attempts[1].offset, r.attempts[0].bytes);
  assert.equal(r.attempts[2].peer, P2.node.peerId.toString());
  assert.equal(r.attempts[2].offset, r.attempts[0].bytes + r.attempts[1].bytes);
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

test('backpressure: a slow writer makes the provider wait for drain instead of buffering the blob', async () => {
  const c = await client();
  const slow: BlobSink = {
    ...c.store,
    async openPart(h) {
      const w = await c.store.openPart(h);
      return {
        offset: w.offset,
        async write(chunk) {
          await new Promise((r) => setTimeout(r, 4));
          await w.write(chunk);
        },
        close: () => w.close(),
        commit: () => w.commit(),
      };
    },
  };
  const waitsBefore = P2.server!.stats().drainWaits;
  const rssBefore = process.memoryUsage().rss;
  await fetchBlob({ node: c.node, store: slow, hash, providers: [P2.node.peerId], useDht: false });
  assert.ok(P2.server!.stats().drainWaits > waitsBefore, 'the provider saw send() return false and waited');
  assert.ok(process.memoryUsage().rss - rssBefore < 64 * 2 ** 20);
  assert.deepEqual(Buffer.from(await c.store.get(hash)), blob);
});

// ---- fuzz ---------------------------------------------------------------------------------------

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BlobProtocolError)) throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

test('fuzz: frame decoders take random bytes and wrong types and throw only BlobProtocolError', () => {
  const decoders = [decodeRequest, decodeHeader, decodeData];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 128 }), (b) => {
      for (const d of decoders) onlyProtocolErrors(() => d(b));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => {
      for (const d of decoders) onlyProtocolErrors(() => d(v));
    }),
    { numRuns: 500 },
  );
  // Right type byte and length, random content.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), (b) => onlyProtocolErrors(() => decodeRequest(new Uint8Array([1, ...b])))),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 9, maxLength: 9 }), (b) => onlyProtocolErrors(() => decodeHeader(new Uint8Array([2, ...b])))),
    { numRuns: 1000 },
  );
  // Round trips.
  const req = { hash, offset: 123456789 };
  assert.deepEqual(decodeRequest(encodeRequest(req).subarray(4)), req);
  assert.deepEqual(decodeHeader(encodeHeader({ status: STATUS.ok, size: SIZE }).subarray(4)), { status: STATUS.ok, size: SIZE });
  assert.throws(() => decodeRequest(new Uint8Array([1, ...new Uint8Array(32), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof BlobProtocolError && e.reason === 'bad-offset');
});

test('fuzz over the network: random bytes sent to a provider get a refusal or a reset, never a crash or a store change', async () => {
  // A provider that never blocks, so every sample reaches its handler.
  const FZ = await peer({ serve: true, blockBelow: -1e12 });
  await FZ.store.put(blob, hash);
  const attacker = await peer();
  await connect(attacker.node, FZ.node);
  const listBefore = FZ.store.list();
  const samples = fc.sample(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.uint8Array({ minLength: 41, maxLength: 41 }).map((b) => encodeFrame(b)),
      fc.integer({ min: 65, max: 2 ** 32 - 1 }).map((n) => {
        const f = new Uint8Array(8);
        new DataView(f.buffer).setUint32(0, n);
        return f;
      }),
    ),
    { numRuns: 25, seed: 7 },
  );
  for (const bytes of samples) {
    const s = await attacker.node.dialProtocol(FZ.node.peerId, BLOB_PROTOCOL);
    s.send(bytes);
    await s.close().catch(() => {});
    const reader = frameReader(s);
    try {
      const reply = await reader.next(AbortSignal.timeout(5000));
      if (reply !== null) assert.notEqual(decodeHeader(reply).status, STATUS.ok);
    } catch (e) {
      // A reset is a fine answer to garbage; a hang is not (the timeout would say so).
      assert.ok(!(e instanceof DOMException && e.name === 'TimeoutError'), 'provider did not answer within 5 s');
    } finally {
      reader.dispose();
    }
  }
  assert.deepEqual(FZ.store.list(), listBefore);
  assert.equal(FZ.server!.stats().served, 0);
  assert.ok(FZ.server!.stats().badRequests > 0);
  assert.ok((FZ.db.peers.get(attacker.node.peerId.toString())?.score ?? 0) < 0, 'the attacker lost points');
  // The provider still serves honest clients.
  const c = await client();
  await connect(c.node, FZ.node);
  const r = await fetchBlob({ node: c.node, store: c.store, hash, providers: [FZ.node.peerId], useDht: false });
  assert.equal(r.size, SIZE);
});
