// The composites of nn.ts against float64 references: forward values and gradients (central
// differences of the float64 reference), plus their structural properties (softmax rows sum to 1,
// dropout masks are pure functions of stream and offset, attention is causal).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeError } from '../errors.ts';
import {
  softmax, logSoftmax, crossEntropy, layerNorm, gelu, sigmoid, relu, maxPool2x2, dropout, causalSelfAttention,
  mean, linear, embedding, tanh, conv2d, type AttentionParams,
} from './nn.ts';
import { sum, mul } from './ops.ts';
import { rngStream } from './rng.ts';
import { Tensor, tensor, withFiniteChecks, sizeOf, type Shape } from './tensor.ts';
import {
  rand, randAway, gradCheck, assertBitsEqual, assertClose, unravel, ravel, matmulRef, gatherRef, conv2dRef, F32,
  type CheckInput,
  inputOf,
} from './testing.ts';

const inp = inputOf;

// ---------------------------------------------------------------------------------------------
// float64 references

/** Apply f to every 1-D line along `axis` of x (shape), writing into a new array. */
function alongAxis(x: ArrayLike<number>, shape: Shape, axis: number, f: (line: number[]) => number[]): Float64Array {
  const out = new Float64Array(x.length);
  const outer = shape.filter((_, a) => a !== axis);
  for (let o = 0; o < sizeOf(outer); o++) {
    const oi = unravel(o, outer);
    const at = (l: number) => ravel([...oi.slice(0, axis), l, ...oi.slice(axis)], shape);
    const line: number[] = [];
    for (let l = 0; l < shape[axis]; l++) line.push(x[at(l)]);
    const y = f(line);
    for (let l = 0; l < shape[axis]; l++) out[at(l)] = y[l];
  }
  return out;
}

function softmaxLine(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((x) => x / s);
}

function logSoftmaxLine(v: number[]): number[] {
  const m = Math.max(...v);
  const ls = Math.log(v.reduce((p, x) => p + Math.exp(x - m), 0));
  return v.map((x) => x - m - ls);
}

function crossEntropyRef(x: ArrayLike<number>, N: number, C: number, labels: Int32Array): number {
  let l = 0;
  for (let i = 0; i < N; i++) l -= logSoftmaxLine(Array.from({ length: C }, (_, j) => x[i * C + j]))[labels[i]];
  return l / N;
}

function layerNormRef(x: ArrayLike<number>, rows: number, D: number, g: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let j = 0; j < D; j++) m += x[r * D + j];
    m /= D;
    let v = 0;
    for (let j = 0; j < D; j++) v += (x[r * D + j] - m) ** 2;
    v /= D;
    const s = Math.sqrt(v + eps);
    for (let j = 0; j < D; j++) out[r * D + j] = ((x[r * D + j] - m) / s) * g[j] + b[j];
  }
  return out;
}

const geluRef = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));

function maxPoolRef(x: ArrayLike<number>, shape: Shape): Float64Array {
  const [N, C, H, W] = shape;
  const oshape = [N, C, H / 2, W / 2];
  const out = new Float64Array(sizeOf(oshape));
  for (let o = 0; o < out.length; o++) {
    const [n, c, y, z] = unravel(o, oshape);
    let m = -Infinity;
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m = Math.max(m, x[ravel([n, c, 2 * y + dy, 2 * z + dx], shape)]);
    out[o] = m;
  }
  return out;
}

