// The elementwise WASM kernels must equal the reference programs bit for bit: every op and operand
// pattern, every length modulo 4, special values (±0, subnormals, ±Inf, NaN, every branch point of
// exp/log/tanh), a strided sweep over all binary32 bit patterns, and 1, 2 and 4 threads with every
// call split. Operands live in the backend's heap (the kernels' path); plain arrays take the
// reference path and must give the same bits too. NaN outputs must be the canonical 0x7fc00000.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AdamwConstants, Backend, BinaryOp, Broadcast, ReduceOp, UnaryOp } from '../backend.ts';
import {
  adamwReference, allFiniteReference, binaryReference, col2imReference, gatherRowsReference, im2colReference, gatherStridedReference, scatterAddRowsReference, geluBackwardReference, geluReference, reduceReference, sgdReference, sumAllReference,
  layerNormBackwardReference, layerNormReference, softmaxBackwardReference, softmaxReference, sumSquaresReference, unaryReference,
} from '../reference.ts';
import { rngStream, subStream, uniforms, randomBelow } from '../../rng.ts';
import { ShapeError } from '../../../errors.ts';
import { createWasmBackend, type WasmBackend } from './index.ts';
import { assertSameBits, SPECIALS, values, valuesWithSpecials } from './check.ts';

const f = Math.fround;
const backends: WasmBackend[] = [];
for (const threads of [1, 2, 4]) backends.push(await createWasmBackend({ threads, tuning: { parallelMinWork: 0 } }));
backends.push(await createWasmBackend({ threads: 2 })); // default split thresholds
after(async () => { for (const be of backends) await be.close(); });
const root = rngStream(7, 'vec-kernel-test');
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 31, 257, 1000, 4099];

/** `src` copied into the backend's heap (the kernels' path) or into a plain array (reference path). */
function operand(be: WasmBackend, src: Float32Array, resident: boolean): Float32Array {
  const a = resident ? be.alloc(src.length) : new Float32Array(src.length);
  a.set(src);
  return a;
}

const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'greater'];

/** The operand patterns of the binary kernels: same shape, scalar either side, bias rows, per-row columns. */
function patterns(n: number): { name: string; ba: Broadcast; bb: Broadcast; aLen: number; bLen: number }[] {
  const out = [
    { name: 'vv', ba: { mid: n, inner: 1 }, bb: { mid: n, inner: 1 }, aLen: n, bLen: n },
    { name: 'vs', ba: { mid: n, inner: 1 }, bb: { mid: 1, inner: 1 }, aLen: n, bLen: 1 },
    { name: 'sv', ba: { mid: 1, inner: 1 }, bb: { mid: n, inner: 1 }, aLen: 1, bLen: n },
  ];
  for (const mid of [1, 3, 4, 5, 16, 65]) if (n % mid === 0 && mid < n) out.push({ name: `row${mid}`, ba: { mid: n, inner: 1 }, bb: { mid, inner: 1 }, aLen: n, bLen: mid });
  for (const inner of [2, 3, 4, 7, 64, 65]) {
    if (n % inner !== 0 || inner >= n) continue;
    const rows = n / inner;
    for (const mid of new Set([rows, Math.max(1, rows >> 1)])) if (rows % mid === 0) out.push({ name: `col${inner}x${mid}`, ba: { mid: n, inner: 1 }, bb: { mid, inner }, aLen: n, bLen: mid });
  }
  return out;
}

