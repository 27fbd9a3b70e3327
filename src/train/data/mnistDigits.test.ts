import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idxDataset, PIXEL } from './idx.ts';
import { loadMnistDigits } from './mnistDigits.ts';

// Golden identity of the built-in dataset: changes only if the mnist package or our encoding does.
const MNIST_DIGITS_HASH = '3398d4b03696c06f0f210a728ef7aa509a8876146fcca4c6575d515e8f04fb95';

test('mnist-digits: all 10,000 digits in package order, 28×28, pixel values k/255', () => {
  const ds = loadMnistDigits();
  assert.equal(ds.name, 'mnist-digits');
  assert.equal(ds.n, 10_000);
  assert.deepEqual(ds.inputShape, [1, 28, 28]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.x.length, 10_000 * 784);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < ds.n; i++) counts[ds.y[i]]++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  // Package order: labels never decrease.
  for (let i = 1; i < ds.n; i++) assert.ok(ds.y[i] >= ds.y[i - 1]);
  const levels = new Set(PIXEL);
  for (let i = 0; i < ds.x.length; i += 97) assert.ok(levels.has(ds.x[i]));
  assert.equal(ds.hash, MNIST_DIGITS_HASH);
  assert.equal(loadMnistDigits(), ds, 'cached');
});

test('mnist-digits written as IDX files loads to the same dataset hash', () => {
  const ds = loadMnistDigits();
  const img = Buffer.alloc(16 + ds.x.length);
  img.writeUInt32BE(0x803, 0); img.writeUInt32BE(ds.n, 4); img.writeUInt32BE(28, 8); img.writeUInt32BE(28, 12);
  for (let i = 0; i < ds.x.length; i++) img[16 + i] = Math.round(ds.x[i] * 255);
  const lab = Buffer.alloc(8 + ds.n);
  lab.writeUInt32BE(0x801, 0); lab.writeUInt32BE(ds.n, 4);
  for (let i = 0; i < ds.n; i++) lab[8 + i] = ds.y[i];
  assert.equal(idxDataset('idx', img, lab).hash, ds.hash);
});