/** Causal multi-head self-attention in float64, written out with plain loops. */
function attentionRef(
  x: ArrayLike<number>, B: number, T: number, D: number, H: number,
  wqkv: ArrayLike<number>, bqkv: ArrayLike<number>, wo: ArrayLike<number>, bo: ArrayLike<number>,
): Float64Array {
  const dh = D / H;
  const qkv = new Float64Array(B * T * 3 * D);
  for (let bt = 0; bt < B * T; bt++) {
    for (let j = 0; j < 3 * D; j++) {
      let acc = bqkv[j];
      for (let d = 0; d < D; d++) acc += x[bt * D + d] * wqkv[d * 3 * D + j];
      qkv[bt * 3 * D + j] = acc;
    }
  }
  // qkv[b, t, s·D + h·dh + e] with s = 0 (q), 1 (k), 2 (v).
  const at = (b: number, t: number, s: number, h: number, e: number) => qkv[(b * T + t) * 3 * D + s * D + h * dh + e];
  const y = new Float64Array(B * T * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let e = 0; e < dh; e++) s += at(b, i, 0, h, e) * at(b, j, 1, h, e);
          scores.push(s / Math.sqrt(dh));
        }
        const p = softmaxLine(scores);
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += p[j] * at(b, j, 2, h, e);
          y[(b * T + i) * D + h * dh + e] = acc;
        }
      }
    }
  }
  const out = new Float64Array(B * T * D);
  for (let bt = 0; bt < B * T; bt++) {
    for (let o = 0; o < D; o++) {
      let acc = bo[o];
      for (let c = 0; c < D; c++) acc += y[bt * D + c] * wo[c * D + o];
      out[bt * D + o] = acc;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('softmax and logSoftmax', () => {
  for (const [shape, axis] of [[[3, 5], -1], [[3, 5], 0], [[2, 3, 4], 1]] as [Shape, number][]) {
    const ax = axis < 0 ? axis + shape.length : axis;
    test(`softmax [${shape}] axis ${axis}: sums to 1, forward and gradient match float64`, () => {
      const x = inp(`softmax/${shape}/${axis}`, shape, -3, 3);
      const { out } = gradCheck({
        label: `softmax [${shape}] ${axis}`,
        inputs: [x],
        engine: ([t]) => softmax(t, axis),
        reference: ([v]) => alongAxis(v, shape, ax, softmaxLine),
        fwdTol: 1e-6,
      });
      const sums = alongAxis(out.data, shape, ax, (l) => l.map(() => l.reduce((p, q) => p + q, 0)));
      for (const s of sums) assert.ok(Math.abs(s - 1) <= 1e-6, `row sum ${s}`);
    });

    test(`logSoftmax [${shape}] axis ${axis}: forward and gradient match float64`, () => {
      const x = inp(`logsoftmax/${shape}/${axis}`, shape, -3, 3);
      gradCheck({
        label: `logSoftmax [${shape}] ${axis}`,
        inputs: [x],
        engine: ([t]) => logSoftmax(t, axis),
        reference: ([v]) => alongAxis(v, shape, ax, logSoftmaxLine),
        fwdTol: 1e-6,
      });
    });
  }

  test('large logits do not overflow (the max is subtracted first)', () => {
    const x = tensor([1000, 1001, 999, -1000], [1, 4]);
    const s = softmax(x);
    assertClose(s.data, softmaxLine(Array.from(x.data)), 1e-6, 'softmax');
    assertClose(logSoftmax(x).data, logSoftmaxLine(Array.from(x.data)), 1e-6, 'logSoftmax');
    assert.ok(withFiniteChecks(() => softmax(tensor([-1e30, 0, 88, 1e30], [1, 4]))).data.every(Number.isFinite));
  });
});

describe('crossEntropy', () => {
  const N = 4, C = 5;
  const labels = Int32Array.from([1, 0, 4, 1]);
  test('forward and gradient match float64; gradient = (softmax - onehot) / N', () => {
    const x = inp('ce/logits', [N, C], -3, 3);
    const { out, grads } = gradCheck({
      label: 'crossEntropy',
      inputs: [x],
      engine: ([t]) => crossEntropy(t, labels),
      reference: ([v]) => [crossEntropyRef(v, N, C, labels)],
    });
    assert.deepEqual(out.shape, []);
    // The plain gradient (seed 1), against its closed form.
    const t = new Tensor(Float32Array.from(x.data), [N, C], true);
    crossEntropy(t, labels).backward();
    const p = alongAxis(x.data, [N, C], 1, softmaxLine);
    const want = p.map((v, i) => (v - (labels[Math.floor(i / C)] === i % C ? 1 : 0)) / N);
    assertClose(t.grad!.data, want, 1e-6, 'closed-form gradient');
    assert.ok(grads[0]);
  });

  test('rejects bad shapes and labels', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => crossEntropy(x, Int32Array.from([0])), (e: unknown) => e instanceof ShapeError && /logits \[N, C\] and N labels/.test(e.message));
    assert.throws(() => crossEntropy(x, Int32Array.from([0, 3])), (e: unknown) => e instanceof ShapeError && /label 3 at row 1 out of range \[0, 3\)/.test(e.message));
  });
});

