// The WASM backend must equal matmulReference bit for bit: every shape, flag, offset, stride and
// thread count. NaN outputs are compared as "both NaN", and ours must be the canonical 0x7fc00000.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MatmulParams } from '../backend.ts';
import { matmulReference } from '../reference.ts';
import { rngStream, subStream, randomBelow, type RngStream } from '../../rng.ts';
import { assertSameBits, values, valuesWithSpecials } from './check.ts';
import { ShapeError } from '../../../errors.ts';
import { createWasmBackend, createWasmBackendSync, type WasmBackend } from './index.ts';

// Every call split across threads (parallelMinFlops 0), and one backend with default tuning.
const backends: WasmBackend[] = [];
for (const threads of [1, 2, 4]) backends.push(await createWasmBackend({ threads, tuning: { parallelMinFlops: 0 } }));
backends.push(await createWasmBackend({ threads: 2 }));
after(async () => { for (const be of backends) await be.close(); });

interface Case extends MatmulParams {
  aLen: number;
  bLen: number;
}

function makeCase(p: Omit<MatmulParams, 'aOffset' | 'bOffset' | 'aBatchStride' | 'bBatchStride'> & Partial<MatmulParams>): Case {
  const full: MatmulParams = {
    aOffset: 0, bOffset: 0, aBatchStride: p.M * p.K, bBatchStride: p.K * p.N, ...p,
  };
  const aLen = full.aOffset + Math.max(0, full.batch - 1) * full.aBatchStride + full.M * full.K;
  const bLen = full.bOffset + Math.max(0, full.batch - 1) * full.bBatchStride + full.K * full.N;
  return { ...full, aLen, bLen };
}

/** Plain arrays (copied into kernel memory per call) and, for every other case, operands in the heap (used in place). */
function check(c: Case, s: RngStream, specials: boolean, bes: WasmBackend[] = backends): void {
  const gen = specials ? valuesWithSpecials : values;
  const a = gen(s, 0, c.aLen + 3); // a little slack past the end: it must not matter
  const b = gen(s, 1 << 24, c.bLen + 5);
  const ref = new Float32Array(c.batch * c.M * c.N);
  matmulReference(a, b, ref, c);
  for (const be of bes) {
    for (const resident of [false, true]) {
      const m = be.mark();
      const put = (x: Float32Array): Float32Array => { if (!resident) return x; const y = be.temp(x.length); y.set(x); return y; };
      const out = put(new Float32Array(ref.length).fill(12345));
      be.matmul(put(a), put(b), out, c);
      assertSameBits(ref, out, `${be.name} resident=${resident} ${JSON.stringify({ ...c, aLen: undefined, bLen: undefined, bias: c.bias ? c.bias.length : undefined })}`);
      be.release(m);
    }
  }
}

const ODD = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65];

test('odd sizes, all transpose flags, every thread count', () => {
  const s = rngStream(1, 'wasm-test/odd');
  let n = 0;
  for (const M of [1, 3, 4, 7, 17, 65])
    for (const K of [0, 1, 3, 7, 17, 63])
      for (const N of [1, 3, 8, 9, 17, 65])
        for (let f = 0; f < 4; f++) check(makeCase({ batch: 1, M, K, N, transA: (f & 1) === 1, transB: (f & 2) === 2 }), subStream(s, n++), false);
});

test('random shapes, offsets and batch strides (dense, broadcast, gapped, overlapping)', () => {
  const s = rngStream(2, 'wasm-test/random');
  const pick = (i: number, arr: number[]): number => arr[randomBelow(s, i, arr.length)];
  for (let t = 0; t < 250; t++) {
    const base = t * 16;
    const batch = pick(base, [1, 1, 2, 3, 5]);
    const M = pick(base + 1, ODD), K = pick(base + 2, [0, ...ODD]), N = pick(base + 3, ODD);
    const strideKind = (size: number, i: number): number => [size, 0, size + 3, Math.max(1, size - 2), size][randomBelow(s, i, 5)];
    const c = makeCase({
      batch, M, K, N,
      transA: randomBelow(s, base + 4, 2) === 1, transB: randomBelow(s, base + 5, 2) === 1,
      aOffset: randomBelow(s, base + 6, 7), bOffset: randomBelow(s, base + 7, 7),
      aBatchStride: strideKind(M * K, base + 8), bBatchStride: strideKind(K * N, base + 9),
    });
    check(c, subStream(s, t), false);
  }
});

