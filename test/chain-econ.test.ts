// npm run econ -- --json: one JSON object, every cheating strategy of issue 4 with a negative expected
// value under the defaults, the escape probability of the formula equal to the one sampled with the
// contract's own probe draw, parameters read from a deployment file, sensitivities that can show a
// failure (too many samples for the fee), and bad input refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DEVNET_PARAMS } from '../src/chain/deploy.ts';
import { ROOT } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'vt-econ-'));
const gasFile = join(dir, 'gas.json');

function econ(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/econ.ts'), '--json', '--gas', gasFile, ...args], { cwd: ROOT, encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').at(-1)!;
  return { status: r.status, out: JSON.parse(last), stderr: r.stderr };
}

before(() => {
  // The real gas figures, measured once for every test here.
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gas.ts'), '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  writeFileSync(gasFile, r.stdout);
});

test('defaults: every cheating strategy has a negative expected value; honest roles pay', () => {
  const { status, out } = econ();
  assert.equal(status, 0);
  const names = out.strategies.map((s: { name: string }) => s.name).join('\n');
  for (const want of [/fake work/, /flip one op/, /skip steps/, /wrong data batch/, /wrong optimizer update/, /copy another solver/, /lazy verifier \(never replays, always agrees/, /griefing challenger/, /goes silent mid-dispute/]) {
    assert.match(names, want);
  }
  for (const s of out.strategies) {
    assert.ok(Number.isFinite(s.ev) && Number.isFinite(s.evAbsolute) && s.pCaught >= 0 && s.pCaught <= 1, s.name);
    if (!s.residual) assert.ok(s.ev < 0, `${s.name}: ${s.ev}`);
  }
  assert.equal(out.allNegative, true);
  assert.ok(out.honest.solverProfit > 0 && out.honest.verifierProfit > 0 && out.honest.challengerRewardVsCheat > 0);
  // The protocol numbers are DEVNET_PARAMS', the job the MNIST example's, the gas the measured one.
  assert.equal(out.protocol.disputeBond, Number(DEVNET_PARAMS.disputeBond) / 1e18);
  assert.deepEqual([out.job.steps, out.job.checkpointInterval, out.job.checkpoints], [1250, 125, 10]);
  assert.ok(out.gas.solverHonest > 200_000 && out.gas.probeOpen > 100_000);
});

test('the escape probability of one bad segment: formula = sampling with the contract\'s probe draw', () => {
  const { out } = econ();
  assert.ok(Math.abs(out.derived.pEscapeOneSegment - out.derived.pEscapeOneSegmentSampled) < 0.01, JSON.stringify(out.derived));
  // More verifiers or samples catch more: the table falls along both axes.
  const at = (k: number, s: number) => out.escapeTable.find((e: { verifiers: number; samples: number }) => e.verifiers === k && e.samples === s).pEscapeOneSegment;
  for (let k = 1; k <= 4; k++) for (let s = 1; s < 4; s++) assert.ok(at(k, s + 1) < at(k, s) && (k === 4 || at(k + 1, s) < at(k, s)));
  assert.ok(Math.abs(at(1, 1) - 0.9) < 1e-9 && Math.abs(at(2, 2) - 0.64) < 1e-9);
  const more = econ('--verifiers', '3', '--samples', '1');
  assert.ok(Math.abs(more.out.derived.pEscapeOneSegmentSampled - 0.729) < 0.01);
});

test('sensitivities: more collateral makes a cheat dearer; too many samples for the fee make verifying a loss', () => {
  const { out } = econ();
  const flip = out.strategies.find((s: { name: string }) => s.name.startsWith('flip one op')).name;
  const evs = out.sensitivity.collateral.map((p: { ev: Record<string, number> }) => p.ev[flip]);
  for (let i = 1; i < evs.length; i++) assert.ok(evs[i] < evs[i - 1], `collateral sweep ${evs}`);
  // 4 samples of a 10-segment job at a 10% fee: a verifier's replay costs more than its share, so
  // never revealing beats verifying — the model shows the failure rather than hiding it.
  const four = econ('--samples', '4');
  assert.ok(four.out.honest.verifierProfit < 0);
  assert.equal(four.out.allNegative, false);
  // On L1 gas prices the defaults fail too; the break-even gas price is reported.
  assert.ok(out.breakEven.maxGasPriceGwei > 0.05);
});

test('the protocol parameters come from a deployment file when given', () => {
  const d = {
    version: 2, chainId: 31337, rpcUrl: 'http://127.0.0.1:1', deployer: `0x${'11'.repeat(20)}`, deployedAtBlock: 1,
    contracts: Object.fromEntries(['token', 'registry', 'staking', 'reputation', 'game', 'judge', 'checkpointJudge', 'market'].map((k, i) => [k, `0x${String(i + 1).padStart(40, '0')}`])),
    tokenKind: 'VeriToken', judgeKind: 'TestJudge', checkpointJudgeKind: 'LeafJudge',
    params: {
      faucetAmount: '0', unbondingDelay: 60, minSolverStake: `${100n * 10n ** 18n}`, minVerifierStake: `${50n * 10n ** 18n}`, disputeBond: `${20n * 10n ** 18n}`,
      noShowPenalty: `${7n * 10n ** 18n}`, moveTimeout: 3600, verifierFeeBps: 2000, priorityWindow: 60, maxVerifiers: 8, minChallengeWindow: 60,
      commitPeriod: 30, revealPeriod: 30, probeDisputePeriod: 60,
    },
    solc: 'test',
  };
  const file = join(dir, 'deployment.json');
  writeFileSync(file, JSON.stringify(d));
  const { status, out } = econ('--deployment', file);
  assert.equal(status, 0);
  assert.deepEqual([out.protocol.disputeBond, out.protocol.noShowPenalty, out.protocol.verifierFeeBps, out.derived.verifierShare], [20, 7, 2000, 10]);
  // A 20% fee pays for more samples: 10 × 0.2 / (2 × 0.5 × 0.8) = 2.5 -> 2.
  assert.equal(out.job.samples, 2);
});

test('bad input is refused with one JSON error line', () => {
  const r = econ('--price', 'abc');
  assert.equal(r.status, 1);
  assert.match(r.out.error, /--price must be a non-negative number/);
  const bad = econ('--spec', join(dir, 'missing.json'));
  assert.equal(bad.status, 1);
  assert.ok(bad.out.error);
});
