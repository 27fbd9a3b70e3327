import fc from 'fast-check';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { canonicalJson as specCanonicalJson } from '../train/spec.ts';
import {
  canonicalJson,
  decodeAndVerify,
  decodeEnvelope,
  encodeEnvelope,
  MAX_MESSAGE_BYTES,
  MESSAGE_KINDS,
  MessageError,
  messageId,
  signEnvelope,
  signingBytes,
  topicOf,
  type Envelope,
  type MessageBody,
  type MessageKind,
} from './messages.ts';

const account = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const peerId = '12D3KooWPMMxZemWiZqeyULLmLtwkyCxes8dpJiJQcJJaeJhkT4k';
const h = (c: string) => c.repeat(64);

const BODIES: { [K in MessageKind]: MessageBody<K> } = {
  job: { jobId: `0x${h('1')}`, specHash: h('a'), datasetHash: h('b'), reward: '1000000000000000000', deadline: 1_900_000_000 },
  claim: { jobId: `0x${h('1')}`, txHash: `0x${h('2')}` },
  attestation: { jobId: `0x${h('1')}`, segment: 3, fromHash: h('c'), toHash: h('d'), verdict: 'agree' },
  heartbeat: { roles: ['solver', 'verifier'], freeSlots: 2, version: '0.1.0' },
  progress: { jobId: `0x${h('1')}`, step: 120, steps: 300, loss: 0.4183, losses: [0.52, 0.4712, 0.4183] },
  checkpoint: { jobId: `0x${h('1')}`, index: 2, step: 75, stateHash: h('e'), blob: h('f') },
  result: { jobId: `0x${h('1')}`, root: `0x${h('3')}`, modelHash: `0x${h('4')}`, list: h('5') },
};

async function signed(kind: MessageKind = 'job', now = 1_700_000_000_000) {
  return signEnvelope({ kind, body: BODIES[kind] as never, chainId: 31337, peerId, signer: account, now });
}

function rejects(bytes: unknown, reason: MessageError['reason']) {
  assert.throws(
    () => decodeEnvelope(bytes),
    (e: unknown) => e instanceof MessageError && e.reason === reason,
    `expected MessageError(${reason})`,
  );
}

test('every kind round-trips: sign → bytes → decode → verify; id is SHA-256 of the bytes', async () => {
  for (const kind of MESSAGE_KINDS) {
    const { envelope, bytes, id } = await signed(kind);
    assert.ok(bytes.length < 1024, `${kind} is ${bytes.length} bytes`);
    assert.equal(envelope.from, account.address.toLowerCase());
    assert.deepEqual(await decodeAndVerify(bytes), envelope);
    assert.equal(id, messageId(bytes));
    assert.deepEqual(encodeEnvelope(envelope), bytes);
  }
  assert.equal(topicOf('attestation', 31337), '/veritrain/31337/attestation/1');
});

test('the signed bytes are the tag plus the canonical JSON of everything but sig', async () => {
  const { envelope } = await signed('claim');
  // Same canonical form as the job spec's.
  for (const v of [envelope, { b: [1, 'x', null, { d: true, c: -0.5 }], a: 'é\u2028"' }]) assert.equal(canonicalJson(v), specCanonicalJson(v));
  const { sig: _sig, ...rest } = envelope;
  assert.equal(new TextDecoder().decode(signingBytes(envelope)), `veritrain:gossip:v1\n${canonicalJson(rest)}`);
});

test('forged, tampered and re-attributed messages fail verification', async () => {
  const { envelope } = await signed('attestation');
  const tamper = (e: Envelope) => encodeEnvelope(e);
  // Someone else's address as sender.
  await assert.rejects(decodeAndVerify(tamper({ ...envelope, from: other.address.toLowerCase() })), (e: unknown) => e instanceof MessageError && e.reason === 'signature');
  // A changed verdict under the original signature.
  await assert.rejects(decodeAndVerify(tamper({ ...envelope, body: { ...envelope.body, verdict: 'disagree' } } as Envelope)), MessageError);
  // A signature that is not a point on the curve.
  await assert.rejects(decodeAndVerify(tamper({ ...envelope, sig: `0x${'ff'.repeat(65)}` })), (e: unknown) => e instanceof MessageError && e.reason === 'signature');
  // The high-s twin of the valid signature: would verify with a plain ecrecover, but it is another
  // byte string (another message id) for the same message, so dedup could be bypassed.
  const s = BigInt(`0x${envelope.sig.slice(66, 130)}`);
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const v = envelope.sig.slice(130) === '1b' ? '1c' : '1b';
  const twin = `${envelope.sig.slice(0, 66)}${(N - s).toString(16).padStart(64, '0')}${v}`;
  await assert.rejects(decodeAndVerify(tamper({ ...envelope, sig: twin })), (e: unknown) => e instanceof MessageError && e.reason === 'signature');
  // Valid signature by `other`, claiming to be `account`.
  const byOther = await signEnvelope({ kind: 'job', body: BODIES.job, chainId: 31337, peerId, signer: other });
  await assert.rejects(decodeAndVerify(tamper({ ...byOther.envelope, from: account.address.toLowerCase() })), MessageError);
});

