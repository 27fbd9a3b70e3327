import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { IntegrityError, ShapeError } from '../../errors.ts';
import { checkPinnedHash, classificationHash, makeClassificationDataset } from './dataset.ts';

test('classification hash is SHA-256 of the documented canonical bytes', () => {
  const x = new Float32Array([0, 0.5, 1, -2, 3.25, 1e-7]);
  const y = new Int32Array([2, 0, 1]);
  // Written out by hand: magic, rank 1, dim 2, n 3, classes 3, features, labels.
  const bytes = Buffer.alloc(24 + 6 * 4 + 3 * 4);
  bytes.write('VTDSCLS1', 0, 'ascii');
  [1, 2, 3, 3].forEach((v, i) => bytes.writeUInt32LE(v, 8 + 4 * i));
  x.forEach((v, i) => bytes.writeFloatLE(v, 24 + 4 * i));
  y.forEach((v, i) => bytes.writeInt32LE(v, 48 + 4 * i));
  const expected = createHash('sha256').update(bytes).digest('hex');
  assert.equal(classificationHash([2], 3, x, y), expected);
  const ds = makeClassificationDataset({ name: 't', inputShape: [2], numClasses: 3, x, y });
  assert.equal(ds.hash, expected);
  assert.equal(ds.n, 3);
  // Shape is part of the identity: the same numbers as [1, 2] are a different dataset.
  assert.notEqual(classificationHash([1, 2], 3, x, y), expected);
});

test('makeClassificationDataset rejects inconsistent parts', () => {
  const y = new Int32Array([0, 1]);
  assert.throws(() => makeClassificationDataset({ name: 't', inputShape: [3], numClasses: 2, x: new Float32Array(5), y }), ShapeError);
  assert.throws(() => makeClassificationDataset({ name: 't', inputShape: [1], numClasses: 1, x: new Float32Array(2), y }), /label 1/);
});

test('a pinned hash that differs names both hashes', () => {
  const ds = makeClassificationDataset({ name: 't', inputShape: [1], numClasses: 1, x: new Float32Array(1), y: new Int32Array(1) });
  checkPinnedHash(ds, undefined, 't');
  checkPinnedHash(ds, ds.hash.toUpperCase(), 't');
  const wrong = '0'.repeat(64);
  assert.throws(() => checkPinnedHash(ds, wrong, 't'), (e: unknown) => {
    assert.ok(e instanceof IntegrityError);
    assert.match(e.message, new RegExp(wrong));
    assert.match(e.message, new RegExp(ds.hash));
    return true;
  });
});
