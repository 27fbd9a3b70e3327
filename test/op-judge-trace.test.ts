// The op table against real training steps: one traced step (engine/trace.ts) of each example
// model, a GPT with dropout and clipped SGD; every record goes through describe() and the element
// programs of its kind, and sampled elements (first, last, random) must equal what the engine
// wrote (the WASM SIMD kernels), bit for bit. Every kind the three example models produce is covered; the descriptors
// round-trip through encodeOp/decodeOp.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setBackend } from '../src/engine/kernels/current.ts';
import { createWasmBackendSync } from '../src/engine/kernels/wasm/index.ts';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { withObserver } from '../src/engine/trace.ts';
import { loadSpecFile, parseSpec, type JobSpec } from '../src/train/spec.ts';
import { prepareJob, trainStep } from '../src/train/train.ts';
import { sameResult } from '../src/verify/scalar.ts';
import { compile, decodeOp, elementValue, encodeOp, opOf, recordingObserver, wordsOf, type KindName, type ResolvedRecord } from '../src/verify/ops/index.ts';

/** Checks sampled elements of every record of a traced step through its descriptor's programs. */
function checkRecords(records: ResolvedRecord[], samples: number) {
  const kinds = new Map<KindName, number>();
  let elements = 0;
  for (const r of records) {
    const { d, inputs, output } = opOf(r);
    assert.deepEqual(decodeOp(encodeOp(d)), d, `${r.kind}: descriptor round trip`);
    const c = compile(d);
    const w = inputs.map(wordsOf);
    const want = wordsOf(output);
    assert.equal(c.E, want.length, `${r.kind}: output size`);
    const rnd = randomU32s(rngStream(4, `trace/${r.index}`), 0, samples);
    for (const e of new Set([0, c.E - 1, ...Array.from(rnd, (x) => x % Math.max(1, c.E))])) {
      if (e < 0 || e >= c.E) continue;
      const got = elementValue(c, w, e);
      if (!sameResult(got, want[e])) {
        assert.fail(`record ${r.index} (${r.kind} ${JSON.stringify(r.attrs)}): element ${e}: program 0x${got.toString(16)}, engine 0x${want[e].toString(16)}`);
      }
      elements++;
    }
    kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
  }
  return { records: records.length, elements, kinds };
}

function spec(file: string, patch: (s: Record<string, unknown>) => void = () => {}): JobSpec {
  const s = JSON.parse(JSON.stringify(loadSpecFile(`examples/${file}.json`))) as Record<string, unknown>;
  patch(s);
  return parseSpec(s);
}

const seen = new Set<KindName>();

// The kernels production trains with (WASM SIMD), one thread: the records are what they compute.
const backend = createWasmBackendSync({ threads: 1 });
setBackend(backend);
after(() => backend.close());

const CASES: { name: string; spec: JobSpec; step: number; samples: number }[] = [
  { name: 'mnist-mlp', spec: spec('mnist-mlp'), step: 1, samples: 6 },
  { name: 'mnist-cnn', spec: spec('mnist-cnn'), step: 1, samples: 3 },
  { name: 'tiny-gpt', spec: spec('tiny-gpt'), step: 1, samples: 3 },
  {
    name: 'gpt with dropout 0.1',
    spec: spec('tiny-gpt', (s) => {
      s.model = { type: 'gpt', layers: 1, dModel: 32, heads: 2, context: 16, dropout: 0.1 };
      s.batchSize = 4;
    }),
    step: 2,
    samples: 8,
  },
  {
    name: 'mlp, SGD with momentum and weight decay, clipped (first step)',
    spec: spec('mnist-mlp', (s) => {
      s.model = { type: 'mlp', hidden: [32], activation: 'gelu' };
      s.optimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.001 };
      s.gradClip = 0.05;
    }),
    step: 0,
    samples: 8,
  },
  {
    name: 'mlp, SGD, tanh, not clipped (later step)',
    spec: spec('mnist-mlp', (s) => {
      s.model = { type: 'mlp', hidden: [32], activation: 'tanh' };
      s.optimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0 };
      s.gradClip = 1e9;
    }),
    step: 2,
    samples: 8,
  },
];

for (const c of CASES) {
  test(`${c.name}: every record of a step equals its element programs`, () => {
    const job = prepareJob(c.spec, 'examples');
    for (let s = 0; s < c.step; s++) trainStep(job, s);
    const obs = recordingObserver();
    withObserver(obs, () => trainStep(job, c.step));
    const r = checkRecords(obs.records, c.samples);
    for (const k of r.kinds.keys()) seen.add(k);
    console.log(`# ${c.name}: ${r.records} records, ${r.elements} elements checked, kinds: ${[...r.kinds.keys()].join(' ')}`);
    assert.ok(r.records > 50);
  });
}

test('the example models and variants produce every kind but concat', () => {
  const all: KindName[] = [
    'const', 'add', 'sub', 'mul', 'div', 'maximum', 'greater', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sum', 'max', 'matmul',
    'reshape', 'copy', 'permute', 'slice', 'expand', 'gather', 'im2col', 'sumTo', 'maxBackward', 'scatterAdd', 'col2im',
    'onehot', 'dropoutMask', 'causalMask', 'windows', 'sumSquares', 'select', 'adamwM', 'adamwV', 'adamwW', 'sgdBuf', 'sgdW',
  ];
  assert.deepEqual(all.filter((k) => !seen.has(k)), []);
});
