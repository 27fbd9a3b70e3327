// `bench/run.ts --json --quick` runs end to end (matmul vs peers, training vs the tfjs peer, peak
// memory, state-hash cost) and its JSON has every figure, each a finite positive number. No timing
// thresholds: the machine may be busy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli.ts';

const positive = (x: unknown, what: string): void => {
  assert.equal(typeof x, 'number', `${what} is not a number: ${x}`);
  assert.ok(Number.isFinite(x as number) && (x as number) > 0, `${what} is not finite and positive: ${x}`);
};

test('bench/run.ts --json --quick reports every figure', { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench/run.ts'), '--json', '--quick'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'with --json stdout is exactly one JSON line (the table goes to stderr)');
  const j = JSON.parse(lines[0]);
  assert.match(r.stderr, /matmul n×n·n×n, GFLOP\/s/);
  assert.equal(j.bench, 'veritrain');
  assert.equal(j.quick, true);
  positive(j.cores, 'cores');
  assert.deepEqual(j.matmul.skipped, []);
  assert.ok(j.matmul.sizes.length >= 1);
  for (const n of j.matmul.sizes) {
    for (const k of ['ours1', 'ours2', 'tfjs', 'ort1', 'ort2']) positive(j.matmul.gflops[n][k], `matmul ${n} ${k}`);
    for (const k of ['ours1/tfjs', 'ours2/tfjs', 'ours1/ort1', 'ours2/ort2', 'ours2/ours1']) positive(j.matmul.ratios[n][k], `matmul ${n} ${k}`);
  }
  positive(j.matmul.tfjsThreads, 'tfjsThreads');
  for (const m of ['mlp', 'gpt']) {
    const t = j.training[m];
    for (const w of ['ours1', 'ours2']) {
      for (const k of ['stepsPerSec', 'msPerStep', 'peakRssSampledMB', 'maxRssMB', 'stateHashMs', 'checkpointInterval', 'stateHashPctOfInterval', 'timedSteps', 'lastLoss']) {
        positive(t[w][k], `${m} ${w} ${k}`);
      }
    }
    assert.equal(t.ours1.workers, 1);
    assert.equal(t.ours2.workers, 2);
    for (const k of ['stepsPerSec', 'msPerStep', 'maxRssMB', 'timedSteps', 'threads']) positive(t.tfjs[k], `${m} tfjs ${k}`);
    for (const k of ['ours1/tfjs', 'ours2/tfjs', 'ours2/ours1']) positive(t.ratios[k], `${m} ${k}`);
  }
  positive(j.peakTrainRssMB, 'peakTrainRssMB');
  positive(j.maxStateHashPct, 'maxStateHashPct');
  positive(j.seconds, 'seconds');
});
