import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.ts';
import { decodeTokens, loadTinyText, textDataset, TINY_TEXT_PATH } from './text.ts';

const TINY_TEXT_HASH = '73fad0c7a3645ae32cb53ba40912002d45ec7822611228625dcd716e353b6316';

test('vocab is the sorted set of code points; tokens index it; hash is SHA-256 of the UTF-8 bytes', () => {
  const text = 'baa\nab😀é';
  const ds = textDataset('t', text);
  assert.deepEqual(ds.vocab, ['\n', 'a', 'b', 'é', '😀']);
  assert.deepEqual([...ds.tokens], [2, 1, 1, 0, 1, 2, 4, 3]);
  assert.equal(decodeTokens(ds.vocab, ds.tokens), text);
  assert.equal(ds.hash, createHash('sha256').update(text, 'utf8').digest('hex'));
  // Code point order, not UTF-16 order: U+FF01 sorts before U+1F600 although its unit is larger.
  assert.deepEqual(textDataset('t', '😀！').vocab, ['！', '😀']);
});

test('invalid UTF-8 and too-short text are InputErrors', () => {
  assert.throws(() => textDataset('t', new Uint8Array([0x61, 0xff, 0x62])), InputError);
  assert.throws(() => textDataset('t', 'a'), InputError);
});

test('tiny-text is the bundled public-domain excerpt with a fixed hash', () => {
  const ds = loadTinyText();
  assert.equal(ds.name, 'tiny-text');
  assert.equal(ds.hash, TINY_TEXT_HASH);
  assert.equal(ds.hash, createHash('sha256').update(readFileSync(TINY_TEXT_PATH)).digest('hex'));
  assert.equal(ds.tokens.length, 47_198);
  assert.ok(ds.vocab.length > 40 && ds.vocab.length < 100);
  assert.ok(decodeTokens(ds.vocab, ds.tokens.subarray(0, 14)) === 'First Citizen:');
});
