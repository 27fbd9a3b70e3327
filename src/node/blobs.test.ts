import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256Hex } from '../engine/hash.ts';
import { InputError, IntegrityError } from '../errors.ts';
import { tempDir } from '../../test/cli.ts';
import { openBlobStore } from './blobs.ts';

test('put/get round trip under the SHA-256 name; a wrong expected hash stores nothing', async () => {
  const store = openBlobStore(tempDir());
  const bytes = randomBytes(1000);
  const hash = await store.put(bytes);
  assert.equal(hash, sha256Hex(bytes));
  assert.ok(existsSync(join(store.dir, hash)));
  assert.equal(store.size(hash), 1000);
  assert.deepEqual(Buffer.from(await store.get(hash)), bytes);
  assert.deepEqual(store.list(), [hash]);
  await assert.rejects(store.put(randomBytes(10), hash), IntegrityError);
  assert.deepEqual(store.list(), [hash]);
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), [], 'no tmp file left behind');
  const empty = await store.put(new Uint8Array(0));
  assert.equal(empty, sha256Hex(new Uint8Array(0)));
  assert.equal((await store.get(empty)).length, 0);
});

test('streaming put and ranged read of a multi-MB blob', async () => {
  const store = openBlobStore(tempDir());
  const chunks = Array.from({ length: 12 }, () => randomBytes(1 << 19)); // 6 MiB
  const all = Buffer.concat(chunks);
  async function* source() {
    for (const c of chunks) yield c;
  }
  const { hash, size } = await store.putStream(source(), sha256Hex(all));
  assert.equal(size, all.length);
  const tail: Uint8Array[] = [];
  for await (const c of store.read(hash, { offset: 5_000_000, chunkSize: 65536 })) tail.push(c);
  assert.deepEqual(Buffer.concat(tail), all.subarray(5_000_000));
  await assert.rejects(async () => {
    for await (const _ of store.read(hash, { offset: all.length + 1 }));
  }, InputError);
});

test('a blob changed on disk fails its read and leaves the store', async () => {
  const store = openBlobStore(tempDir());
  const hash = await store.put(randomBytes(3 << 20));
  writeFileSync(join(store.dir, hash), randomBytes(3 << 20));
  await assert.rejects(store.get(hash), IntegrityError);
  assert.equal(store.has(hash), false);
});

test('partial download: append, reopen at the same offset, commit verifies; bad bytes are discarded', async () => {
  const store = openBlobStore(tempDir());
  const bytes = randomBytes(2 << 20);
  const hash = sha256Hex(bytes);
  let w = await store.openPart(hash);
  assert.equal(w.offset, 0);
  await w.write(bytes.subarray(0, 700_000));
  await w.close();
  assert.equal(store.partSize(hash), 700_000);
  assert.equal(store.has(hash), false, 'a .part is not a blob');
  w = await store.openPart(hash);
  assert.equal(w.offset, 700_000);
  await w.write(bytes.subarray(700_000));
  await w.close();
  assert.deepEqual(await store.commitPart(hash), { size: bytes.length });
  assert.equal(store.partSize(hash), 0);
  assert.deepEqual(Buffer.from(await store.get(hash)), bytes);

  // commit() on the writer: the hash is computed while writing (and over the resumed prefix).
  const third = randomBytes(300_000);
  const thirdHash = sha256Hex(third);
  w = await store.openPart(thirdHash);
  await w.write(third.subarray(0, 100_000));
  await w.close();
  w = await store.openPart(thirdHash);
  assert.equal(w.offset, 100_000);
  await w.write(third.subarray(100_000));
  assert.deepEqual(await w.commit(), { size: third.length });
  assert.deepEqual(Buffer.from(await store.get(thirdHash)), third);
  w = await store.openPart(sha256Hex(randomBytes(5)));
  await w.write(randomBytes(5));
  await assert.rejects(w.commit(), IntegrityError);

  const other = randomBytes(1000);
  const otherHash = sha256Hex(other);
  w = await store.openPart(otherHash);
  await w.write(randomBytes(1000));
  await w.close();
  await assert.rejects(store.commitPart(otherHash), IntegrityError);
  assert.equal(store.partSize(otherHash), 0, 'bad part removed');
  assert.equal(store.has(otherHash), false);
});

test('names that are not 64 lowercase hex digits never reach the file system', async () => {
  const store = openBlobStore(tempDir());
  for (const bad of ['../keystore.json', 'A'.repeat(64), 'a'.repeat(63), '', 'a'.repeat(64) + '/x', 'tmp']) {
    assert.throws(() => store.has(bad), InputError);
    assert.throws(() => store.partSize(bad), InputError);
    await assert.rejects(store.get(bad), InputError);
    await assert.rejects(store.openPart(bad), InputError);
  }
});

test('leftover tmp files from a crash are removed on open', async () => {
  const dataDir = tempDir();
  const store = openBlobStore(dataDir);
  writeFileSync(join(store.dir, 'tmp', 'deadbeef'), 'half a write');
  openBlobStore(dataDir);
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), []);
});