describe('layerNorm', () => {
  test('forward and gradients for x, gamma and beta match float64', () => {
    const rows = 3, D = 6;
    const x = inp('ln/x', [rows, D], -2, 2), g = inp('ln/g', [D], 0.5, 1.5), b = inp('ln/b', [D]);
    const { out } = gradCheck({
      label: 'layerNorm',
      inputs: [x, g, b],
      engine: ([t, gm, bt]) => layerNorm(t, gm, bt),
      reference: ([v, gm, bt]) => layerNormRef(v, rows, D, gm, bt, 1e-5),
      fwdTol: 1e-5,
    });
    // Each normalized row has mean ~0 and variance ~1 before the affine part.
    const plain = layerNorm(tensor(x.data, [rows, D]), tensor(new Float32Array(D).fill(1)), tensor(new Float32Array(D)));
    for (let r = 0; r < rows; r++) {
      const row = Array.from(plain.data.subarray(r * D, (r + 1) * D));
      const m = row.reduce((p, q) => p + q, 0) / D;
      assert.ok(Math.abs(m) < 1e-6);
      assert.ok(Math.abs(row.reduce((p, q) => p + (q - m) ** 2, 0) / D - 1) < 1e-4);
    }
    assert.deepEqual(out.shape, [rows, D]);
  });

  test('batched input [2, 3, 4]', () => {
    const x = inp('ln3/x', [2, 3, 4], -2, 2), g = inp('ln3/g', [4], 0.5, 1.5), b = inp('ln3/b', [4]);
    gradCheck({
      label: 'layerNorm 3-D',
      inputs: [x, g, b],
      engine: ([t, gm, bt]) => layerNorm(t, gm, bt),
      reference: ([v, gm, bt]) => layerNormRef(v, 6, 4, gm, bt, 1e-5),
      fwdTol: 1e-5,
    });
  });
});

describe('activations', () => {
  test('gelu matches the float64 tanh form', () => {
    const x = inp('gelu/x', [4, 5], -4, 4);
    gradCheck({ label: 'gelu', inputs: [x], engine: ([t]) => gelu(t), reference: ([v]) => v.map(geluRef), fwdTol: 1e-6 });
  });

  test('sigmoid matches float64 and saturates without NaN gradients', () => {
    const x = inp('sigmoid/x', [4, 5], -6, 6);
    gradCheck({ label: 'sigmoid', inputs: [x], engine: ([t]) => sigmoid(t), reference: ([v]) => v.map(sigmoidRef), fwdTol: 1e-6 });
    const big = tensor([-1000, -200, -89, -88, 0, 88, 200, 1000], [8], true);
    const y = sigmoid(big);
    assert.equal(y.data[4], 0.5);
    assert.equal(y.data[7], 1);
    assert.equal(y.data[6], 1);
    assert.ok(y.data[0] >= 0 && y.data[0] < 1e-37, `sigmoid(-1000) = ${y.data[0]}`);
    sum(y).backward();
    for (let i = 0; i < 8; i++) {
      const gv = big.grad!.data[i];
      assert.ok(Number.isFinite(gv) && gv >= 0 && gv <= 0.25, `sigmoid'(${big.data[i]}) = ${gv}`);
    }
    // Even with finite checks on, neither pass produces an Inf or NaN.
    withFiniteChecks(() => {
      const t = tensor([-1000, 1000], [2], true);
      sum(sigmoid(t)).backward();
    });
  });

  test('relu: forward exact, gradient 1 above 0 and 0 at and below 0', () => {
    const x = { name: 'relu/x', shape: [4, 5], data: randAway('relu/x', 20, -2, 2, 1e-3) };
    const { out } = gradCheck({ label: 'relu', inputs: [x], engine: ([t]) => relu(t), reference: ([v]) => v.map((a) => Math.max(a, 0)) });
    assertBitsEqual(out.data, Array.from(x.data, (v) => (v > 0 ? v : 0)), 'relu');
    const z = tensor([0, -0, 1, -1], [4], true);
    sum(relu(z)).backward();
    assert.deepEqual(z.grad!.toArray(), [0, 0, 1, 0]);
  });

  test('tanh re-export and mean', () => {
    const x = inp('tanh/x', [2, 3], -2, 2);
    gradCheck({ label: 'tanh', inputs: [x], engine: ([t]) => tanh(t), reference: ([v]) => v.map(Math.tanh), fwdTol: 3e-7 });
    gradCheck({ label: 'mean all', inputs: [x], engine: ([t]) => mean(t), reference: ([v]) => [v.reduce((p, q) => p + q, 0) / 6] });
    gradCheck({
      label: 'mean axis -1 keepDims',
      inputs: [x],
      engine: ([t]) => mean(t, -1, true),
      reference: ([v]) => [0, 1].map((r) => (v[3 * r] + v[3 * r + 1] + v[3 * r + 2]) / 3),
    });
  });
});

