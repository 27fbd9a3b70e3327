// Learning quality, measured by the real CLI on the built-in data (the slowest tests in the suite).
//
// MNIST: the same models trained with PyTorch on the same 8,000/2,000 split and hyperparameters
// (10 epochs = 1,250 steps of Adam lr 1e-3, batch 64) reach MLP 784-256-10 95.0% and LeNet-5 97.6%
// held-out accuracy; we must come within one percentage point. The runs are deterministic, so the
// figures below are the same on every machine (the golden tests pin the bits).
//
// Text: the tiny GPT on the bundled Coriolanus excerpt must get its held-out loss well below the
// unigram baseline (the entropy of the character frequencies: what a model ignoring context gets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from './cli.ts';

const PYTORCH = { mlp: 0.95, cnn: 0.976 };

function trainJson(spec: string, extra: string[] = []) {
  const out = tempDir('vt-acc-');
  const r = runCli(['train', spec, '--out', out, '--workers', '2', ...extra]);
  assert.equal(r.code, 0, `train ${spec} failed:\n${r.stderr}`);
  return r.json;
}

test('MNIST MLP 784-256-10, 10 epochs: held-out accuracy within 1 pp of PyTorch (95.0%)', () => {
  const j = trainJson('examples/mnist-mlp.json');
  assert.equal(j.steps, 1250);
  console.log(`mnist-mlp test accuracy ${(j.testAccuracy * 100).toFixed(2)}% (PyTorch ${PYTORCH.mlp * 100}%)`);
  assert.ok(j.testAccuracy >= PYTORCH.mlp - 0.01, `accuracy ${j.testAccuracy}`);
});

test('MNIST LeNet-5, 10 epochs: held-out accuracy within 1 pp of PyTorch (97.6%)', () => {
  const j = trainJson('examples/mnist-cnn.json');
  assert.equal(j.steps, 1250);
  console.log(`mnist-cnn test accuracy ${(j.testAccuracy * 100).toFixed(2)}% (PyTorch ${PYTORCH.cnn * 100}%)`);
  assert.ok(j.testAccuracy >= PYTORCH.cnn - 0.01, `accuracy ${j.testAccuracy}`);
});

test('tiny GPT: held-out loss well below the unigram baseline', () => {
  const steps = Number(process.env.VT_GPT_ACC_STEPS ?? 150);
  const j = trainJson('examples/tiny-gpt.json', ['--steps', String(steps)]);
  console.log(`tiny-gpt after ${steps} steps: test loss ${j.loss.toFixed(3)} nats, unigram ${j.unigramLoss.toFixed(3)}`);
  assert.ok(Number.isFinite(j.unigramLoss) && j.unigramLoss > 2, `unigram baseline ${j.unigramLoss}`);
  assert.ok(j.loss < j.unigramLoss - 0.4, `test loss ${j.loss} vs unigram ${j.unigramLoss}`);
});
