// The README's first command: `npm run demo -- --json` brings up a chain and five node processes,
// runs one MNIST job through the network and ends with one JSON object and the verified model.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCheckpoint } from '../src/train/checkpoint.ts';
import { runCli, tempDir } from './cli.ts';

test('demo --json: posted → claimed → trained → committed → verified → finalized → downloaded; one JSON line with jobId, finalHash, verified, modelPath', () => {
  const out = tempDir('vt-demo-');
  const r = runCli(['demo', '--steps', '100', '--out', out]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one stdout line with --json');
  const j = r.json;
  assert.equal(j.jobId, '1');
  assert.match(j.finalHash, /^[0-9a-f]{64}$/);
  assert.equal(j.verified, true);
  assert.equal(j.modelPath, join(out, 'model.safetensors'));
  assert.ok(existsSync(j.modelPath));
  const model = decodeCheckpoint(new Uint8Array(readFileSync(j.modelPath)));
  assert.equal(model.stateHash, j.finalHash, 'the file on disk is the verified model');
  assert.equal(model.step, 100);
  for (const s of ['posted', 'claimed', 'checkpoints', 'submitted', 'verifiers-drawn', 'verifier-committed', 'verifier-revealed', 'finalized']) assert.ok(s in j.stagesSec, `stage ${s} shown`);
  assert.ok(j.testAccuracy > 0.6, `accuracy ${j.testAccuracy}`);
  for (const s of ['posted', 'claimed', 'checkpoints', 'result', 'verifiers drawn', 'committed', 'revealed', 'finalized', 'held-out accuracy']) assert.ok(r.stderr.includes(s), `the human output shows "${s}"`);
});