describe('linear, embedding, conv2d, maxPool2x2', () => {
  test('linear with and without bias', () => {
    const x = inp('lin/x', [2, 3, 4]), w = inp('lin/w', [4, 5]), b = inp('lin/b', [5]);
    gradCheck({
      label: 'linear',
      inputs: [x, w, b],
      engine: ([t, wt, bt]) => linear(t, wt, bt),
      reference: ([v, wt, bt]) => matmulRef(v, [2, 3, 4], wt, [4, 5], false, false).data.map((y, i) => y + bt[i % 5]),
      fwdTol: 2e-6,
    });
    gradCheck({
      label: 'linear no bias',
      inputs: [x, w],
      engine: ([t, wt]) => linear(t, wt),
      reference: ([v, wt]) => matmulRef(v, [2, 3, 4], wt, [4, 5], false, false).data,
      fwdTol: 2e-6,
    });
  });

  test('embedding is a gather with an index shape', () => {
    const table = inp('emb/table', [6, 3]);
    const ids = Int32Array.from([5, 0, 5, 2]);
    const { out } = gradCheck({
      label: 'embedding',
      inputs: [table],
      engine: ([t]) => embedding(t, ids, [2, 2]),
      reference: ([v]) => gatherRef(v, [6, 3], ids),
    });
    assert.deepEqual(out.shape, [2, 2, 3]);
  });

  test('conv2d re-export is the primitive', () => {
    const x = inp('nnconv/x', [1, 2, 4, 4]), w = inp('nnconv/w', [2, 2, 3, 3]);
    const y = conv2d(tensor(x.data, x.shape), tensor(w.data, w.shape), { pad: 1 });
    assertBitsEqual(y.data, conv2dRef(x.data, x.shape, w.data, w.shape, 1, 1, F32).data, 'conv2d');
  });

  test('maxPool2x2: forward exact, gradient to the maximum of each window', () => {
    const shape = [2, 2, 4, 6];
    const x = inp('pool/x', shape, -2, 2);
    const { out } = gradCheck({ label: 'maxPool2x2', inputs: [x], engine: ([t]) => maxPool2x2(t), reference: ([v]) => maxPoolRef(v, shape) });
    assert.deepEqual(out.shape, [2, 2, 2, 3]);
    assertBitsEqual(out.data, maxPoolRef(x.data, shape), 'maxPool2x2');
    assert.throws(() => maxPool2x2(tensor(new Float32Array(6), [1, 1, 2, 3])), ShapeError);
    assert.throws(() => maxPool2x2(tensor(new Float32Array(4), [2, 2])), ShapeError);
  });
});

describe('dropout', () => {
  const s = rngStream(7, 'dropout');
  test('the mask is a pure function of (stream, offset); p = 0 is the identity', () => {
    const x = tensor(rand('drop/x', 1000, 0.5, 1.5), [10, 100]);
    const a = dropout(x, 0.3, s, 5000), b = dropout(x, 0.3, rngStream(7, 'dropout'), 5000);
    assertBitsEqual(a.data, b.data, 'same stream and offset');
    assert.notDeepEqual(a.toArray(), dropout(x, 0.3, s, 5001).toArray());
    assert.notDeepEqual(a.toArray(), dropout(x, 0.3, rngStream(8, 'dropout'), 5000).toArray());
    assert.equal(dropout(x, 0, s, 0), x);
  });

  test('keeps about 1 - p, scales kept values by 1/(1 - p), gradient is the same mask', () => {
    const n = 20000, p = 0.25;
    const x = new Tensor(rand('drop/x2', n, 0.5, 1.5), [n], true);
    const y = dropout(x, p, s, 0);
    const scale = Math.fround(1 / Math.fround(1 - p));
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (y.data[i] !== 0) {
        kept++;
        assert.equal(y.data[i], Math.fround(x.data[i] * scale));
      }
    }
    // Binomial(20000, 0.75): sd ≈ 61, so ±0.015 is about 5 sd.
    assert.ok(Math.abs(kept / n - (1 - p)) < 0.015, `kept ${kept / n}`);
    sum(y).backward();
    for (let i = 0; i < n; i++) assert.equal(x.grad!.data[i], y.data[i] !== 0 ? scale : 0);
  });
});