test('binary ops: every op and operand pattern, any length, specials, 1/2/4 threads, resident or not', () => {
  let cases = 0;
  for (const n of [...LENGTHS, 4096, 65 * 12, 64 * 33]) {
    for (const p of patterns(n)) {
      for (const specials of [false, true]) {
        const s = subStream(root, `bin-${n}-${p.name}-${specials}`);
        const gen = specials ? valuesWithSpecials : values;
        const a = gen(s, 0, p.aLen), b = gen(s, 1 << 20, p.bLen);
        if (specials) {
          // NaN and ±Inf operands, and operations that make NaN (Inf - Inf, 0 / 0, 0 * Inf).
          for (let i = 0; i < p.aLen; i += 11) a[i] = [NaN, Infinity, -Infinity, 0][(i / 11) % 4];
          for (let i = 3; i < p.bLen; i += 13) b[i] = [Infinity, 0, -0, NaN][((i - 3) / 13) % 4];
        }
        for (const op of BINARY) {
          const ref = new Float32Array(n);
          binaryReference(op, a, p.ba, b, p.bb, ref);
          for (const be of backends) {
            for (const resident of [true, false]) {
              const out = operand(be, new Float32Array(n).fill(7), resident);
              be.binary(op, operand(be, a, resident), p.ba, operand(be, b, resident), p.bb, out);
              assertSameBits(ref, out, `${be.name} ${op} ${p.name} n=${n} specials=${specials} resident=${resident}`, resident);
              cases++;
            }
          }
        }
      }
    }
  }
  assert.ok(cases > 3000, `${cases} cases`);
});

test('binary ops in place (out is an operand)', () => {
  const s = subStream(root, 'bin-inplace');
  const n = 1001;
  const a = values(s, 0, n), b = values(s, n, n);
  for (const be of backends) {
    for (const op of BINARY) {
      const ref = new Float32Array(n);
      binaryReference(op, a, { mid: n, inner: 1 }, b, { mid: n, inner: 1 }, ref);
      const x = operand(be, a, true);
      be.binary(op, x, { mid: n, inner: 1 }, operand(be, b, true), { mid: n, inner: 1 }, x);
      assertSameBits(ref, x, `${be.name} ${op} in place`);
    }
  }
});

/** Inputs that hit every branch of the scalar programs, plus random values of wide range. */
function unaryInputs(op: UnaryOp, s: ReturnType<typeof rngStream>): Float32Array {
  const xs: number[] = [...SPECIALS, NaN, Infinity, -Infinity, -0, 0];
  const around = (c: number, w: number, k: number) => { for (let i = -k; i <= k; i++) xs.push(c + (w * i) / k, -(c + (w * i) / k)); };
  const bits = new Uint32Array(1), fl = new Float32Array(bits.buffer);
  const neighbours = (c: number, k: number) => { fl[0] = c; const b0 = bits[0]; for (let i = -k; i <= k; i++) { bits[0] = b0 + i; xs.push(fl[0]); } };
  if (op === 'exp') {
    for (const c of [-104, -103.97, -87.33, -87.0, -86.99, 88.0, 88.38, 88.72, 89, 0, 0.3466, -0.3466]) { around(c, 0.05, 40); neighbours(c, 20); }
    around(0, 110, 4000);
  } else if (op === 'log') {
    for (const c of [1, Math.SQRT2, 1.4142135381698608, 0.5, 2, 1.1754943508222875e-38, 1e-45, 3.4e38]) { around(c, c * 0.01, 40); neighbours(c, 20); }
    for (let e = -149; e < 128; e++) xs.push(2 ** e, 1.5 * 2 ** e, 1.41421356 * 2 ** e);
  } else if (op === 'tanh') {
    for (const c of [0.000244140625, 0.625, 9.125, 1, 5, 0]) { around(c, 0.01, 40); neighbours(c, 20); }
    around(0, 12, 4000);
  } else {
    around(0, 100, 1000);
  }
  const rand = valuesWithSpecials(s, 0, 2000).map((v, i) => v * [1, 10, 100, 1e-3][i % 4]);
  return Float32Array.from([...xs, ...rand]);
}

test('unary ops: every branch of exp/log/tanh, specials, every length mod 4, 1/2/4 threads', () => {
  for (const op of ['neg', 'sqrt', 'exp', 'log', 'tanh'] as UnaryOp[]) {
    const x = unaryInputs(op, subStream(root, `un-${op}`));
    for (const n of [x.length, x.length - 1, x.length - 2, x.length - 3, 5, 1, 0]) {
      const xi = x.subarray(0, n);
      const ref = new Float32Array(n);
      unaryReference(op, xi, ref);
      for (const be of backends) {
        for (const resident of [true, false]) {
          const out = operand(be, new Float32Array(n), resident);
          be.unary(op, operand(be, xi, resident), out);
          assertSameBits(ref, out, `${be.name} ${op} n=${n} resident=${resident}`, resident);
        }
      }
    }
  }
});

