import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, NumericError } from '../errors.ts';
import {
  chainLink,
  decodeCheckpoint,
  encodeCheckpoint,
  genesisLink,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  stateCommits,
  stateHash,
  statePreimage,
  type CheckpointInput,
  type TensorRecord,
} from './checkpoint.ts';

const SPEC = 'a1'.repeat(32);
const sha = (...parts: (Buffer | Uint8Array | string)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function tensors(seed = 1): TensorRecord {
  const f = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 1000 + k * 100 + i) * 0.5));
  return {
    'fc1.weight': { shape: [3, 4], data: f(12, 1) },
    'fc1.bias': { shape: [4], data: f(4, 2) },
    'optim.m.fc1.weight': { shape: [3, 4], data: f(12, 3) },
    scale: { shape: [], data: f(1, 4) },
  };
}

function input(step = 10, seed = 1, prevLink = genesisLink(SPEC)): CheckpointInput {
  return { step, specHash: SPEC, tensors: tensors(seed), optimizerSteps: step, cursor: { step, epoch: 1 }, prevLink };
}

test('state hash v2 follows the documented byte layout: header, then sha256(name) and tensorCommit per tensor', () => {
  const c = input();
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  // tensorCommit written out from docs/verification.md §2 (these tensors are one chunk each).
  const commit = (shape: number[], data: Float32Array) => {
    const chunk = Buffer.alloc(1024);
    data.forEach((v, i) => chunk.writeFloatLE(v, 4 * i));
    const root = sha(Buffer.from([0]), chunk);
    return sha(Buffer.from([2]), u32(shape.length), ...shape.map(u32), root);
  };
  const parts: Buffer[] = [Buffer.from('veritrain/state/v2\0'), Buffer.from(SPEC, 'hex'), u64(10), u64(10), u64(10), u64(1), u32(4)];
  for (const name of ['fc1.bias', 'fc1.weight', 'optim.m.fc1.weight', 'scale']) {
    const t = c.tensors[name];
    parts.push(sha(Buffer.from(name, 'ascii')), commit(t.shape, t.data));
  }
  const pre = Buffer.concat(parts);
  assert.equal(pre.length, 87 + 64 * 4);
  assert.deepEqual(Buffer.from(statePreimage(c)), pre);
  assert.equal(stateHash(c), sha(pre).toString('hex'));
  assert.deepEqual(stateCommits(c).map((t) => t.name), ['fc1.bias', 'fc1.weight', 'optim.m.fc1.weight', 'scale']);
});

test('state hash: independent of insertion order, sensitive to every field', () => {
  const c = input();
  const h = stateHash(c);
  const reversed = Object.fromEntries(Object.entries(c.tensors).reverse());
  assert.equal(stateHash({ ...c, tensors: reversed }), h);
  assert.notEqual(stateHash({ ...c, step: 11 }), h);
  assert.notEqual(stateHash({ ...c, specHash: 'c3'.repeat(32) }), h);
  assert.notEqual(stateHash({ ...c, optimizerSteps: 9 }), h);
  assert.notEqual(stateHash({ ...c, cursor: { step: 10, epoch: 2 } }), h);
  const flipped = tensors();
  new Uint32Array(flipped['fc1.bias'].data.buffer)[2] ^= 1;
  assert.notEqual(stateHash({ ...c, tensors: flipped }), h);
  const reshaped = tensors();
  reshaped['fc1.weight'].shape = [4, 3];
  assert.notEqual(stateHash({ ...c, tensors: reshaped }), h);
  const renamed = tensors();
  renamed['fc1.biaz'] = renamed['fc1.bias'];
  delete renamed['fc1.bias'];
  assert.notEqual(stateHash({ ...c, tensors: renamed }), h);
});