describe('causalSelfAttention', () => {
  function params(tag: string, D: number): { inputs: CheckInput[]; p: (ts: Tensor[]) => AttentionParams } {
    return {
      inputs: [inp(`${tag}/wqkv`, [D, 3 * D]), inp(`${tag}/bqkv`, [3 * D], -0.2, 0.2), inp(`${tag}/wo`, [D, D]), inp(`${tag}/bo`, [D], -0.2, 0.2)],
      p: ([wqkv, bqkv, wo, bo]) => ({ wqkv, bqkv, wo, bo }),
    };
  }

  test('changing token t+1 leaves every output at positions <= t bit-identical', () => {
    const B = 2, T = 6, D = 8, H = 2;
    const { inputs, p } = params('causal', D);
    const pt = p(inputs.map((i) => tensor(i.data, i.shape)));
    const x0 = rand('causal/x', B * T * D, -1, 1);
    const y0 = causalSelfAttention(tensor(x0, [B, T, D]), pt, H);
    for (let t = 0; t < T - 1; t++) {
      const x1 = Float32Array.from(x0);
      // Change every token after t, in both batch rows.
      for (let b = 0; b < B; b++) for (let i = (b * T + t + 1) * D; i < (b + 1) * T * D; i++) x1[i] = x1[i] * -2 + 0.5;
      const y1 = causalSelfAttention(tensor(x1, [B, T, D]), pt, H);
      for (let b = 0; b < B; b++) {
        const upTo = (b * T + t + 1) * D;
        assertBitsEqual(y1.data.subarray(b * T * D, upTo), y0.data.subarray(b * T * D, upTo), `t=${t} b=${b}`);
        assert.notDeepEqual(Array.from(y1.data.subarray(upTo, upTo + D)), Array.from(y0.data.subarray(upTo, upTo + D)));
      }
    }
    // Batch rows are independent: changing row 1 leaves row 0 bit-identical.
    const x2 = Float32Array.from(x0);
    for (let i = T * D; i < 2 * T * D; i++) x2[i] += 0.25;
    const y2 = causalSelfAttention(tensor(x2, [B, T, D]), pt, H);
    assertBitsEqual(y2.data.subarray(0, T * D), y0.data.subarray(0, T * D), 'batch row 0');
  });

  test('forward and gradients (x and every parameter) match a float64 reference', () => {
    const B = 2, T = 3, D = 4, H = 2;
    const { inputs, p } = params('att', D);
    const x = inp('att/x', [B, T, D]);
    const { out } = gradCheck({
      label: 'attention',
      inputs: [x, ...inputs],
      engine: ([t, ...ps]) => causalSelfAttention(t, p(ps), H),
      reference: ([v, wqkv, bqkv, wo, bo]) => attentionRef(v, B, T, D, H, wqkv, bqkv, wo, bo),
      fwdTol: 1e-5,
    });
    assert.deepEqual(out.shape, [B, T, D]);
  });

  test('one head, longer sequence', () => {
    const B = 1, T = 5, D = 3, H = 1;
    const { inputs, p } = params('att1', D);
    const x = inp('att1/x', [B, T, D]);
    gradCheck({
      label: 'attention 1 head',
      inputs: [x, ...inputs],
      engine: ([t, ...ps]) => causalSelfAttention(t, p(ps), H),
      reference: ([v, wqkv, bqkv, wo, bo]) => attentionRef(v, B, T, D, H, wqkv, bqkv, wo, bo),
      fwdTol: 1e-5,
    });
  });

  test('width not divisible by heads is a ShapeError', () => {
    const { inputs, p } = params('attbad', 4);
    const ps = p(inputs.map((i) => tensor(i.data, i.shape)));
    assert.throws(() => causalSelfAttention(tensor(new Float32Array(8), [1, 2, 4]), ps, 3), (e: unknown) => e instanceof ShapeError && /width 4 not divisible by 3 heads/.test(e.message));
  });

  test('identical runs give bit-identical outputs and gradients', () => {
    const run = () => {
      const { inputs, p } = params('attdet', 4);
      const ts = inputs.map((i) => new Tensor(Float32Array.from(i.data), i.shape, true));
      const x = new Tensor(rand('attdet/x', 24, -1, 1), [2, 3, 4], true);
      const y = causalSelfAttention(x, p(ts), 2);
      sum(mul(y, y)).backward();
      return [y.data, x.grad!.data, ...ts.map((t) => t.grad!.data)].map((a) => Buffer.from(a.buffer).toString('hex'));
    };
    assert.deepEqual(run(), run());
  });
});
