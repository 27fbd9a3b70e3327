// `bench/run.ts --json --quick` runs end to end (matmul vs peers, training vs the tfjs peer, peak
// memory, state-hash cost) and its JSON has every figure, each a finite positive number. No timing
// thresholds: the machine may be busy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchJson, positive } from './cli.ts';

test('bench/run.ts --json --quick reports every figure', { timeout: 120_000 }, () => {
  const { json: j, stderr } = benchJson('bench/run.ts');
  assert.match(stderr, /matmul n×n·n×n, GFLOP\/s/);
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
  positive(j.matmul.ceiling.mulAdd, 'ceiling mulAdd');
  positive(j.matmul.ceiling.tile, 'ceiling tile');
  for (const n of j.matmul.sizes) positive(j.matmul.ofTile[n], `ours1 of the tile at ${n}`);
  for (const m of ['mlp', 'gpt']) {
    const t = j.training[m];
    for (const w of ['ours1', 'ours2']) {
      for (const k of ['stepsPerSec', 'msPerStep', 'peakRssSampledMB', 'maxRssMB', 'stateHashMs', 'stateHashMeanMs', 'stateHashFirstMs', 'hashEvery', 'checkpointInterval', 'stateHashPctOfInterval', 'timedSteps', 'lastLoss']) {
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
