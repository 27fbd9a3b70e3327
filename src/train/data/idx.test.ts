import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../../errors.ts';
import { idxDataset, loadIdx, PIXEL } from './idx.ts';

function idxImages(n: number, rows: number, cols: number, pixels: number[]): Uint8Array {
  const b = Buffer.alloc(16 + pixels.length);
  b.writeUInt32BE(0x00000803, 0);
  b.writeUInt32BE(n, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  b.set(pixels, 16);
  return new Uint8Array(b);
}

function idxLabels(labels: number[]): Uint8Array {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x00000801, 0);
  b.writeUInt32BE(labels.length, 4);
  b.set(labels, 8);
  return new Uint8Array(b);
}

const pixels = [0, 255, 51, 128, 1, 2, 3, 4, 5, 6, 7, 8]; // 3 images of 2×2

test('reads IDX images and labels from files; pixels are f32(p/255)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-idx-'));
  writeFileSync(join(dir, 'img'), idxImages(3, 2, 2, pixels));
  writeFileSync(join(dir, 'lab'), idxLabels([7, 0, 3]));
  const ds = loadIdx(join(dir, 'img'), join(dir, 'lab'), { numClasses: 10 });
  assert.equal(ds.kind, 'classification');
  assert.equal(ds.n, 3);
  assert.deepEqual(ds.inputShape, [1, 2, 2]);
  assert.equal(ds.numClasses, 10);
  assert.deepEqual([...ds.y], [7, 0, 3]);
  assert.equal(ds.x[0], 0);
  assert.equal(ds.x[1], 1);
  assert.equal(ds.x[2], Math.fround(0.2));
  assert.equal(ds.x[3], Math.fround(128 / 255));
  assert.equal(PIXEL[128], Math.fround(128 / 255));
  // Default class count: largest label + 1.
  assert.equal(loadIdx(join(dir, 'img'), join(dir, 'lab')).numClasses, 8);
});

test('gzipped IDX files load to the same dataset', () => {
  const a = idxDataset('a', idxImages(3, 2, 2, pixels), idxLabels([1, 2, 0]));
  const b = idxDataset('b', gzipSync(idxImages(3, 2, 2, pixels)), gzipSync(idxLabels([1, 2, 0])));
  assert.equal(a.hash, b.hash);
});

test('bad magic, truncation and count mismatches are InputErrors', () => {
  const img = idxImages(3, 2, 2, pixels);
  const lab = idxLabels([1, 2, 0]);
  const swapped = () => idxDataset('t', idxLabels(new Array(12).fill(0)), img);
  assert.throws(swapped, (e: unknown) => e instanceof InputError && /magic 00 00 08 01, expected 00 00 08 03/.test(e.message));
  assert.throws(() => idxDataset('t', img.subarray(0, img.length - 1), lab), /holds 11 data bytes but its header \[3, 2, 2\] says 12/);
  assert.throws(() => idxDataset('t', img, idxLabels([1, 2])), /3 images but 2 labels/);
  assert.throws(() => idxDataset('t', img.subarray(0, 10), lab), /too short/);
  assert.throws(() => idxDataset('t', img, lab, { numClasses: 2 }), /label 2 does not fit 2 classes/);
  assert.throws(() => loadIdx('/nonexistent/img', '/nonexistent/lab'), InputError);
});
