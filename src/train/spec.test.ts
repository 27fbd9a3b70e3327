import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { canonicalJson, loadSpecFile, parseSpec, specHash } from './spec.ts';

const minimal = {
  version: 1,
  name: 'mini',
  model: { type: 'mlp', hidden: [32] },
  dataset: { builtin: 'mnist-digits' },
  optimizer: { type: 'adamw', lr: 0.001 },
  batchSize: 8,
  steps: 10,
  seed: 3,
  checkpointInterval: 5,
};

function problems(spec: unknown): string {
  try {
    parseSpec(spec);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.message;
  }
  assert.fail('expected the spec to be rejected');
}

test('defaults are filled in', () => {
  const s = parseSpec(minimal);
  assert.equal(s.testFraction, 0.2);
  assert.equal(s.gradClip, null);
  assert.deepEqual(s.schedule, { warmupSteps: 0, decay: 'none', minLrRatio: 0 });
  assert.deepEqual(s.optimizer, { type: 'adamw', lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  assert.deepEqual(s.model, { type: 'mlp', hidden: [32], activation: 'relu' });
});

test('the examples are valid and say what the README promises', () => {
  const mlp = loadSpecFile('examples/mnist-mlp.json');
  assert.deepEqual(mlp.model, { type: 'mlp', hidden: [256], activation: 'relu' });
  assert.equal(mlp.steps * mlp.batchSize, 10 * 8000, '10 epochs over 8,000 training digits');
  assert.equal(mlp.checkpointInterval, 125);
  const cnn = loadSpecFile('examples/mnist-cnn.json');
  assert.deepEqual(cnn.model, { type: 'cnn', arch: 'lenet5' });
  const gpt = loadSpecFile('examples/tiny-gpt.json');
  assert.equal(gpt.model.type, 'gpt');
  assert.deepEqual(gpt.dataset, { builtin: 'tiny-text' });
  assert.equal(gpt.gradClip, 1);
  assert.equal(gpt.schedule.decay, 'cosine');
});

test('unknown fields are errors naming field and path; every problem is listed', () => {
  const msg = problems({ ...minimal, extra: 1, model: { ...minimal.model, hiden: [3] }, optimizer: { type: 'sgd', lr: 0.1, beta1: 0.9 } });
  assert.match(msg, /3 problems/);
  assert.match(msg, /- extra: unknown field "extra"/);
  assert.match(msg, /- model\.hiden: unknown field "hiden"/);
  assert.match(msg, /- optimizer\.beta1: unknown field "beta1"/);
});

test('unknown model type lists the known ones', () => {
  assert.match(problems({ ...minimal, model: { type: 'rnn' } }), /model\.type: unknown model type "rnn"; known: mlp, cnn, gpt/);
  assert.match(problems({ ...minimal, model: {} }), /model\.type: missing; one of mlp, cnn, gpt/);
  assert.match(problems({ ...minimal, optimizer: { type: 'adam', lr: 1 } }), /unknown optimizer type "adam"; known: adamw, sgd/);
});

test('bad values name their path', () => {
  const msg = problems({ ...minimal, batchSize: 0, seed: -1, steps: 1.5, model: { type: 'mlp', hidden: ['a'] }, testFraction: 1 });
  for (const p of ['batchSize', 'seed', 'steps', 'model.hidden[0]', 'testFraction']) assert.match(msg, new RegExp(`- ${p.replace(/[.[\]]/g, '\\$&')}: `));
  assert.match(problems({ ...minimal, checkpointInterval: undefined }), /checkpointInterval: missing/);
  assert.match(problems({ ...minimal, name: '../evil' }), /name: use 1-100 letters/);
  assert.match(problems({ ...minimal, version: 2 }), /version: /);
});

test('dataset refs: builtin or a path with a format', () => {
  assert.match(problems({ ...minimal, dataset: { builtin: 'cifar' } }), /dataset\.builtin: .*"mnist-digits"\|"tiny-text"/);
  assert.match(problems({ ...minimal, dataset: { url: 'x' } }), /dataset: expected \{"builtin"/);
  assert.match(problems({ ...minimal, dataset: { format: 'parquet', path: 'x' } }), /unknown dataset format "parquet"; known: idx, csv, text/);
  assert.match(problems({ ...minimal, dataset: { format: 'csv', path: 'a.csv' } }), /dataset\.labelColumn: missing/);
  assert.match(problems({ ...minimal, dataset: { format: 'text', path: 'a', sha256: 'abc' } }), /dataset\.sha256: expected 64 hex digits/);
  const s = parseSpec({ ...minimal, dataset: { format: 'idx', path: 'i', labelsPath: 'l', sha256: 'AB'.repeat(32) } });
  assert.deepEqual(s.dataset, { format: 'idx', path: 'i', labelsPath: 'l', sha256: 'ab'.repeat(32) });
});

test('cross-field checks: model vs data kind, heads, warmup', () => {
  assert.match(problems({ ...minimal, dataset: { builtin: 'tiny-text' } }), /dataset: model "mlp" needs a classification dataset/);
  const gpt = { type: 'gpt', layers: 1, dModel: 10, heads: 3, context: 8 };
  const msg = problems({ ...minimal, model: gpt, schedule: { warmupSteps: 20 } });
  assert.match(msg, /dataset: model "gpt" needs a text dataset/);
  assert.match(msg, /model\.heads: dModel 10 is not divisible by heads 3/);
  assert.match(msg, /schedule\.warmupSteps: warmup of 20 steps is longer than the 10 steps/);
});

test('JSON text, syntax errors and files', () => {
  assert.equal(parseSpec(JSON.stringify(minimal)).name, 'mini');
  assert.throws(() => parseSpec('{"version": 1,'), /not valid JSON/);
  const dir = mkdtempSync(join(tmpdir(), 'vt-spec-'));
  writeFileSync(join(dir, 's.json'), JSON.stringify({ ...minimal, steps: 0 }));
  assert.throws(() => loadSpecFile(join(dir, 's.json')), (e: unknown) => e instanceof InputError && e.message.includes(join(dir, 's.json')));
  assert.throws(() => loadSpecFile(join(dir, 'missing.json')), /cannot read job spec/);
});

test('canonical JSON sorts keys at every depth and has no whitespace', () => {
  assert.equal(canonicalJson({ b: [1, { d: 1e-8, c: null }], a: 'x', u: undefined }), '{"a":"x","b":[1,{"c":null,"d":1e-8}]}');
});

test('specHash: SHA-256 of the canonical JSON with defaults filled, blind to key order and spelled-out defaults', () => {
  const h = specHash(minimal);
  const filled = parseSpec(minimal);
  assert.equal(h, createHash('sha256').update(canonicalJson(filled)).digest('hex'));
  const reordered = Object.fromEntries(Object.entries(minimal).reverse());
  assert.equal(specHash(reordered), h);
  assert.equal(specHash({ ...minimal, testFraction: 0.2, gradClip: null, schedule: {} }), h);
  assert.notEqual(specHash({ ...minimal, seed: 4 }), h);
  // Golden: the example's identity changes only if the spec format does.
  const file = JSON.parse(readFileSync('examples/mnist-mlp.json', 'utf8'));
  assert.equal(specHash(file), 'aafca2aa950f3dcdfd58ac41ab4a9c2afc34b63fef69938c7afa1a9f10a4bb48');
});