test('each decoding check has its own reason', async () => {
  const { envelope, bytes } = await signed('job');
  const json = new TextDecoder().decode(bytes);
  rejects('a string', 'type');
  rejects(null, 'type');
  rejects([1, 2], 'type');
  rejects(new Uint8Array(MAX_MESSAGE_BYTES + 1), 'oversized');
  rejects(new Uint8Array([0xff, 0xfe, 0x00]), 'encoding');
  rejects(new TextEncoder().encode('{"v":1,'), 'json');
  rejects(new TextEncoder().encode('{}'), 'schema');
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, extra: 1 })), 'schema');
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, sig: undefined })), 'schema'); // unsigned
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, from: account.address })), 'schema'); // checksummed
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, kind: 'claim' })), 'schema'); // body of another kind
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, body: { ...envelope.body, deadline: 1.5 } })), 'schema');
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, body: { ...envelope.body, reward: '-1' } })), 'schema');
  rejects(new TextEncoder().encode(JSON.stringify({ ...envelope, v: 2 })), 'schema');
  // Same content, other bytes: spaces, key order, a duplicate key, an exponent.
  rejects(new TextEncoder().encode(JSON.stringify(envelope, null, 1)), 'non-canonical');
  rejects(new TextEncoder().encode(JSON.stringify(envelope)), 'non-canonical');
  rejects(new TextEncoder().encode(json.replace('{', '{"v":1,')), 'non-canonical');
  rejects(new TextEncoder().encode(json.replace(`"chainId":31337`, `"chainId":31337.0`)), 'non-canonical');
  const big = await signEnvelope({ kind: 'heartbeat', body: BODIES.heartbeat, chainId: 31337, peerId, signer: account });
  assert.ok(big.bytes.length <= MAX_MESSAGE_BYTES);
});

// ---- fuzz: random input never crashes a decoder; only MessageError comes out --------------------

function onlyMessageErrors(input: unknown): void {
  try {
    decodeEnvelope(input);
  } catch (e) {
    if (!(e instanceof MessageError)) throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

test('fuzz: random bytes, random JSON, wrong types, oversized input', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => onlyMessageErrors(b)), { numRuns: 2000 });
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => onlyMessageErrors(new TextEncoder().encode(JSON.stringify(v)))), { numRuns: 1500 });
  fc.assert(fc.property(fc.anything(), (v) => onlyMessageErrors(v)), { numRuns: 500 });
  fc.assert(
    fc.property(fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: 4 * MAX_MESSAGE_BYTES }), fc.integer({ min: 0, max: 255 }), (n, fill) => {
      assert.throws(() => decodeEnvelope(new Uint8Array(n).fill(fill)), (e: unknown) => e instanceof MessageError && e.reason === 'oversized');
    }),
    { numRuns: 50 },
  );
  // Deep nesting must not blow the stack (8 KiB of brackets).
  onlyMessageErrors(new TextEncoder().encode('['.repeat(MAX_MESSAGE_BYTES)));
  onlyMessageErrors(new TextEncoder().encode('{"a":'.repeat(1600) + '1' + '}'.repeat(1600)));
});

test('fuzz: mutations of a valid message of every kind (bit flips, cuts, field swaps) decode to a typed error or verify false', async () => {
  for (const kind of MESSAGE_KINDS) await mutate(kind);
});

async function mutate(kind: MessageKind) {
  const { bytes, envelope } = await signed(kind);
  const checks: Promise<void>[] = [];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: bytes.length }), (at, xor, cut) => {
      const flipped = bytes.slice();
      flipped[at] ^= xor;
      for (const b of [flipped, bytes.subarray(0, cut)]) {
        checks.push(
          decodeAndVerify(b).then(
            (env) => {
              // A mutation that still decodes and verifies must be the very same message.
              assert.deepEqual(env, envelope);
            },
            (e) => {
              if (!(e instanceof MessageError)) throw e;
            },
          ),
        );
      }
    }),
    { numRuns: 60 },
  );
  await Promise.all(checks);
  const fields = Object.keys(envelope) as Array<keyof Envelope>;
  fc.assert(
    fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 2 }), (field, value) => {
      const mutated = { ...envelope, [field]: value };
      onlyMessageErrors(new TextEncoder().encode(canonicalJson(mutated)));
    }),
    { numRuns: 200 },
  );
  // Wrong types, sizes and values in the body's own fields.
  const bodyFields = Object.keys(envelope.body);
  fc.assert(
    fc.property(fc.constantFrom(...bodyFields), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 9000 }), fc.double({ noNaN: true, noDefaultInfinity: true })), (field, value) => {
      onlyMessageErrors(new TextEncoder().encode(canonicalJson({ ...envelope, body: { ...envelope.body, [field]: value } })));
    }),
    { numRuns: 200 },
  );
}
