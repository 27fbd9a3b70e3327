// The fused composite programs (backend.ts, reference.ts) must equal the composition of primitives
// they stand for, forward and backward, bit for bit: the backward as autograd accumulates it,
// including a gradient the input already holds from another consumer.
import { test } from 'node:test';
import { gelu } from '../nn.ts';
import { add, mul, sum } from '../ops.ts';
import { Tensor } from '../tensor.ts';
import { rngStream, subStream } from '../rng.ts';
import { geluBackwardReference, geluReference } from './reference.ts';
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
