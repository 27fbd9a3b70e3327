// One real training step of each example model under the op observer (engine/trace.ts): the
// trace is closed (every input a state tensor, job or step input, a constant or an earlier
// output, by identity), every record recomputes to the bit (engine/trace-eval.ts), every state
// tensor is rewritten by a record, and the traced step ends on the same state hash as an
// untraced one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withObserver } from '../engine/trace.ts';
import { checkingObserver } from '../engine/trace-eval.ts';
import { loadSpecFile, parseSpec, type JobSpec } from './spec.ts';
import { prepareJob, stateHashOf, stateTensors, trainStep } from './train.ts';

function spec(file: string, patch: (s: Record<string, unknown>) => void = () => {}): JobSpec {
  const s = JSON.parse(JSON.stringify(loadSpecFile(`examples/${file}.json`))) as Record<string, unknown>;
  patch(s);
  return parseSpec(s);
}

const CASES: { name: string; spec: JobSpec; step: number; kinds: string[] }[] = [
  { name: 'mnist-mlp', spec: spec('mnist-mlp'), step: 1, kinds: ['gather', 'matmul', 'adamwW'] },
  { name: 'mnist-cnn', spec: spec('mnist-cnn'), step: 1, kinds: ['im2col', 'maxBackward', 'col2im'] },
  // The example's model at batch 4 (its batch of 16 costs ~70 s of scalar recomputation here).
  { name: 'tiny-gpt', spec: spec('tiny-gpt', (s) => { s.batchSize = 4; }), step: 1, kinds: ['windows', 'scatterAdd', 'causalMask', 'sumSquares', 'select'] },
  {
    name: 'gpt with dropout 0.1',
    spec: spec('tiny-gpt', (s) => {
      s.model = { type: 'gpt', layers: 1, dModel: 32, heads: 2, context: 16, dropout: 0.1 };
      s.batchSize = 4;
    }),
    step: 2,
    kinds: ['dropoutMask'],
  },
  {
    name: 'mlp, SGD with momentum and weight decay, clipped (first step)',
    spec: spec('mnist-mlp', (s) => {
      s.model = { type: 'mlp', hidden: [32], activation: 'gelu' };
      s.optimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.001 };
      s.gradClip = 0.05;
    }),
    step: 0,
    kinds: ['sgdBuf', 'sgdW', 'select', 'tanh'],
  },
  {
    name: 'mlp, SGD, clipping not triggered (later step)',
    spec: spec('mnist-mlp', (s) => {
      s.model = { type: 'mlp', hidden: [32], activation: 'tanh' };
      s.optimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0 };
      s.gradClip = 1e9;
    }),
    step: 2,
    kinds: ['sgdBuf', 'select'],
  },
];

for (const c of CASES) {
  test(`${c.name}: one step's trace is closed, replays to the bit and changes no bit`, () => {
    const plain = prepareJob(c.spec, 'examples');
    const traced = prepareJob(c.spec, 'examples');
    for (let s = 0; s < c.step; s++) {
      trainStep(plain, s);
      trainStep(traced, s);
    }
    trainStep(plain, c.step);
    const check = checkingObserver();
    withObserver(check, () => trainStep(traced, c.step));
    const r = check.result();
    assert.deepEqual(r.mismatches, [], 'records that do not recompute');
    for (const k of c.kinds) assert.ok(r.kinds[k] > 0, `no ${k} record`);
    // Every state tensor (parameters and optimizer buffers) is written by a record of the step.
    assert.deepEqual(r.updatedState, Object.keys(stateTensors(traced)).map((n) => `state.${n}`).sort());
    assert.ok(r.inputs.some((n) => n.startsWith('data.')) && r.inputs.some((n) => n.startsWith('step.')));
    assert.equal(stateHashOf(traced, c.step + 1), stateHashOf(plain, c.step + 1));
  });
}