test('unary ops over a strided sweep of all 2^32 bit patterns (every 4093rd)', () => {
  const stride = 4093;
  const n = Math.ceil(2 ** 32 / stride);
  const be = backends[1];
  const x = be.alloc(n);
  const u = new Uint32Array(x.buffer, x.byteOffset, n);
  for (let i = 0; i < n; i++) u[i] = (i * stride) >>> 0;
  const plain = x.slice();
  for (const op of ['neg', 'sqrt', 'exp', 'log', 'tanh'] as UnaryOp[]) {
    const ref = new Float32Array(n);
    unaryReference(op, plain, ref);
    const out = be.alloc(n);
    be.unary(op, x, out);
    assertSameBits(ref, out, `${op} sweep`);
  }
});

test('gelu forward and backward (with and without a prior gradient, in place): every length mod 4, specials, 1/2/4 threads', () => {
  const x0 = unaryInputs('tanh', subStream(root, 'gelu'));
  for (let i = 0; i < x0.length; i++) x0[i] *= [1, 0.5, 1.25, 3][i % 4]; // tanh's branch points land on gelu's inner argument too
  for (const n of [x0.length, x0.length - 1, x0.length - 2, x0.length - 3, 3, 0]) {
    const x = x0.subarray(0, n);
    const g = valuesWithSpecials(subStream(root, `gelu-g-${n}`), 0, n), p = values(subStream(root, `gelu-p-${n}`), 0, n);
    const ry = new Float32Array(n), rg = new Float32Array(n), rp = new Float32Array(n);
    geluReference(x, ry);
    geluBackwardReference(x, g, null, rg);
    geluBackwardReference(x, g, p, rp);
    for (const be of backends) {
      for (const resident of [true, false]) {
        const X = operand(be, x, resident), G = operand(be, g, resident);
        const y = operand(be, new Float32Array(n), resident);
        be.gelu(X, y);
        assertSameBits(ry, y, `${be.name} gelu n=${n} resident=${resident}`, resident);
        const gx = operand(be, new Float32Array(n), resident);
        be.geluBackward(X, G, null, gx);
        assertSameBits(rg, gx, `${be.name} gelu backward n=${n} resident=${resident}`, resident);
        const P = operand(be, p, resident);
        be.geluBackward(X, G, P, P);
        assertSameBits(rp, P, `${be.name} gelu backward into prev n=${n} resident=${resident}`, resident);
        // With tanh's values kept by the forward: the same bits.
        const th = operand(be, new Float32Array(n), resident), y2 = operand(be, new Float32Array(n), resident);
        be.gelu(X, y2, th);
        assertSameBits(ry, y2, `${be.name} gelu with th n=${n} resident=${resident}`, resident);
        const gx2 = operand(be, new Float32Array(n), resident);
        be.geluBackward(X, G, null, gx2, th);
        assertSameBits(rg, gx2, `${be.name} gelu backward from th n=${n} resident=${resident}`, resident);
        const P2 = operand(be, p, resident);
        be.geluBackward(X, G, P2, P2, th);
        assertSameBits(rp, P2, `${be.name} gelu backward from th into prev n=${n} resident=${resident}`, resident);
      }
    }
  }
});