test('hash chain: genesis from the spec hash, then SHA-256(prev ‖ state)', () => {
  assert.equal(genesisLink(SPEC), sha('veritrain/chain/v1\0', Buffer.from(SPEC, 'hex')).toString('hex'));
  const s = 'b2'.repeat(32);
  assert.equal(chainLink(genesisLink(SPEC), s), sha(Buffer.from(genesisLink(SPEC), 'hex'), Buffer.from(s, 'hex')).toString('hex'));
});

/** An independent reader of the safetensors format, strict as the reference Rust implementation. */
function readSafetensors(buf: Buffer) {
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal(n % 8, 0, 'header padded to 8 bytes');
  const headerText = buf.subarray(8, 8 + n).toString('utf8');
  assert.equal(headerText[0], '{');
  assert.match(headerText, /^\{.*\} *$/);
  const header = JSON.parse(headerText) as Record<string, any>;
  const meta = header.__metadata__ as Record<string, unknown>;
  for (const v of Object.values(meta)) assert.equal(typeof v, 'string');
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const byOffset = [...names].sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  assert.deepEqual(byOffset, [...names].sort(), 'data laid out in sorted name order');
  let pos = 0;
  const out: Record<string, { shape: number[]; values: number[] }> = {};
  for (const name of byOffset) {
    const { dtype, shape, data_offsets: [b, e] } = header[name];
    assert.equal(dtype, 'F32');
    assert.equal(b, pos);
    assert.equal(e - b, shape.reduce((x: number, y: number) => x * y, 1) * 4);
    pos = e;
    const values: number[] = [];
    for (let o = 8 + n + b; o < 8 + n + e; o += 4) values.push(buf.readFloatLE(o));
    out[name] = { shape, values };
  }
  assert.equal(8 + n + pos, buf.length, 'no bytes after the last tensor');
  return { meta, tensors: out };
}

test('the file is plain safetensors: header, metadata strings, F32 tensors in name order', () => {
  const c = input();
  const { bytes, stateHash: sh, link } = encodeCheckpoint(c);
  const st = readSafetensors(Buffer.from(bytes));
  assert.deepEqual(st.meta, {
    'cursor.epoch': '1', 'cursor.step': '10', format: 'veritrain-checkpoint/1', link, optimizerSteps: '10',
    prevLink: genesisLink(SPEC), specHash: SPEC, stateHash: sh, step: '10',
  });
  for (const [name, t] of Object.entries(c.tensors)) {
    assert.deepEqual(st.tensors[name].shape, t.shape);
    assert.deepEqual(st.tensors[name].values, [...t.data]);
  }
  // A pure function: same state, same bytes.
  assert.deepEqual(encodeCheckpoint(input()).bytes, bytes);
});

test('save → load round trip; chain.json and latestCheckpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-ckpt-'));
  assert.equal(latestCheckpoint(dir), null);
  assert.equal(latestCheckpoint(join(dir, 'nothing-here')), null);
  let prev = genesisLink(SPEC);
  const saved = [];
  for (const step of [5, 10, 15]) {
    const s = saveCheckpoint(dir, input(step, step, prev));
    saved.push(s);
    assert.equal(s.link, chainLink(prev, s.stateHash));
    prev = s.link;
  }
  assert.equal(latestCheckpoint(dir), join(dir, 'ckpt-0000000015.safetensors'));
  const back = loadCheckpoint(saved[1].path);
  assert.equal(back.step, 10);
  assert.equal(back.stateHash, saved[1].stateHash);
  assert.equal(back.prevLink, saved[0].link);
  assert.deepEqual(back.cursor, { step: 10, epoch: 1 });
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors()).sort());
  assert.deepEqual(back.tensors['fc1.weight'].data, tensors(10)['fc1.weight'].data);
  assert.deepEqual(back.tensors.scale.shape, []);
  const chain = JSON.parse(readFileSync(join(dir, 'chain.json'), 'utf8'));
  assert.equal(chain.specHash, SPEC);
  assert.equal(chain.genesis, genesisLink(SPEC));
  assert.equal(chain.head, saved[2].link);
  assert.deepEqual(chain.entries.map((e: { step: number }) => e.step), [5, 10, 15]);
  assert.equal(chain.entries[0].prevLink, chain.genesis);
  assert.equal(chain.entries[2].stateHash, saved[2].stateHash);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
});

