import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { canonicalJson } from '../canonical-json.ts';
import { openDb } from '../node/db.ts';
import { encodeFrame } from './blob-protocol.ts';
import { askJobInfo, decodeJobInfo, decodeJobInfoRequest, encodeJobInfo, JOB_INFO_PROTOCOL, JobInfoError, MAX_JOB_INFO_REQUEST, MAX_JOB_INFO_RESPONSE, serveJobInfo, type JobInfo } from './job-info.ts';
import type { NetNode } from './node.ts';
import { createPeerScorer } from './peers.ts';
import { connect, loopbackNode } from './testing.ts';

const h = (c: string) => c.repeat(64);
const INFO: JobInfo = {
  v: 1,
  jobId: '7',
  results: [{ root: `0x${h('1')}`, modelHash: `0x${h('2')}`, list: h('3'), solver: `0x${'ab'.repeat(20)}` }],
  checkpoints: [{ solver: `0x${'ab'.repeat(20)}`, index: 0, step: 25, stateHash: h('4'), blob: h('5') }],
};
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function onlyJobInfoErrors(f: (b: unknown) => unknown, input: unknown) {
  try {
    f(input);
  } catch (e) {
    if (!(e instanceof JobInfoError)) throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

test('job-info round trip; the decoders refuse non-canonical, oversized, wrong-typed and unknown-field input', () => {
  assert.deepEqual(decodeJobInfo(encodeJobInfo(INFO)), INFO);
  assert.deepEqual(decodeJobInfoRequest(enc(canonicalJson({ v: 1, jobId: '12' }))), { v: 1, jobId: '12' });
  for (const bad of [
    JSON.stringify(INFO, null, 1), // not canonical
    canonicalJson({ ...INFO, extra: 1 }),
    canonicalJson({ ...INFO, jobId: '0' }),
    canonicalJson({ ...INFO, jobId: 7 }),
    canonicalJson({ ...INFO, results: [{ ...INFO.results[0], root: 'nothex' }] }),
    canonicalJson({ ...INFO, checkpoints: [{ ...INFO.checkpoints[0], index: -1 }] }),
  ]) {
    assert.throws(() => decodeJobInfo(enc(bad)), JobInfoError, bad.slice(0, 60));
  }
  assert.throws(() => decodeJobInfo(new Uint8Array(MAX_JOB_INFO_RESPONSE + 1)), JobInfoError);
  assert.throws(() => decodeJobInfoRequest(new Uint8Array(MAX_JOB_INFO_REQUEST + 1)), JobInfoError);
  assert.throws(() => decodeJobInfoRequest('{"v":1,"jobId":"1"}'), JobInfoError, 'a string is not bytes');
});

test('fuzz: random bytes, random JSON, wrong types never crash the job-info decoders', () => {
  for (const f of [decodeJobInfo, decodeJobInfoRequest]) {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyJobInfoErrors(f, b)), { numRuns: 1000 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => onlyJobInfoErrors(f, enc(v))), { numRuns: 800 });
    fc.assert(fc.property(fc.anything(), (v) => onlyJobInfoErrors(f, v)), { numRuns: 300 });
  }
  const fields = Object.keys(INFO) as Array<keyof JobInfo>;
  fc.assert(
    fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), (k, v) => onlyJobInfoErrors(decodeJobInfo, enc(canonicalJson({ ...INFO, [k]: v })))),
    { numRuns: 500 },
  );
});

const nodes: NetNode[] = [];
after(async () => {
  for (const n of nodes) await n.stop();
});

test('over the network: a peer answers what it knows; garbage requests cost the sender points and change nothing', async () => {
  const server = await loopbackNode();
  const client = await loopbackNode();
  nodes.push(server, client);
  const db = openDb(':memory:');
  const scorer = createPeerScorer({ store: db.peers });
  let asked: bigint[] = [];
  await serveJobInfo({ node: server, scorer, answer: (id) => ((asked = [...asked, id]), { ...INFO, jobId: id.toString() }) });
  await connect(client, server);
  const got = await askJobInfo(client, server.peerId, 7n);
  assert.deepEqual(got, INFO);
  assert.deepEqual(asked, [7n]);
  for (const payload of [new Uint8Array([1, 2, 3]), enc('{"v":1,"jobId":"x"}'), enc('{"jobId":"1","v":1,"x":0}')]) {
    const s = await client.dialProtocol(server.peerId, JOB_INFO_PROTOCOL);
    s.send(encodeFrame(payload));
    await s.close().catch(() => {});
  }
  const s = await client.dialProtocol(server.peerId, JOB_INFO_PROTOCOL);
  s.send(new Uint8Array([0xff, 0xff, 0xff, 0xff])); // a 4 GiB frame announced
  await s.close().catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(asked, [7n], 'no garbage request reached the answer function');
  assert.ok((db.peers.get(client.peerId.toString())?.score ?? 0) < 0, 'the sender lost points');
  // A server answering garbage is not believed: null, not an exception.
  const liar = await loopbackNode();
  nodes.push(liar);
  await liar.handle(JOB_INFO_PROTOCOL, async (stream) => {
    stream.send(encodeFrame(enc('{"v":1,"jobId":"7","results":"nope","checkpoints":[]}')));
    await stream.close();
  });
  await connect(client, liar);
  assert.equal(await askJobInfo(client, liar.peerId, 7n), null);
});
