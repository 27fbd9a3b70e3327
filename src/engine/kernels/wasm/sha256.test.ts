// sha256Batch must give exactly node:crypto's SHA-256 digests: every padding boundary (message
// lengths 55, 56, 63, 64, 119, 120), empty messages, a tag byte or none, data that ends inside the
// last message (zero-filled), counts that are not a multiple of 4, and Merkle-sized batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256Batch } from './sha256.ts';

function reference(tag: number, data: Uint8Array, len: number, i: number): string {
  const h = createHash('sha256');
  if (tag >= 0) h.update(new Uint8Array([tag]));
  const m = new Uint8Array(len);
  if (i * len < data.length) m.set(data.subarray(i * len, Math.min((i + 1) * len, data.length)));
  return h.update(m).digest('hex');
}

test('sha256Batch equals node:crypto for every padding boundary, tag or none, partial last message', () => {
  let checked = 0;
  for (const len of [0, 1, 54, 55, 56, 62, 63, 64, 65, 118, 119, 120, 1023, 1024, 1025]) {
    for (const tag of [-1, 0, 1, 255]) {
      for (const count of [1, 3, 4, 5, 9]) {
        const data = new Uint8Array(Math.max(0, len * count - (count > 2 ? 7 : 0))).map((_, i) => (i * 2654435761 + len) >>> 24);
        const got = sha256Batch(tag, data, len, count);
        assert.equal(got.length, 32 * count);
        for (let i = 0; i < count; i++) {
          assert.equal(Buffer.from(got.subarray(32 * i, 32 * i + 32)).toString('hex'), reference(tag, data, len, i), `len=${len} tag=${tag} count=${count} message ${i}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 1000);
  assert.equal(sha256Batch(0, new Uint8Array(0), 1024, 0).length, 0);
});

test('sha256Batch over Merkle-sized batches: 2383 leaves of 0x00 ‖ 1 KiB, then their nodes 0x01 ‖ l ‖ r', () => {
  const data = new Uint8Array(2383 * 1024 - 100).map((_, i) => (i * 40503) >>> 8);
  const leaves = sha256Batch(0, data, 1024, 2383);
  for (const i of [0, 1, 2, 3, 4, 1000, 2381, 2382]) assert.equal(Buffer.from(leaves.subarray(32 * i, 32 * i + 32)).toString('hex'), reference(0, data, 1024, i));
  const nodes = sha256Batch(1, leaves, 64, 1191);
  for (const i of [0, 7, 1190]) assert.equal(Buffer.from(nodes.subarray(32 * i, 32 * i + 32)).toString('hex'), reference(1, leaves, 64, i));
});
