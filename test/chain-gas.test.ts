// npm run gas -- --json: every figure is a positive gas amount, the honest lifecycle stays under the
// 500k target (cold and warm), and the verifier rounds and dispute moves (both levels) are all there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './cli.ts';

test('gas figures: honest lifecycle under 500k, every step and dispute move measured', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gas.ts'), '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const figures: number[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'number') figures.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(out.gas);
  assert.ok(figures.length > 90, `${figures.length} figures`);
  for (const f of figures) assert.ok(Number.isInteger(f) && f > 21_000 && f < 2_000_000, `implausible gas ${f}`);
  const { cold, warm, withVerifiers } = out.gas.honestLifecycle;
  for (const step of ['post', 'claim', 'commit', 'submitResult', 'finalize', 'withdrawSolver']) {
    assert.ok(cold[step] > 0 && warm[step] > 0, step);
  }
  for (const step of ['drawVerifiers', 'attest1', 'attest2', 'reveal1', 'reveal2', 'finalize', 'withdrawVerifier1']) assert.ok(withVerifiers[step] > 0, step);
  const v = out.gas.verifiers;
  for (const step of ['replaceVerifier', 'drawReplacement', 'attestReplacement', 'revealReplacement']) assert.ok(v.replacement[step] > 0, step);
  assert.ok(v.noShows.finalizeTwoNoShows > 0);
  for (const side of ['probeLazyVerifier', 'probeGriefingSolver']) {
    for (const move of ['disputeProbe', 'callJudge', 'settleProbeDispute']) assert.ok(v[side][move] > 0, `${side} ${move}`);
  }
  assert.ok(out.probeSteps.lazyVerifier >= 1 && out.probeSteps.griefingSolver >= 1);
  assert.ok(out.gas.totals.honestCold < 500_000, `cold lifecycle ${out.gas.totals.honestCold}`);
  assert.ok(out.gas.totals.honestWarm < 500_000, `warm lifecycle ${out.gas.totals.honestWarm}`);
  assert.equal(out.honestUnderTarget, true);
  for (const side of ['solverHonest', 'solverCheats']) {
    const d = out.gas.dispute[side];
    for (const move of ['challenge', 'reveal1', 'answer1', 'callJudge', 'settleDispute']) assert.ok(d[move] > 0, `${side} ${move}`);
  }
  for (const k of ['timeoutGame', 'reopenExpired', 'cancelJob']) assert.ok(out.gas.other[k] > 0, k);
});
