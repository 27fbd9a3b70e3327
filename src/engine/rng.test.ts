import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32, rngStream, uniforms, randomBelow, permutation, randomU32s } from './rng.ts';

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, '0')).join(' ');

// Known-answer vectors published with Random123 (kat_vectors, philox4x32 with 10 rounds).
test('philox4x32-10 matches the published Random123 test vectors', () => {
  assert.equal(hex(philox4x32([0, 0, 0, 0], [0, 0])), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  assert.equal(
    hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    '408f276d 41c83b0e a20bc7c6 6d5451fd',
  );
  assert.equal(
    hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    'd16cfe09 94fdcceb 5001e420 24126ea1',
  );
});

test('streams are pure functions of (seed, name, index)', () => {
  const a = rngStream(42, 'init');
  const b = rngStream(42, 'init');
  const c = rngStream(42, 'data');
  assert.deepEqual(randomU32s(a, 5, 7), randomU32s(b, 5, 7));
  assert.notDeepEqual(randomU32s(a, 0, 8), randomU32s(c, 0, 8));
  // Reading a window gives the same numbers as reading from zero and slicing.
  assert.deepEqual(randomU32s(a, 3, 10), randomU32s(a, 0, 13).slice(3));
});

test('uniforms lie in [0,1) and look uniform', () => {
  const u = uniforms(rngStream(1, 'u'), 0, 100000);
  let sum = 0;
  for (const x of u) {
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assert.ok(Math.abs(sum / u.length - 0.5) < 0.005);
});

test('randomBelow is in range and unbiased enough; permutation is a permutation', () => {
  const s = rngStream(7, 'below');
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[randomBelow(s, i, 6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `count ${c}`);
  const p = permutation(rngStream(7, 'perm'), 1000);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(p, permutation(rngStream(7, 'perm'), 1000));
});