test('softmax forward and backward (plain, scaled, masked; prior gradient; tails of every length mod 4), 1/2/4 threads', () => {
  for (const [rows, L, maskRows] of [[1, 1, 1], [3, 5, 3], [16, 64, 8], [9, 65, 3], [4, 7, 2], [64, 64, 64]] as const) {
    const s = subStream(root, `softmax-${rows}-${L}`);
    const x = valuesWithSpecials(s, 0, rows * L).map((v, i) => v * [1, 30, 100, 1e-3][i % 4]);
    if (rows * L > 3) { x[1] = Infinity; x[2] = -Infinity; }
    const mask = new Float32Array(maskRows * L);
    for (let i = 0; i < maskRows; i++) for (let j = 0; j < L; j++) if (j > i) mask[i * L + j] = -1e30;
    const g = values(s, 1 << 20, rows * L), p = values(s, 1 << 21, rows * L);
    for (const o of [
      { rows, L, scale: null, mask: null, maskRows: 1 },
      { rows, L, scale: Math.fround(0.17677669529663687), mask: null, maskRows: 1 },
      { rows, L, scale: Math.fround(0.17677669529663687), mask, maskRows },
    ]) {
      const ry = new Float32Array(rows * L), re = new Float32Array(rows * L), rs = new Float32Array(rows);
      softmaxReference(x, o, ry, re, rs);
      const rg = new Float32Array(rows * L), rp = new Float32Array(rows * L);
      softmaxBackwardReference(g, ry, re, rs, o, null, rg);
      softmaxBackwardReference(g, ry, re, rs, o, p, rp);
      for (const be of backends) {
        for (const resident of [true, false]) {
          const what = `${be.name} softmax [${rows}, ${L}] scale=${o.scale} mask=${!!o.mask} resident=${resident}`;
          const y = operand(be, new Float32Array(rows * L), resident), e = operand(be, new Float32Array(rows * L), resident), sm = operand(be, new Float32Array(rows), resident);
          be.softmax(operand(be, x, resident), o, y, e, sm);
          assertSameBits(ry, y, `${what} y`, resident);
          assertSameBits(re, e, `${what} e`, resident);
          assertSameBits(rs, sm, `${what} s`, resident);
          const gx = operand(be, new Float32Array(rows * L), resident);
          const G = operand(be, g, resident);
          be.softmaxBackward(G, operand(be, ry, resident), operand(be, re, resident), operand(be, rs, resident), o, null, gx);
          assertSameBits(rg, gx, `${what} backward`, resident);
          const P = operand(be, p, resident);
          be.softmaxBackward(G, operand(be, ry, resident), operand(be, re, resident), operand(be, rs, resident), o, P, P);
          assertSameBits(rp, P, `${what} backward into prev`, resident);
        }
      }
    }
  }
});

test('layer norm forward and backward (prior gradient, every D mod 4, specials), 1/2/4 threads', () => {
  for (const [rows, D] of [[1, 1], [3, 5], [16, 128], [9, 7], [4, 66], [1024, 8]] as const) {
    const s = subStream(root, `ln-${rows}-${D}`);
    const x = valuesWithSpecials(s, 0, rows * D).map((v, i) => v * [1, 30, 1e-3, 5][i % 4]);
    const gamma = values(s, 1 << 19, D).map((v) => v + 1), beta = values(s, 1 << 20, D);
    const g = values(s, 1 << 21, rows * D), p = values(s, 1 << 22, rows * D);
    const o = { rows, D, eps: Math.fround(1e-5) };
    const ry = new Float32Array(rows * D), rmu = new Float32Array(rows), rsd = new Float32Array(rows);
    layerNormReference(x, gamma, beta, o, ry, rmu, rsd);
    const rg = new Float32Array(rows * D), rp = p.slice(), rgg = new Float32Array(D), rgb = new Float32Array(D);
    layerNormBackwardReference(x, gamma, rmu, rsd, g, o, null, rg, rgg, rgb);
    layerNormBackwardReference(x, gamma, rmu, rsd, g, o, rp, rp, rgg, rgb);
    for (const be of backends) {
      for (const resident of [true, false]) {
        const what = `${be.name} layerNorm [${rows}, ${D}] resident=${resident}`;
        const put = (a: Float32Array) => operand(be, a, resident);
        const X = put(x), Ga = put(gamma), y = put(new Float32Array(rows * D)), mu = put(new Float32Array(rows)), sd = put(new Float32Array(rows));
        be.layerNorm(X, Ga, put(beta), o, y, mu, sd);
        assertSameBits(ry, y, `${what} y`, resident);
        assertSameBits(rmu, mu, `${what} mu`, resident);
        assertSameBits(rsd, sd, `${what} sd`, resident);
        const gx = put(new Float32Array(rows * D)), gg = put(new Float32Array(D).fill(9)), gb = put(new Float32Array(D).fill(9));
        const G = put(g);
        be.layerNormBackward(X, Ga, mu, sd, G, o, null, gx, gg, gb);
        assertSameBits(rg, gx, `${what} backward x`, resident);
        assertSameBits(rgg, gg, `${what} backward gamma`, resident);
        assertSameBits(rgb, gb, `${what} backward beta`, resident);
        const P = put(p);
        be.layerNormBackward(X, Ga, mu, sd, G, o, P, P, gg, gb);
        assertSameBits(rp, P, `${what} backward into prev`, resident);
      }
    }
  }
});

