// The fused composite programs (backend.ts, reference.ts) must equal the composition of primitives
// they stand for, forward and backward, bit for bit: the backward as autograd accumulates it,
// including a gradient the input already holds from another consumer.
import { test, after } from 'node:test';
import { causalSelfAttention, gelu, layerNorm, linear, softmax } from '../nn.ts';
import { add, mul, sum } from '../ops.ts';
import { parameter, Tensor, withArena, withFiniteChecks } from '../tensor.ts';
import { rngStream, subStream } from '../rng.ts';
import {
  geluBackwardReference, geluReference, layerNormBackwardReference, layerNormReference, softmaxBackwardReference, softmaxReference,
} from './reference.ts';
import type { SoftmaxOptions } from './backend.ts';
import { getBackend, setBackend } from './current.ts';
import { createWasmBackend } from './wasm/index.ts';

const wasm = await createWasmBackend({ threads: 2, tuning: { parallelMinFlops: 0, parallelMinWork: 0 } });
after(() => wasm.close());
import { assertSameBits, values, valuesWithSpecials } from './wasm/check.ts';

const root = rngStream(11, 'fused-test');

/** x: random values of several magnitudes, specials, and the branch points of tanh's argument. */
function geluInputs(n: number, k: number): Float32Array {
  const s = subStream(root, `gelu-x-${k}`);
  const x = valuesWithSpecials(s, 0, n);
  for (let i = 0; i < n; i++) x[i] *= [1, 3, 10, 0.01][i % 4];
  x[0] = 0; x[1] = -0; x[2] = 12; x[3] = -12; x[4] = 1e-20;
  return x;
}

test('gelu: the fused forward equals the composition of primitives', () => {
  for (const n of [1, 5, 1000]) {
    const x = geluInputs(n, n);
    const ref = gelu(new Tensor(x, [n])).data;
    const got = new Float32Array(n);
    geluReference(x, got);
    assertSameBits(ref, got, `gelu n=${n}`, false);
  }
});

test('gelu: the fused backward equals autograd through the composition, with and without a prior gradient', () => {
  for (const n of [1, 7, 1000]) {
    const x = geluInputs(n, n + 1);
    const G = values(subStream(root, `gelu-g-${n}`), 0, n);
    const H = values(subStream(root, `gelu-h-${n}`), 0, n);
    // loss = Σ gelu(x)·G: the gradient reaching gelu's output is G exactly.
    const xt = new Tensor(x, [n], true);
    sum(mul(gelu(xt), new Tensor(G, [n]))).backward();
    const got = new Float32Array(n);
    geluBackwardReference(x, G, null, got);
    assertSameBits(xt.grad!.data, got, `gelu backward n=${n}`, false);
    // loss = Σ gelu(x)·G + Σ x·H: autograd adds x's gradient H from the second term first.
    const xt2 = new Tensor(x, [n], true);
    add(sum(mul(gelu(xt2), new Tensor(G, [n]))), sum(mul(xt2, new Tensor(H, [n])))).backward();
    geluBackwardReference(x, G, H, got);
    assertSameBits(xt2.grad!.data, got, `gelu backward with prior gradient n=${n}`, false);
  }
});

test('softmax of x, of x·scale, and of x·scale + mask: fused forward and backward equal the composition and autograd', () => {
  const [B, H, T, L] = [2, 3, 5, 7];
  const rows = B * H * T;
  const s = subStream(root, 'softmax');
  const x = values(s, 0, rows * L).map((v, i) => v * [1, 8, 40, 0.001][i % 4]);
  const mask = new Float32Array(T * L);
  for (let i = 0; i < T; i++) for (let j = 0; j < L; j++) if (j > i + 1) mask[i * L + j] = -1e30; // causal-like, finite
  const G = values(s, 1 << 20, rows * L), Hg = values(s, 1 << 21, rows * L);
  const scale = Math.fround(1 / Math.sqrt(32));
  const cases: { name: string; o: SoftmaxOptions; f: (t: Tensor) => Tensor }[] = [
    { name: 'plain', o: { rows, L, scale: null, mask: null, maskRows: 1 }, f: (t) => softmax(t, -1) },
    { name: 'scaled', o: { rows, L, scale, mask: null, maskRows: 1 }, f: (t) => softmax(mul(t, scale), -1) },
    { name: 'scaled+mask', o: { rows, L, scale, mask, maskRows: T }, f: (t) => softmax(add(mul(t, scale), new Tensor(mask, [T, L])), -1) },
  ];
  for (const c of cases) {
    const shape = [B, H, T, L];
    const y = new Float32Array(rows * L), e = new Float32Array(rows * L), sm = new Float32Array(rows);
    softmaxReference(x, c.o, y, e, sm);
    assertSameBits(c.f(new Tensor(x, shape)).data, y, `${c.name} forward`, false);
    for (const prior of [false, true]) {
      const xt = new Tensor(x, shape, true);
      let loss = sum(mul(c.f(xt), new Tensor(G, shape)));
      if (prior) loss = add(loss, sum(mul(xt, new Tensor(Hg, shape))));
      loss.backward();
      const got = new Float32Array(rows * L);
      softmaxBackwardReference(G, y, e, sm, c.o, prior ? Hg : null, got);
      assertSameBits(xt.grad!.data, got, `${c.name} backward prior=${prior}`, false);
    }
  }
});

