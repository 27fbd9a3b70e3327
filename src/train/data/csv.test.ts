import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../errors.ts';
import { csvDataset, loadCsv } from './csv.ts';

test('parses features in header order and the named label column', () => {
  const ds = csvDataset('t', 'a,label,"b"\r\n1.5,2,-3\n\n0.1,0,4e2\n', { labelColumn: 'label' });
  assert.deepEqual(ds.inputShape, [2]);
  assert.equal(ds.n, 2);
  assert.equal(ds.numClasses, 3);
  assert.deepEqual([...ds.x], [1.5, -3, Math.fround(0.1), 400]);
  assert.deepEqual([...ds.y], [2, 0]);
});

test('reads a file; the hash depends on the values, not on their spelling', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-csv-'));
  writeFileSync(join(dir, 'a.csv'), 'x,y\n1,0\n2.0,1\n');
  const a = loadCsv(join(dir, 'a.csv'), { labelColumn: 'y' });
  const b = csvDataset('b', 'x , y\n1.000, 0\n  2e0 ,1', { labelColumn: 'y' });
  assert.equal(a.hash, b.hash);
});

test('clear errors: ragged rows, non-numbers, bad labels, missing column', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => csvDataset('t.csv', text, { labelColumn: 'y' }), (e: unknown) => e instanceof InputError && re.test(e.message));
  bad('x,y\n1,0\n2,1,3\n', /t\.csv line 3 has 3 fields, the header has 2/);
  bad('x,y\n1,0\n2\n', /line 3 has 1 fields/);
  bad('x,y\nabc,0\n', /line 2: "abc" in column "x" is not a number/);
  bad('x,y\n,0\n', /"" in column "x" is not a number/);
  bad('x,y\n1e999,0\n', /not a number/);
  bad('x,y\n1,cat\n', /label "cat" in column "y" is not a class id/);
  bad('x,y\n1,-1\n', /not a class id/);
  bad('x,z\n1,0\n', /has no column "y"/);
  bad('x,y\n', /no rows/);
  bad('', /empty/);
  bad('x,y\n"1,0\n', /unterminated/);
  assert.throws(() => csvDataset('t', 'x,y\n1,2\n', { labelColumn: 'y', numClasses: 2 }), /label 2 does not fit 2 classes/);
});
