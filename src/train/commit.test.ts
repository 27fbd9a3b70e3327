import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CHUNK_BYTES, CHUNK_ELEMENTS, chunkOf, commitOf, elementF32, elementU32, equalBytes, openElement, subtreeRoot, tensorCommit, tensorCommits, tensorTree, verifyOpening,
} from './commit.ts';
import { getBackend, setBackend } from '../engine/kernels/current.ts';
import { createWasmBackend } from '../engine/kernels/wasm/index.ts';

const sha = (...parts: Uint8Array[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return new Uint8Array(h.digest()); };

function values(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(Math.sin(i) * 1000) || -0;
  return a;
}

test('a one-chunk tensor: root is the leaf; the commit binds the shape', () => {
  const d = new Float32Array([1, -2, 3.5]);
  const chunk = new Uint8Array(CHUNK_BYTES);
  chunk.set(new Uint8Array(d.buffer));
  const leaf = sha(new Uint8Array([0]), chunk);
  const t = tensorTree([3], d);
  assert.ok(equalBytes(t.root, leaf));
  const head = new Uint8Array([1, 0, 0, 0, 3, 0, 0, 0]);
  assert.ok(equalBytes(t.commit, sha(new Uint8Array([2]), head, leaf)));
  assert.ok(!equalBytes(tensorCommit([3, 1], d), t.commit), 'same bytes, other shape, other commit');
});

test('three chunks pad with a zero leaf to four', () => {
  const n = 2 * CHUNK_ELEMENTS + 5;
  const d = values(n);
  const L = [0, 1, 2].map((c) => sha(new Uint8Array([0]), chunkOf(d, c)));
  const Z = new Uint8Array(32);
  const node = (a: Uint8Array, b: Uint8Array) => sha(new Uint8Array([1]), a, b);
  const root = node(node(L[0], L[1]), node(L[2], Z));
  assert.ok(equalBytes(tensorTree([n], d).root, root));
  assert.ok(equalBytes(tensorCommit([n], d), commitOf([n], root)));
});

test('every element of an odd-sized tensor opens and verifies; any change fails', () => {
  const n = 5 * CHUNK_ELEMENTS + 17;
  const d = values(n);
  const shape = [n];
  const t = tensorTree(shape, d);
  for (const i of [0, 1, 255, 256, 1000, n - 1]) {
    const o = openElement(t, d, i);
    assert.ok(verifyOpening(t.commit, shape, o), `element ${i}`);
    assert.equal(elementF32(o), d[i]);
    const bad = { ...o, chunk: o.chunk.slice() };
    bad.chunk[(i % CHUNK_ELEMENTS) * 4] ^= 1;
    assert.ok(!verifyOpening(t.commit, shape, bad), `flipped bit at ${i}`);
    const other = (i + CHUNK_ELEMENTS) % n;
    assert.ok(!verifyOpening(t.commit, shape, { ...o, index: other, chunkIndex: Math.floor(other / CHUNK_ELEMENTS) }), 'chunk moved to another index');
    assert.ok(!verifyOpening(t.commit, [n + 1], o), 'wrong shape');
  }
});

test('integer tensors commit their u32 bytes', () => {
  const d = new Int32Array([5, -1, 7]);
  const t = tensorTree([3], d);
  const o = openElement(t, d, 1);
  assert.equal(elementU32(o), 0xffffffff);
  assert.ok(equalBytes(t.commit, tensorCommit([3], new Uint32Array([5, 0xffffffff, 7]))));
});

test('an empty tensor commits to a zero root', () => {
  const t = tensorTree([0, 4], new Float32Array(0));
  assert.ok(equalBytes(t.root, new Uint8Array(32)));
});

test('shape and data must agree', () => {
  assert.throws(() => tensorTree([2, 2], new Float32Array(3)), /shape \[2,2\] has 4 elements/);
});

test('tensorCommit (subtree walk) equals the full tree for sizes around every power of two', () => {
  for (const chunks of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100, 127, 128, 129, 255, 256, 257, 300, 1000]) {
    for (const extra of [0, 1, CHUNK_ELEMENTS - 1]) {
      const n = (chunks - 1) * CHUNK_ELEMENTS + 1 + extra;
      const d = values(n);
      assert.ok(equalBytes(tensorCommit([n], d), tensorTree([n], d).commit), `${n} elements`);
    }
  }
});

test('tensorCommits on two threads gives the bytes of tensorCommit, for shared and plain arrays', () => {
  const sizes = [0, 1, 300, 128 * CHUNK_ELEMENTS, 128 * CHUNK_ELEMENTS + 1, 200_000, 3 * 128 * CHUNK_ELEMENTS - 5];
  const items = sizes.map((n, i) => {
    const plain = values(n);
    if (i % 2 === 0) return { shape: [n], data: plain };
    const shared = new Float32Array(new SharedArrayBuffer(4 * n));
    shared.set(plain);
    return { shape: [n], data: shared };
  });
  for (let round = 0; round < 3; round++) {
    const got = tensorCommits(items);
    items.forEach((it, i) => assert.ok(equalBytes(got[i], tensorCommit(it.shape, it.data)), `round ${round}, ${sizes[i]} elements`));
  }
});

test('tensors in a 2-thread WASM backend are hashed on its threads, to the same bytes', async () => {
  const be = await createWasmBackend({ threads: 2 });
  const prev = getBackend();
  try {
    const sizes = [1, 300, 128 * CHUNK_ELEMENTS, 128 * CHUNK_ELEMENTS + 1, 200_000, 3 * 128 * CHUNK_ELEMENTS - 5];
    const items = sizes.map((n) => {
      const data = be.alloc(n);
      data.set(values(n));
      return { shape: [n], data };
    });
    const bytes = (d: Float32Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    const task = (d: Float32Array) => ({ bytes: bytes(d), chunks: Math.ceil(d.length / CHUNK_ELEMENTS), first: 0, height: 0 });
    // The backend takes tensors in its memory, and refuses others (tensorCommits then uses its helper).
    assert.ok(be.subtreeRoots!([task(items[0].data), task(items[1].data)]));
    assert.equal(be.subtreeRoots!([task(items[0].data), task(values(10))]), null);
    // More tasks than one pool job takes (4,095): one leaf each, against subtreeRoot on this thread.
    const big = be.alloc(4100 * CHUNK_ELEMENTS);
    big.set(values(big.length));
    const leaves = Array.from({ length: 4100 }, (_, c) => ({ bytes: bytes(big), chunks: 4100, first: c, height: 0 }));
    const roots = be.subtreeRoots!(leaves)!;
    for (const c of [0, 1, 4094, 4095, 4096, 4099]) assert.ok(equalBytes(roots.subarray(32 * c, 32 * c + 32), subtreeRoot(bytes(big), 4100, c, 0)), `leaf ${c}`);
    setBackend(be);
    for (let round = 0; round < 3; round++) {
      be.idle!(); // a parked pool still takes the next job
      const got = tensorCommits(items);
      items.forEach((it, i) => assert.ok(equalBytes(got[i], tensorCommit(it.shape, it.data)), `round ${round}, ${sizes[i]} elements`));
    }
  } finally {
    setBackend(prev);
    await be.close();
  }
});