test('gatherStrided (permute): random shapes of rank 0..6 and permutations, 1/2/4 threads', () => {
  const s = subStream(root, 'permute');
  for (let t = 0; t < 300; t++) {
    const rank = randomBelow(s, 10 * t, 7);
    const shape = Array.from({ length: rank }, (_, k) => 1 + randomBelow(s, 10 * t + 1 + k, k === rank - 1 ? 9 : 5));
    const axes = Array.from({ length: rank }, (_, k) => k);
    for (let k = rank - 1; k > 0; k--) { const j = randomBelow(s, 1000 * t + k, k + 1); [axes[k], axes[j]] = [axes[j], axes[k]]; }
    const n = shape.reduce((a, b) => a * b, 1);
    const inStr: number[] = [];
    for (let k = rank - 1, acc = 1; k >= 0; k--) { inStr[k] = acc; acc *= shape[k]; }
    const outShape = axes.map((a) => shape[a]), strides = axes.map((a) => inStr[a]);
    const x = valuesWithSpecials(s, (1 << 20) + 4096 * t, n);
    const ref = new Float32Array(n);
    gatherStridedReference(x, ref, outShape, strides);
    for (const be of backends) {
      const out = be.alloc(n);
      be.gatherStrided(operand(be, x, true), out, outShape, strides);
      assertSameBits(ref, out, `${be.name} permute [${shape}] by [${axes}]`, false);
    }
  }
});

test('gatherRows and scatterAddRows (embedding): repeated indices, every row length mod 4, 1/2/4 threads', () => {
  for (const [V, row, n] of [[1, 1, 1], [7, 5, 30], [65, 128, 1024], [3, 6, 9], [10, 3, 0]] as const) {
    const s = subStream(root, `rows-${V}-${row}-${n}`);
    const table = valuesWithSpecials(s, 0, V * row);
    const idx = Int32Array.from({ length: n }, (_, p) => randomBelow(s, (1 << 20) + p, V));
    const g = valuesWithSpecials(s, 1 << 21, n * row);
    const rg = new Float32Array(n * row), rs = values(s, 1 << 22, V * row);
    const start = rs.slice();
    gatherRowsReference(table, idx, row, rg);
    scatterAddRowsReference(g, idx, row, rs);
    for (const be of backends) {
      const out = be.alloc(n * row);
      be.gatherRows(operand(be, table, true), idx, row, out);
      assertSameBits(rg, out, `${be.name} gatherRows [${V}, ${row}] n=${n}`, false);
      const acc = operand(be, start, true);
      be.scatterAddRows(operand(be, g, true), idx, row, acc);
      assertSameBits(rs, acc, `${be.name} scatterAddRows [${V}, ${row}] n=${n}`);
    }
  }
});

