import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeClassificationDataset } from './dataset.ts';
import { loadMnistDigits } from './mnistDigits.ts';
import { splitDataset, splitHash } from './split.ts';
import { textDataset } from './text.ts';

function toy(n: number) {
  const x = Float32Array.from({ length: n * 2 }, (_, i) => i);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return makeClassificationDataset({ name: 'toy', inputShape: [2], numClasses: 3, x, y });
}

test('classification split: disjoint, complete, sized by round(n*f), in source order, repeatable', () => {
  const ds = toy(101);
  const { train, test: held } = splitDataset(ds, 0.2);
  assert.equal(held.n, 20);
  assert.equal(train.n, 81);
  const rowOf = (x: Float32Array, i: number) => x[2 * i] / 2;
  const trainRows = Array.from({ length: train.n }, (_, i) => rowOf(train.x, i));
  const testRows = Array.from({ length: held.n }, (_, i) => rowOf(held.x, i));
  assert.deepEqual([...trainRows, ...testRows].sort((a, b) => a - b), Array.from({ length: 101 }, (_, i) => i));
  assert.deepEqual(trainRows, [...trainRows].sort((a, b) => a - b));
  for (let i = 0; i < train.n; i++) assert.equal(train.y[i], trainRows[i] % 3);
  const again = splitDataset(ds, 0.2);
  assert.deepEqual(again.train.x, train.x);
  assert.equal(again.train.hash, train.hash);
  assert.equal(train.hash, splitHash(ds.hash, 'train', 0.2));
  assert.notEqual(train.hash, held.hash);
  assert.notEqual(splitDataset(ds, 0.3).train.hash, train.hash);
  assert.equal(train.name, 'toy:train');
});

test('the split depends on the dataset hash: different data, different held-out rows', () => {
  const a = toy(50);
  const b = makeClassificationDataset({ ...a, name: 'b', x: a.x.map((v) => v + 0.5) });
  const rows = (ds: typeof a) => Array.from(splitDataset(ds, 0.5).test.x.filter((_, i) => i % 2 === 0), (v) => Math.floor(v / 2));
  assert.notDeepEqual(rows(a), rows(b));
});

test('mnist-digits splits 8,000 / 2,000 with a fixed identity', () => {
  const { train, test: held } = splitDataset(loadMnistDigits(), 0.2);
  assert.equal(train.n, 8000);
  assert.equal(held.n, 2000);
  assert.equal(train.hash, 'c0e32c4ffe604317c75bb93fdb4a7bf81d9e155149a09f0bb06bfac781cace50');
  const counts = new Array(10).fill(0);
  for (const c of held.y) counts[c]++;
  for (const c of counts) assert.ok(c > 120 && c < 290, `class balance ${counts}`);
});

test('text split: the last testFraction of the tokens is held out, vocab shared', () => {
  const ds = textDataset('t', 'abcdefghij');
  const { train, test: held } = splitDataset(ds, 0.3);
  assert.deepEqual([...train.tokens], [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...held.tokens], [7, 8, 9]);
  assert.deepEqual(held.vocab, ds.vocab);
  assert.throws(() => splitDataset(ds, 1), /testFraction/);
  assert.throws(() => splitDataset(ds, -0.1), /testFraction/);
  assert.equal(splitDataset(ds, 0).test.tokens.length, 0);
});
