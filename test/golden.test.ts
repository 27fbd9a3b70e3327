// Golden final hashes (state hash v2, docs/verification.md §3), recorded from real runs: the same
// bits with 1, 2 and 4 workers, under Node 24 and Node 22 (both from npm), and after a kill -9 and
// resume. (The v1 hashes of the same runs were e5a1048d…, 59d3756a…, 9cfe4b15…: the training bits
// did not change, only what the hash covers.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { node22, runCli, runCliAsync, tempDir } from './cli.ts';

const GOLDEN = [
  { spec: 'examples/mnist-mlp.json', steps: 20, hash: 'b6262e6786e3bc3a784c7cfbf78fd3f20e6ee6e5d1e1c72d582203f54770c688' },
  { spec: 'examples/mnist-cnn.json', steps: 6, hash: '2f0baa29db3ab72e6cae5290f767aa94582121b9d1ef63d4e5eb3e2faff0d877' },
  { spec: 'examples/tiny-gpt.json', steps: 4, hash: '6bccbf613d7ccad1fbd06b5409c614fc12c192b7061c3714059c84a4a2cc3502' },
];

for (const g of GOLDEN) {
  for (const workers of [1, 2, 4]) {
    test(`${g.spec}: ${g.steps} steps with ${workers} worker(s) end on the golden hash`, () => {
      const r = runCli(['train', g.spec, '--steps', String(g.steps), '--workers', String(workers), '--out', tempDir()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.finalHash, g.hash);
      assert.equal(r.json.steps, g.steps);
    });
  }
}

test('Node 22 (from npm) gives the same golden hashes as Node 24', () => {
  const node = node22();
  for (const g of GOLDEN) {
    const r = runCli(['train', g.spec, '--steps', String(g.steps), '--workers', '2', '--out', tempDir()], { node });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.finalHash, g.hash, `${g.spec} under Node 22`);
  }
});

test('a run killed with SIGKILL resumes from its last checkpoint and ends on the same hash', async () => {
  const steps = 300; // checkpoints every 125 steps: 125, 250, 300
  const whole = runCli(['train', 'examples/mnist-mlp.json', '--steps', String(steps), '--workers', '1', '--out', tempDir()]);
  assert.equal(whole.code, 0, whole.stderr);

  const out = tempDir();
  const child = runCliAsync(['train', 'examples/mnist-mlp.json', '--steps', String(steps), '--workers', '1', '--out', out]);
  const first = join(out, 'ckpt-0000000125.safetensors');
  const t0 = Date.now();
  while (!existsSync(first)) {
    if (Date.now() - t0 > 120_000) throw new Error('no checkpoint appeared within 120 s');
    if (child.exitCode !== null) throw new Error('the run finished before it could be killed');
    await sleep(5);
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(!existsSync(join(out, 'ckpt-0000000300.safetensors')), 'killed before the end');

  const resumed = runCli(['train', 'examples/mnist-mlp.json', '--steps', String(steps), '--workers', '2', '--out', out]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(resumed.json.resumedFrom >= 125, `resumed from ${resumed.json.resumedFrom}`);
  assert.equal(resumed.json.finalHash, whole.json.finalHash);
  assert.equal(resumed.json.chainHead, whole.json.chainHead);
});
