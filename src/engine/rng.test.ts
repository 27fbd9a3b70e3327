import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32, rngStream, uniforms, randomBelow, permutation, randomU32s, normals } from './rng.ts';
import { cos2pif, logf } from './math.ts';

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

test('normals: a pure function of (stream, index); windows agree with reading from 0', () => {
  const s = rngStream(3, 'normals');
  const a = normals(s, 0, 4096);
  assert.deepEqual(a, normals(rngStream(3, 'normals'), 0, 4096));
  assert.deepEqual(normals(s, 1001, 77), a.slice(1001, 1078));
  assert.deepEqual(normals(s, 5, 1), a.slice(5, 6));
  const out = new Float32Array(10);
  assert.equal(normals(s, 20, 10, out), out);
  assert.deepEqual(out, a.slice(20, 30));
  assert.notDeepEqual(normals(rngStream(4, 'normals'), 0, 64), a.slice(0, 64));
});

test('normals: value i is Box–Muller on uniforms 2i and 2i+1, through math.ts only', () => {
  const s = rngStream(11, 'bm');
  const u = uniforms(s, 0, 2000);
  const z = normals(s, 0, 1000);
  for (let i = 0; i < 1000; i++) {
    const r = Math.fround(Math.sqrt(Math.fround(-2 * logf(Math.fround(1 - u[2 * i])))));
    assert.ok(Object.is(z[i], Math.fround(r * cos2pif(u[2 * i + 1]))), `normal ${i}`);
  }
});

test('normals look standard normal: mean 0, std 1, tails and symmetry', () => {
  const n = 200000;
  const z = normals(rngStream(5, 'stats'), 0, n);
  let sum = 0, sq = 0, within1 = 0, within2 = 0, pos = 0, maxAbs = 0;
  for (const x of z) {
    assert.ok(Number.isFinite(x));
    sum += x;
    sq += x * x;
    const a = Math.abs(x);
    if (a < 1) within1++;
    if (a < 2) within2++;
    if (x > 0) pos++;
    if (a > maxAbs) maxAbs = a;
  }
  const mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`); // 4.5 sigma of the sample mean
  assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);
  assert.ok(Math.abs(within1 / n - 0.6827) < 0.005, `P(|z|<1) = ${within1 / n}`);
  assert.ok(Math.abs(within2 / n - 0.9545) < 0.003, `P(|z|<2) = ${within2 / n}`);
  assert.ok(Math.abs(pos / n - 0.5) < 0.005, `P(z>0) = ${pos / n}`);
  // u1 = 1 - U is never 0 and at least 2^-24, so |z| <= sqrt(-2 ln 2^-24) = 5.77
  assert.ok(maxAbs <= 5.78 && maxAbs > 3.5, `max |z| ${maxAbs}`);
});