test('special values: ±0, subnormals, huge and tiny magnitudes, overflow to ±Inf and NaN', () => {
  const s = rngStream(3, 'wasm-test/specials');
  for (let t = 0; t < 60; t++) {
    const M = ODD[t % ODD.length], K = ODD[(t * 7) % ODD.length], N = ODD[(t * 5 + 3) % ODD.length];
    check(makeCase({ batch: 1 + (t % 2), M, K, N, transA: t % 3 === 0, transB: t % 4 === 1 }), subStream(s, t), true);
  }
  // Row 0: products overflow to +Inf and -Inf, whose sum is NaN. Row 1: exact cancellation to +0.
  const a = new Float32Array([3e38, 3e38, 1, 1]);
  const b = new Float32Array([10, -10]);
  const ref = new Float32Array(2);
  const p: MatmulParams = { batch: 1, M: 2, K: 2, N: 1, transA: false, transB: false, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 };
  matmulReference(a, b, ref, p);
  for (const be of backends) {
    const out = new Float32Array(2);
    be.matmul(a, b, out, p);
    assertSameBits(ref, out, be.name);
    assert.ok(Number.isNaN(out[0]));
    assert.ok(Object.is(out[1], 0));
  }
});

test('a bias added in the store (linear): odd sizes, specials, every thread count', () => {
  const s = rngStream(8, 'wasm-test/bias');
  let n = 0;
  for (const M of [1, 4, 7, 65, 130])
    for (const K of [0, 1, 9, 64])
      for (const N of [1, 8, 9, 17, 65, 130]) {
        const c = makeCase({ batch: 1, M, K, N, transA: (n & 1) === 1, transB: (n & 2) === 2 });
        const bias = (n % 3 === 0 ? valuesWithSpecials : values)(subStream(s, 1000 + n), 0, N + 2);
        check({ ...c, bias }, subStream(s, n++), n % 4 === 0);
      }
});

test('training shapes: MLP layers and their backward forms, batched attention', () => {
  const s = rngStream(4, 'wasm-test/training');
  const shapes: Parameters<typeof makeCase>[0][] = [
    { batch: 1, M: 64, K: 784, N: 256, transA: false, transB: false }, // X·W
    { batch: 1, M: 784, K: 64, N: 256, transA: true, transB: false }, // dW = Xᵀ·dY
    { batch: 1, M: 64, K: 256, N: 784, transA: false, transB: true }, // dX = dY·Wᵀ
    { batch: 1, M: 64, K: 256, N: 10, transA: false, transB: false }, // output layer: few columns
    { batch: 1, M: 130, K: 33, N: 5, transA: true, transB: true }, // split by rows
    { batch: 8, M: 64, K: 32, N: 64, transA: false, transB: true }, // Q·Kᵀ per head
    { batch: 8, M: 64, K: 64, N: 32, transA: false, transB: false }, // P·V per head
    { batch: 6, M: 64, K: 32, N: 128, transA: false, transB: false, bBatchStride: 0 }, // shared weights
  ];
  shapes.forEach((sh, i) => check(makeCase(sh), subStream(s, i), false));
});

