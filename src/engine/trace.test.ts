// The op observer on the engine alone: a graph that uses every primitive and composite reports a
// closed trace (every input declared, a constant or an earlier output, by identity) whose every
// record evalRecord recomputes to the bit; the checker itself catches a wrong output and an input
// from nowhere; with no observer nothing is reported and the bits are the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { causalSelfAttention, conv2d, crossEntropy, dropout, embedding, gelu, layerNorm, maxPool2x2, sigmoid, tanh } from './nn.ts';
import { add, concat, div, expand, log, matmul, mul, pad, permute, reshape, slice, sqrt, sub, sum } from './ops.ts';
import { rngStream } from './rng.ts';
import { parameter, Tensor } from './tensor.ts';
import { rand } from './testing.ts';
import { traceInput, traceOp, tracing, withObserver, type OpObserver, type OpRecord } from './trace.ts';
import { checkingObserver, ClosureError } from './trace-eval.ts';

function params() {
  const p = (name: string, shape: number[], scale = 0.3) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = rand(name, n);
    for (let i = 0; i < n; i++) d[i] *= scale;
    return parameter(name, d, shape);
  };
  return {
    conv: p('conv', [3, 2, 3, 3]), emb: p('emb', [7, 8]), ln_g: p('ln_g', [8]), ln_b: p('ln_b', [8]),
    wqkv: p('wqkv', [8, 24]), bqkv: p('bqkv', [24]), wo: p('wo', [8, 8]), bo: p('bo', [8]), head: p('head', [8, 5]),
    mix: p('mix', [2, 1, 8]),
  };
}

type Params = ReturnType<typeof params>;

/** A loss that touches every primitive: conv + pool, embedding, attention, dropout, layer norm, ... */
function lossOf(ps: Params, image: Tensor, tokens: Int32Array, labels: Int32Array): Tensor {
  const c = maxPool2x2(tanh(conv2d(image, ps.conv, { pad: 1 }))); // [2, 3, 2, 2]
  const feat = reshape(permute(c, [0, 2, 3, 1]), [2, 12]); // [2, 12]
  const side = slice(pad(feat, 1, 1, 3), 1, 0, 8); // [2, 8]
  const x = add(embedding(ps.emb, tokens, [2, 4]), expand(reshape(sigmoid(side), [2, 1, 8]), [2, 4, 8]));
  const h = layerNorm(add(x, ps.mix), ps.ln_g, ps.ln_b);
  const a = causalSelfAttention(h, { wqkv: ps.wqkv, bqkv: ps.bqkv, wo: ps.wo, bo: ps.bo }, 2);
  const d = dropout(gelu(a), 0.25, rngStream(3, 'drop'), 16);
  const y = concat([slice(d, 1, 0, 2), slice(d, 1, 2, 4)], 1); // [2, 4, 8]
  const logits = matmul(reshape(y, [8, 8]), ps.head);
  const extra = div(sum(sqrt(add(mul(logits, logits), 1))), 40);
  return add(sub(crossEntropy(logits, labels), log(add(extra, 2))), 0);
}

function inputs() {
  const image = parameter('image', rand('image', 2 * 2 * 4 * 4), [2, 2, 4, 4]); // with a gradient: col2im runs
  return { image, tokens: new Int32Array([1, 6, 0, 3, 3, 2, 5, 1]), labels: new Int32Array([0, 4, 2, 1, 3, 3, 0, 2]) };
}

function runTraced(observer: OpObserver) {
  const ps = params();
  const { image, tokens, labels } = inputs();
  return withObserver(observer, () => {
    for (const [name, t] of Object.entries(ps)) traceInput(`state.${name}`, t);
    traceInput('step.image', image);
    traceInput('step.tokens', tokens);
    traceInput('step.labels', labels);
    const loss = lossOf(ps, image, tokens, labels);
    loss.backward();
    return { loss: loss.item(), grads: Object.values(ps).map((p) => p.grad!.data) };
  });
}

test('every primitive reports a closed trace that replays to the bit, forward and backward', () => {
  const check = checkingObserver();
  runTraced(check);
  const r = check.result();
  assert.deepEqual(r.mismatches, []);
  for (const kind of [
    'const', 'add', 'sub', 'mul', 'div', 'maximum', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sum', 'max', 'matmul', 'reshape',
    'permute', 'slice', 'pad', 'concat', 'expand', 'gather', 'im2col', 'sumTo', 'maxBackward', 'scatterAdd', 'col2im',
    'copy', 'onehot', 'dropoutMask', 'causalMask', 'greater',
  ]) {
    assert.ok(r.kinds[kind] > 0, `no ${kind} record`);
  }
  assert.ok(r.records > 150, `${r.records} records`);
});

test('tracing changes no bit, and without an observer nothing is reported', () => {
  const plain = (() => {
    const ps = params();
    const { image, tokens, labels } = inputs();
    const loss = lossOf(ps, image, tokens, labels);
    loss.backward();
    return { loss: loss.item(), grads: Object.values(ps).map((p) => p.grad!.data) };
  })();
  const traced = runTraced(checkingObserver({ replay: false }));
  assert.equal(Object.is(traced.loss, plain.loss), true);
  traced.grads.forEach((g, i) => assert.deepEqual(new Uint32Array(g.buffer.slice(0)), new Uint32Array(plain.grads[i].buffer.slice(0))));
  assert.equal(tracing, null);
  // withObserver restores the previous observer, also when fn throws.
  const outer = checkingObserver({ replay: false });
  withObserver(outer, () => {
    assert.throws(() => withObserver(checkingObserver(), () => { throw new Error('x'); }));
    assert.equal(tracing, outer);
  });
  assert.equal(tracing, null);
});

test('the checker catches a wrong output and an input from nowhere', () => {
  // A record whose output is not what its kind computes.
  const check = checkingObserver();
  const a = new Tensor(new Float32Array([1, 2]), [2]);
  check.input('state.a', a);
  check.op({ kind: 'neg', attrs: {}, inputs: [a], output: new Tensor(new Float32Array([-1, -2.0000002]), [2]) });
  assert.deepEqual(check.result().mismatches, [{ index: 0, kind: 'neg', element: 1 }]);
  // An input that is neither declared nor produced, even with the same values as a declared one.
  const copy = new Tensor(new Float32Array([1, 2]), [2]);
  assert.throws(() => check.op({ kind: 'neg', attrs: {}, inputs: [copy], output: new Tensor(new Float32Array([-1, -2]), [2]) }), ClosureError);
  // A record output must be a fresh object.
  assert.throws(() => check.op({ kind: 'neg', attrs: {}, inputs: [a], output: a }), ClosureError);
  // An engine op on an undeclared tensor is caught the same way.
  const seen: OpRecord[] = [];
  const strict = checkingObserver();
  assert.throws(() => withObserver({ input: strict.input, op: (r) => { seen.push(r); strict.op(r); } }, () => add(copy, 1)), ClosureError);
  assert.deepEqual(seen.map((r) => r.kind), ['const', 'add']);
  traceOp('const', { value: 1 }, [], copy); // no observer: a no-op
});
