import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationBatch, classificationIndices, dataCursor, epochPermutation, textBatch } from './batch.ts';
import { makeClassificationDataset } from './dataset.ts';
import { loadMnistDigits } from './mnistDigits.ts';
import { splitDataset } from './split.ts';
import { textDataset } from './text.ts';

function toy(n: number) {
  const x = Float32Array.from({ length: n * 3 }, (_, i) => Math.floor(i / 3));
  const y = Int32Array.from({ length: n }, (_, i) => i % 4);
  return makeClassificationDataset({ name: 'toy', inputShape: [3], numClasses: 4, x, y });
}

test('batches are pure: same (seed, step, data) → same batch, other seed → other order', () => {
  const ds = toy(40);
  const a = classificationBatch(ds, { seed: 7, batchSize: 8, step: 3 });
  const b = classificationBatch(ds, { seed: 7, batchSize: 8, step: 3 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(classificationBatch(ds, { seed: 8, batchSize: 8, step: 3 }).indices, a.indices);
  for (let r = 0; r < 8; r++) {
    const i = a.indices[r];
    assert.deepEqual([...a.x.subarray(3 * r, 3 * r + 3)], [i, i, i]);
    assert.equal(a.y[r], i % 4);
  }
});

test('the example sequence is the concatenation of per-epoch permutations, straddling epochs', () => {
  const n = 10, B = 4, seed = 3;
  const ds = toy(n);
  const seq: number[] = [];
  for (let step = 0; step < 5; step++) seq.push(...classificationBatch(ds, { seed, batchSize: B, step }).indices);
  const expected = [...epochPermutation(seed, ds.hash, n, 0), ...epochPermutation(seed, ds.hash, n, 1)];
  assert.deepEqual(seq, expected);
  // Each epoch visits every example exactly once.
  assert.deepEqual([...seq.slice(0, 10)].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.deepEqual([...seq.slice(10, 20)].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.notDeepEqual(seq.slice(0, 10), seq.slice(10, 20));
  // Step 2 covers positions 8..11: the last two of epoch 0 and the first two of epoch 1.
  assert.equal(classificationBatch(ds, { seed, batchSize: B, step: 2 }).epoch, 0);
  assert.equal(classificationBatch(ds, { seed, batchSize: B, step: 3 }).epoch, 1);
});

test('golden: the first mnist batch of seed 1', () => {
  const { train } = splitDataset(loadMnistDigits(), 0.2);
  const b = classificationBatch(train, { seed: 1, batchSize: 64, step: 0 });
  assert.equal(b.x.length, 64 * 784);
  assert.deepEqual([...b.indices.subarray(0, 8)], GOLDEN_FIRST_INDICES);
});
const GOLDEN_FIRST_INDICES = [7570, 5772, 3951, 1247, 7524, 1476, 5145, 28];

test('classificationIndices are the batch\'s indices and epoch without the example data, across epoch boundaries', () => {
  const { train } = splitDataset(loadMnistDigits(), 0.2);
  const B = 64;
  const boundary = Math.floor(train.n / B); // this batch straddles the end of epoch 0
  for (const step of [0, 1, boundary - 1, boundary, boundary + 1, 3 * boundary + 2]) {
    const b = classificationBatch(train, { seed: 3, batchSize: B, step });
    const ix = classificationIndices(train, { seed: 3, batchSize: B, step });
    assert.deepEqual(ix.indices, b.indices, `step ${step}`);
    assert.equal(ix.epoch, b.epoch);
  }
});

test('text batches: windows from the rng, targets shifted by one', () => {
  const ds = textDataset('t', 'the quick brown fox jumps over the lazy dog, again and again.');
  const opts = { seed: 5, batchSize: 4, context: 8, step: 2 };
  const a = textBatch(ds, opts);
  assert.deepEqual(a, textBatch(ds, opts));
  assert.notDeepEqual(textBatch(ds, { ...opts, step: 3 }).starts, a.starts);
  for (let r = 0; r < 4; r++) {
    const s = a.starts[r];
    assert.ok(s + 8 < ds.tokens.length);
    assert.deepEqual([...a.x.subarray(8 * r, 8 * r + 8)], [...ds.tokens.subarray(s, s + 8)]);
    assert.deepEqual([...a.y.subarray(8 * r, 8 * r + 8)], [...ds.tokens.subarray(s + 1, s + 9)]);
  }
  assert.throws(() => textBatch(textDataset('t', 'abc'), { ...opts, context: 3 }), /fewer than context \+ 1/);
});

test('data cursor: step plus a display epoch', () => {
  assert.deepEqual(dataCursor(toy(10), { batchSize: 4, step: 5 }), { step: 5, epoch: 2 });
  assert.deepEqual(dataCursor(textDataset('t', 'abcdefghij'), { batchSize: 2, context: 5, step: 3 }), { step: 3, epoch: 3 });
});

test('bad arguments are InputErrors', () => {
  assert.throws(() => classificationBatch(toy(4), { seed: 1, batchSize: 0, step: 0 }), /batchSize/);
  assert.throws(() => classificationBatch(toy(4), { seed: 1, batchSize: 2, step: -1 }), /step/);
  assert.throws(() => classificationBatch(toy(4), { seed: 1.5, batchSize: 2, step: 0 }), /seed/);
});