test('im2col and col2im: random geometries (padding, strides, odd windows), 1/2/4 threads', () => {
  const s = subStream(root, 'im2col');
  for (let t = 0; t < 40; t++) {
    const pick = (i: number, xs: number[]) => xs[randomBelow(s, 100 * t + i, xs.length)];
    const N = pick(0, [1, 2, 3]), C = pick(1, [1, 2, 6]), H = pick(2, [1, 4, 7, 12]), W = pick(3, [1, 5, 8, 13]);
    const kh = pick(4, [1, 2, 3, 5]), kw = pick(5, [1, 3, 5]), stride = pick(6, [1, 2]), pad = pick(7, [0, 1, 2]);
    const OH = Math.floor((H + 2 * pad - kh) / stride) + 1, OW = Math.floor((W + 2 * pad - kw) / stride) + 1;
    if (OH <= 0 || OW <= 0) continue;
    const geo = { N, C, H, W, kh, kw, stride, pad, OH, OW };
    const x = valuesWithSpecials(s, (1 << 20) + 10000 * t, N * C * H * W);
    const rows = C * kh * kw, P = N * OH * OW;
    const ref = new Float32Array(rows * P);
    im2colReference(x, geo, ref);
    const g = values(s, (1 << 22) + 10000 * t, rows * P);
    const rg = new Float32Array(N * C * H * W);
    col2imReference(g, geo, rg);
    for (const be of backends) {
      const out = be.alloc(rows * P).fill(7);
      be.im2col(operand(be, x, true), geo, out);
      assertSameBits(ref, out, `${be.name} im2col ${JSON.stringify(geo)}`, false);
      const gx = be.alloc(N * C * H * W);
      be.col2im(operand(be, g, true), geo, gx);
      assertSameBits(rg, gx, `${be.name} col2im ${JSON.stringify(geo)}`);
    }
  }
});

test('reductions: sum and max over rows and middle axes, specials, 1/2/4 threads', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 7, 1], [3, 5, 1], [4, 4, 1], [5, 9, 1], [17, 65, 1], [1024, 64, 1], [64, 128, 1], [7, 3, 1],
    [1, 5, 3], [2, 3, 16], [3, 4, 17], [1, 64, 384], [2, 10, 65], [4, 1, 33], [1, 1, 5], [5, 0, 3], [3, 0, 1],
  ];
  for (const [outer, L, inner] of shapes) {
    for (const specials of [false, true]) {
      const s = subStream(root, `red-${outer}-${L}-${inner}-${specials}`);
      const x = (specials ? valuesWithSpecials : values)(s, 0, outer * L * inner);
      if (specials) for (let i = 0; i < x.length; i += 17) x[i] = [NaN, Infinity, -Infinity, -0][(i / 17) % 4];
      for (const op of ['sum', 'max'] as ReduceOp[]) {
        const ref = new Float32Array(outer * inner);
        reduceReference(op, x, ref, outer, L, inner);
        for (const be of backends) {
          for (const resident of [true, false]) {
            const out = operand(be, new Float32Array(outer * inner).fill(3), resident);
            be.reduce(op, operand(be, x, resident), out, outer, L, inner);
            assertSameBits(ref, out, `${be.name} ${op} [${outer}, ${L}, ${inner}] specials=${specials} resident=${resident}`, resident);
          }
        }
      }
    }
  }
});

test('sequential sums: sumAll and sumSquares keep one accumulator in ascending order', () => {
  for (const n of LENGTHS) {
    const s = subStream(root, `seq-${n}`);
    const x = valuesWithSpecials(s, 0, n);
    for (const be of backends) {
      for (const resident of [true, false]) {
        const xi = operand(be, x, resident);
        assert.ok(Object.is(be.sumAll(xi), sumAllReference(x)), `sumAll n=${n}`);
        assert.ok(Object.is(be.sumSquares(xi, f(0.25)), sumSquaresReference(x, f(0.25))), `sumSquares n=${n}`);
      }
    }
  }
});

const adamConstants = (wd: number): AdamwConstants => {
  const b1 = f(0.9), b2 = f(0.999), lr = f(0.003);
  return { b1, c1: f(1 - b1), b2, c2: f(1 - b2), sbc2: f(Math.sqrt(f(1 - f(b2 * b2)))), eps: f(1e-8), stepSize: f(lr / f(1 - f(b1 * b1))), decay: f(lr * wd), weightDecay: f(wd) };
};

