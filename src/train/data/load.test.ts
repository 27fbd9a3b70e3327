import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../../errors.ts';
import { datasetKind, loadDataset } from './load.ts';

test('builtins load by name', () => {
  const t = loadDataset({ builtin: 'tiny-text' }, { baseDir: '/' });
  assert.equal(t.kind, 'text');
  const m = loadDataset({ builtin: 'mnist-digits', sha256: '3398d4b03696c06f0f210a728ef7aa509a8876146fcca4c6575d515e8f04fb95' }, { baseDir: '/' });
  assert.equal(m.kind, 'classification');
});

test('paths resolve against baseDir; a pinned sha256 is checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-load-'));
  writeFileSync(join(dir, 'd.csv'), 'f,label\n1,0\n2,1\n');
  writeFileSync(join(dir, 'd.txt'), 'hello world');
  const csv = loadDataset({ format: 'csv', path: 'd.csv', labelColumn: 'label' }, { baseDir: dir });
  assert.equal(csv.kind, 'classification');
  assert.equal(csv.name, 'd.csv');
  const txt = loadDataset({ format: 'text', path: 'd.txt' }, { baseDir: dir });
  assert.equal(loadDataset({ format: 'text', path: join(dir, 'd.txt'), sha256: txt.hash }, { baseDir: '/elsewhere' }).hash, txt.hash);
  const wrong = 'ab'.repeat(32);
  assert.throws(
    () => loadDataset({ format: 'text', path: 'd.txt', sha256: wrong }, { baseDir: dir }),
    (e: unknown) => e instanceof IntegrityError && e.message.includes(wrong) && e.message.includes(txt.hash),
  );
});

test('datasetKind tells the kind before loading', () => {
  assert.equal(datasetKind({ builtin: 'tiny-text' }), 'text');
  assert.equal(datasetKind({ builtin: 'mnist-digits' }), 'classification');
  assert.equal(datasetKind({ format: 'idx', path: 'a', labelsPath: 'b' }), 'classification');
  assert.equal(datasetKind({ format: 'text', path: 'a' }), 'text');
});