test('results do not depend on tuning (group size, k block, split threshold)', () => {
  const tuned = [
    createWasmBackendSync({ threads: 1, tuning: { groupBytes: 1 } }),
    createWasmBackendSync({ threads: 3, tuning: { groupBytes: 4096, parallelMinFlops: 0 } }),
    // k in blocks: each block continues the sums the previous ones left in C (edge tiles too)
    createWasmBackendSync({ threads: 1, tuning: { kBlock: 4 } }),
    createWasmBackendSync({ threads: 2, tuning: { kBlock: 7, groupBytes: 2048, parallelMinFlops: 0 } }),
  ];
  try {
    const s = rngStream(5, 'wasm-test/tuning');
    check(makeCase({ batch: 2, M: 37, K: 129, N: 71, transA: true, transB: false }), s, false, tuned);
    check(makeCase({ batch: 1, M: 9, K: 300, N: 200, transA: false, transB: true }), s, true, tuned);
    for (let f = 0; f < 4; f++) {
      check(makeCase({ batch: 1, M: 13, K: 37, N: 19, transA: (f & 1) === 1, transB: (f & 2) === 2 }), subStream(s, 10 + f), true, tuned);
      check({ ...makeCase({ batch: 3, M: 6, K: 23, N: 10, transA: (f & 1) === 1, transB: (f & 2) === 2 }), bias: values(subStream(s, 20 + f), 0, 10) }, subStream(s, 30 + f), f === 1, tuned);
    }
  } finally {
    for (const be of tuned) void be.close();
  }
});

test('C is overwritten, inputs are untouched, and C may alias an input', () => {
  const s = rngStream(6, 'wasm-test/alias');
  const a = values(s, 0, 48), b = values(s, 100, 48);
  const a0 = a.slice(), b0 = b.slice();
  const p: MatmulParams = { batch: 1, M: 4, K: 12, N: 4, transA: false, transB: true, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 };
  const ref = new Float32Array(16);
  matmulReference(a, b, ref, p);
  for (const be of backends) {
    const out = new Float32Array(16).fill(NaN);
    be.matmul(a, b, out, p);
    assertSameBits(ref, out, be.name);
    assert.deepEqual(a, a0);
    assert.deepEqual(b, b0);
    const aa = a.slice();
    be.matmul(aa, b, aa.subarray(0, 16), p); // C written over the first 16 elements of A
    assertSameBits(ref, aa.subarray(0, 16), `${be.name} aliased`);
    const ha = be.alloc(48);
    ha.set(a);
    be.matmul(ha, b, ha.subarray(8, 24), p); // in kernel memory: C overlaps A, so it is written after
    assertSameBits(ref, ha.subarray(8, 24), `${be.name} aliased in kernel memory`);
  }
});

test('bad shapes throw ShapeError', () => {
  const be = backends[0];
  const p: MatmulParams = { batch: 2, M: 3, K: 4, N: 5, transA: false, transB: false, aOffset: 0, bOffset: 0, aBatchStride: 12, bBatchStride: 20 };
  assert.throws(() => be.matmul(new Float32Array(23), new Float32Array(40), new Float32Array(30), p), ShapeError);
  assert.throws(() => be.matmul(new Float32Array(24), new Float32Array(39), new Float32Array(30), p), ShapeError);
  assert.throws(() => be.matmul(new Float32Array(24), new Float32Array(40), new Float32Array(29), p), ShapeError);
  assert.throws(() => be.matmul(new Float32Array(24), new Float32Array(40), new Float32Array(30), { ...p, M: -1 }), ShapeError);
  assert.throws(() => be.matmul(new Float32Array(24), new Float32Array(40), new Float32Array(30), { ...p, K: 1.5 }), ShapeError);
  be.matmul(new Float32Array(24), new Float32Array(40), new Float32Array(30), p); // exact lengths are fine
});

test('a process with an unclosed multi-threaded backend still exits', () => {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `
    import { getDefaultBackend, createWasmBackendSync } from ${JSON.stringify(index)};
    const be = createWasmBackendSync({ threads: 3, tuning: { parallelMinFlops: 0 } });
    const c = new Float32Array(64 * 64);
    const p = { batch: 1, M: 64, K: 64, N: 64, transA: false, transB: false, aOffset: 0, bOffset: 0, aBatchStride: 0, bBatchStride: 0 };
    be.matmul(new Float32Array(4096).fill(1), new Float32Array(4096).fill(2), c, p);
    getDefaultBackend().matmul(new Float32Array(4096).fill(1), new Float32Array(4096).fill(2), c, p);
    console.log(c[0], c[4095]);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '128 128');
});
