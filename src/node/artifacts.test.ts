import fc from 'fast-check';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Address } from 'viem';
import { IntegrityError, InputError } from '../errors.ts';
import { sha256Hex, utf8 } from '../engine/hash.ts';
import { parseSpec, specHash } from '../train/spec.ts';
import {
  checkListAgainstChain,
  checkpointSteps,
  dataBlobsOf,
  decodeCheckpointList,
  encodeCheckpointList,
  listRoot,
  modelHashOf,
  parseSpecBlob,
  specBlob,
  type CheckpointList,
} from './artifacts.ts';

const example = JSON.parse(readFileSync(new URL('../../examples/mnist-mlp.json', import.meta.url), 'utf8'));
const h = (c: string) => c.repeat(64);
const solver = `0x${'ab'.repeat(20)}` as Address;

test('the spec blob is the canonical spec: its SHA-256 is the spec hash; a changed, non-canonical or foreign-path blob is refused', () => {
  const spec = parseSpec(example);
  const blob = specBlob(spec);
  assert.equal(sha256Hex(blob), specHash(spec));
  assert.deepEqual(parseSpecBlob(blob, specHash(spec)), spec);
  assert.throws(() => parseSpecBlob(blob, h('0')), IntegrityError);
  const spaced = utf8(JSON.stringify(spec, null, 1));
  assert.throws(() => parseSpecBlob(spaced, sha256Hex(spaced)), IntegrityError, 'same spec, other bytes');
  // A spec that reads a file by a name of its own choosing (path traversal, any local file).
  const local = parseSpec({ ...example, dataset: { format: 'text', path: '../../etc/passwd' }, model: { type: 'gpt', layers: 1, dModel: 8, heads: 1, context: 4 } });
  assert.throws(() => parseSpecBlob(specBlob(local), specHash(local)), InputError);
  const networked = parseSpec({ ...local, dataset: { format: 'text', path: `blobs/${h('a')}`, sha256: h('b') } });
  assert.deepEqual(dataBlobsOf(networked), [h('a')]);
  assert.throws(() => dataBlobsOf(parseSpec({ ...local, dataset: { format: 'text', path: `blobs/${h('a')}` } })), InputError, 'the dataset hash must be pinned');
  assert.deepEqual(dataBlobsOf(spec), [], 'built-in data needs no blob');
});

test('checkpoint steps match what training writes', () => {
  assert.deepEqual(checkpointSteps(100, 25), [25, 50, 75, 100]);
  assert.deepEqual(checkpointSteps(110, 25), [25, 50, 75, 100, 110]);
  assert.deepEqual(checkpointSteps(3, 5), [3]);
});

function list(n = 4): CheckpointList {
  return {
    v: 1,
    jobId: '3',
    solver,
    specHash: h('5'),
    checkpoints: Array.from({ length: n }, (_, i) => ({ index: i, step: 25 * (i + 1), stateHash: sha256Hex(utf8(`s${i}`)), blob: sha256Hex(utf8(`b${i}`)) })),
  };
}

test('checkpoint lists: round trip, order checks, and a check against the chain that catches each lie', () => {
  const l = list();
  assert.deepEqual(decodeCheckpointList(encodeCheckpointList(l)), l);
  const swapped = { ...l, checkpoints: [l.checkpoints[1], l.checkpoints[0], ...l.checkpoints.slice(2)] };
  assert.throws(() => decodeCheckpointList(utf8(JSON.stringify(swapped))), IntegrityError);
  const hashes = l.checkpoints.map((c) => c.stateHash);
  const chain = { jobId: 3n, solver, root: listRoot(3n, solver, hashes), modelHash: modelHashOf(hashes[3]), checkpoints: 4, specHash: h('5') };
  checkListAgainstChain(l, chain);
  assert.throws(() => checkListAgainstChain(l, { ...chain, jobId: 4n }), IntegrityError, 'another job');
  assert.throws(() => checkListAgainstChain(l, { ...chain, solver: `0x${'cd'.repeat(20)}` }), IntegrityError, 'another solver');
  assert.throws(() => checkListAgainstChain(l, { ...chain, checkpoints: 5 }), IntegrityError, 'a count the job does not have');
  // The same leaves under another solver: identity-bound leaves make the copy's root differ.
  assert.notEqual(listRoot(3n, `0x${'cd'.repeat(20)}`, hashes), chain.root);
  const lie = { ...l, checkpoints: l.checkpoints.map((c, i) => (i === 2 ? { ...c, stateHash: h('f') } : c)) };
  assert.throws(() => checkListAgainstChain(lie, chain), IntegrityError, 'a changed leaf');
});

test('fuzz: random bytes and mutated lists decode to a list or an IntegrityError, nothing else', () => {
  const ok = (b: Uint8Array) => {
    try {
      decodeCheckpointList(b);
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1000 }), ok), { numRuns: 1000 });
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => ok(utf8(JSON.stringify(v)))), { numRuns: 800 });
  const bytes = encodeCheckpointList(list());
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const b = bytes.slice();
      b[at] ^= x;
      ok(b);
    }),
    { numRuns: 500 },
  );
});