test('layer norm: fused forward and backward (x, gamma, beta) equal the composition and autograd', () => {
  for (const [shape, scaleX] of [[[4, 6, 8], 1], [[5, 7], 100], [[3, 128], 0.01], [[1, 1], 1]] as [number[], number][]) {
    const D = shape[shape.length - 1], rows = shape.reduce((a, b) => a * b, 1) / D;
    const s = subStream(root, `ln-${shape}`);
    const x = values(s, 0, rows * D).map((v, i) => v * scaleX + (i % 3) * 0.5);
    const gamma = values(s, 1 << 20, D).map((v) => v + 1), beta = values(s, 1 << 21, D);
    const G = values(s, 1 << 22, rows * D), H = values(s, 1 << 23, rows * D);
    const o = { rows, D, eps: Math.fround(1e-5) };
    const y = new Float32Array(rows * D), mu = new Float32Array(rows), sd = new Float32Array(rows);
    layerNormReference(x, gamma, beta, o, y, mu, sd);
    assertSameBits(layerNorm(new Tensor(x, shape), new Tensor(gamma, [D]), new Tensor(beta, [D])).data, y, `layerNorm ${shape} forward`, false);
    for (const prior of [false, true]) {
      const xt = new Tensor(x, shape, true), gt = new Tensor(gamma, [D], true), bt = new Tensor(beta, [D], true);
      let loss = sum(mul(layerNorm(xt, gt, bt), new Tensor(G, shape)));
      if (prior) loss = add(loss, sum(mul(xt, new Tensor(H, shape))));
      loss.backward();
      const gx = new Float32Array(rows * D), gg = new Float32Array(D), gb = new Float32Array(D);
      layerNormBackwardReference(x, gamma, mu, sd, G, o, prior ? H : null, gx, gg, gb);
      assertSameBits(xt.grad!.data, gx, `layerNorm ${shape} backward x prior=${prior}`, false);
      assertSameBits(gt.grad!.data, gg, `layerNorm ${shape} backward gamma`, false);
      assertSameBits(bt.grad!.data, gb, `layerNorm ${shape} backward beta`, false);
    }
  }
});

test('a transformer block (layer norm, attention with its q/k/v split, GELU MLP): fused and unfused give the same bits, forward and every gradient', () => {
  const [B, T, D, H] = [2, 8, 16, 4];
  const s = subStream(root, 'block');
  let k = 0;
  const p = (name: string, shape: number[], scale: number, shift = 0) => {
    const t = parameter(name, values(s, (k++) << 16, shape.reduce((a, b) => a * b, 1)).map((v) => v * scale + shift), shape);
    t.relocate(getBackend().alloc(t.size)); // in the WASM backend's memory: its kernels run in place
    return t;
  };
  // Inside an arena (as in training) every intermediate lives in the backend's memory too.
  const run = () => withArena(() => {
    const ps = {
      x: p('x', [B, T, D], 1), g1: p('g1', [D], 0.1, 1), b1: p('b1', [D], 0.1), g2: p('g2', [D], 0.1, 1), b2: p('b2', [D], 0.1),
      wqkv: p('wqkv', [D, 3 * D], 0.3), bqkv: p('bqkv', [3 * D], 0.1), wo: p('wo', [D, D], 0.3), bo: p('bo', [D], 0.1),
      w1: p('w1', [D, 4 * D], 0.3), c1: p('c1', [4 * D], 0.1), w2: p('w2', [4 * D, D], 0.3), c2: p('c2', [D], 0.1),
    };
    k = 0;
    let h = add(ps.x, causalSelfAttention(layerNorm(ps.x, ps.g1, ps.b1), { wqkv: ps.wqkv, bqkv: ps.bqkv, wo: ps.wo, bo: ps.bo }, H));
    h = add(h, linear(gelu(linear(layerNorm(h, ps.g2, ps.b2), ps.w1, ps.c1)), ps.w2, ps.c2));
    const G = new Tensor(values(s, 1 << 30, h.size), h.shape);
    sum(mul(h, G)).backward();
    const grads = Object.fromEntries(Object.entries(ps).map(([n, t]) => [n, t.grad!.data.slice()]));
    return { y: h.data.slice(), grads };
  });
  const reference = getBackend();
  for (const be of [reference, wasm]) {
    setBackend(be);
    try {
      const fused = run();
      const plain = withFiniteChecks(run); // finite checks run the composition itself
      assertSameBits(plain.y, fused.y, `${be.name} block output`, false);
      for (const name of Object.keys(fused.grads)) assertSameBits(plain.grads[name], fused.grads[name], `${be.name} gradient of ${name}`, false);
    } finally {
      setBackend(reference);
    }
  }
});