test('adamw: the WASM kernel equals the reference program, any length, 1/2/4 threads', () => {
  let cases = 0;
  for (const n of LENGTHS) {
    for (const specials of [false, true]) {
      for (const wd of [0, 0.01]) {
        const s = subStream(root, `adamw-${n}-${specials}-${wd}`);
        const gen = specials ? valuesWithSpecials : values;
        const w = gen(s, 0, n), g = gen(s, 10 * n + 10, n), m = values(s, 20 * n + 20, n);
        const v = uniforms(s, 30 * n + 30, n); // a second moment is never negative
        if (specials) for (let i = 0; i < n; i += 7) v[i] = 0; // sqrt(+0), the first step's state
        const c = adamConstants(wd);
        const rw = w.slice(), rm = m.slice(), rv = v.slice();
        adamwReference(rw, g, rm, rv, c);
        for (const be of backends) {
          for (const resident of [true, false]) {
            const kw = operand(be, w, resident), km = operand(be, m, resident), kv = operand(be, v, resident);
            be.adamw(kw, operand(be, g, resident), km, kv, c);
            const what = `${be.name} adamw n=${n} specials=${specials} wd=${wd} resident=${resident}`;
            assertSameBits(rw, kw, `${what} w`, resident);
            assertSameBits(rm, km, `${what} m`, resident);
            assertSameBits(rv, kv, `${what} v`, resident);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, LENGTHS.length * 8 * backends.length);
});

test('sgd: the WASM kernel equals the reference program (first step, later steps, weight decay)', () => {
  for (const n of LENGTHS) {
    for (const [first, wd, specials] of [[true, 0, false], [false, 0, true], [false, 0.0005, false], [true, 0.0005, true]] as const) {
      const s = subStream(root, `sgd-${n}-${first}-${wd}-${specials}`);
      const gen = specials ? valuesWithSpecials : values;
      const w = gen(s, 0, n), g = gen(s, 10 * n + 10, n), buf = values(s, 20 * n + 20, n);
      const c = { mu: f(0.9), wd: f(wd), lr: f(0.05), first };
      const rw = w.slice(), rb = buf.slice();
      sgdReference(rw, g, rb, c);
      for (const be of backends) {
        for (const resident of [true, false]) {
          const kw = operand(be, w, resident), kb = operand(be, buf, resident);
          be.sgd(kw, operand(be, g, resident), kb, c);
          assertSameBits(rw, kw, `${be.name} sgd n=${n} first=${first} wd=${wd} resident=${resident} w`, resident);
          assertSameBits(rb, kb, `${be.name} sgd n=${n} first=${first} wd=${wd} resident=${resident} buf`, resident);
        }
      }
    }
  }
});

test('allFinite finds one NaN or ±Inf anywhere and passes huge finite values', () => {
  const s = subStream(root, 'finite');
  for (const be of backends) {
    for (const n of LENGTHS.filter((x) => x > 0)) {
      const x = values(s, n, n);
      x[randomBelow(s, 3 * n, n)] = 3.4028234663852886e38;
      for (const resident of [true, false]) {
        assert.equal(be.allFinite(operand(be, x, resident)), true, `n=${n}`);
        for (const [j, bad] of [NaN, Infinity, -Infinity].entries()) {
          const y = x.slice();
          const at = randomBelow(s, 5 * n + j, n);
          y[at] = bad;
          assert.equal(be.allFinite(operand(be, y, resident)), false, `n=${n} ${bad} at ${at} resident=${resident}`);
          assert.equal(allFiniteReference(y), false);
        }
      }
    }
    assert.equal(be.allFinite(be.alloc(0)), true);
  }
});

test('operands of different lengths are refused before anything is written', () => {
  const be: Backend = backends[0];
  const w = be.alloc(8).fill(1), m = be.alloc(8), v = be.alloc(8);
  assert.throws(() => be.adamw(w, be.alloc(7), m, v, adamConstants(0)), ShapeError);
  assert.deepEqual([...w], Array(8).fill(1));
});

test('temporary memory: mark/release reuses the arena, alloc() memory is never touched by it', () => {
  const be = backends[0];
  const keep = be.alloc(100).fill(5);
  const m = be.mark();
  const a = be.temp(1000, true);
  assert.ok(a.every((x) => x === 0));
  a.fill(9);
  const big = be.temp(3 << 20); // larger than a chunk
  big.fill(1);
  be.release(m);
  const m2 = be.mark();
  const b = be.temp(1000);
  assert.equal(b.byteOffset, a.byteOffset, 'the same memory again after release');
  be.release(m2);
  assert.ok(keep.every((x) => x === 5));
  assert.equal(a.byteOffset % 64, 0);
});