test('never overwrites a different checkpoint; refuses a broken chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-ckpt-'));
  const a = saveCheckpoint(dir, input(5));
  const before = readFileSync(a.path);
  assert.deepEqual(saveCheckpoint(dir, input(5)), a, 'saving the same state again is a no-op');
  assert.throws(() => saveCheckpoint(dir, input(5, 2)), (e: unknown) => e instanceof IntegrityError && /refusing to overwrite/.test(e.message));
  assert.deepEqual(readFileSync(a.path), before);
  assert.throws(() => saveCheckpoint(dir, input(10, 1, genesisLink(SPEC))), /does not continue the chain/);
  assert.ok(!existsSync(join(dir, 'ckpt-0000000010.safetensors')));
  saveCheckpoint(dir, input(10, 1, a.link));
  assert.throws(() => saveCheckpoint(dir, input(7, 1, a.link)), /already has a checkpoint at step 10/);
  assert.throws(() => saveCheckpoint(dir, { ...input(20, 1, a.link), specHash: 'c3'.repeat(32) }), /another job/);
});

test('non-finite values are refused before anything is written', () => {
  const c = input();
  c.tensors['fc1.bias'].data[1] = NaN;
  assert.throws(() => encodeCheckpoint(c), NumericError);
});

function expectCorrupt(bytes: Uint8Array, re: RegExp) {
  assert.throws(() => decodeCheckpoint(bytes, 'x'), (e: unknown) => e instanceof IntegrityError && re.test(e.message));
}

test('truncated files are IntegrityErrors', () => {
  const { bytes } = encodeCheckpoint(input());
  expectCorrupt(bytes.subarray(0, bytes.length - 1), /truncated: tensors need/);
  expectCorrupt(bytes.subarray(0, 100), /truncated: header of/);
  expectCorrupt(bytes.subarray(0, 5), /truncated/);
  const dir = mkdtempSync(join(tmpdir(), 'vt-ckpt-'));
  const { path } = saveCheckpoint(dir, input());
  truncateSync(path, readFileSync(path).length - 8);
  assert.throws(() => loadCheckpoint(path), (e: unknown) => e instanceof IntegrityError && e.message.includes(path));
});

test('a flipped byte in the data is caught by the state hash', () => {
  const { bytes } = encodeCheckpoint(input());
  const bad = bytes.slice();
  bad[bad.length - 3] ^= 0x10;
  expectCorrupt(bad, /state hash mismatch/);
});

test('a flipped byte in the header is caught', () => {
  const { bytes } = encodeCheckpoint(input());
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString();
  const bad = bytes.slice();
  bad[8 + text.indexOf('"shape":[3,4]') + 9] ^= 0x01; // [3,4] → [2,4]
  expectCorrupt(bad, /corrupt/);
  const bad2 = bytes.slice();
  bad2[8 + n - 1] ^= 0x01; // a padding space
  expectCorrupt(bad2, /corrupt/);
});

test('every single-bit flip anywhere in the file is an IntegrityError', () => {
  const { bytes } = encodeCheckpoint(input());
  for (let i = 0; i < bytes.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = bytes.slice();
      bad[i] ^= bit;
      assert.throws(() => decodeCheckpoint(bad), IntegrityError, `byte ${i} bit ${bit}`);
    }
  }
});

test('a safetensors file that veritrain did not write is refused clearly', () => {
  const header = Buffer.from('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   ');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const dir = mkdtempSync(join(tmpdir(), 'vt-ckpt-'));
  writeFileSync(join(dir, 'x.safetensors'), Buffer.concat([len, header, Buffer.alloc(4)]));
  assert.throws(() => loadCheckpoint(join(dir, 'x.safetensors')), /not a veritrain-checkpoint\/1 file/);
});
