// `bench/network.ts --only e2e` (the end-to-end overhead of the network against training alone)
// runs end to end on a short job and its figures hang together. No timing thresholds: the machine
// may be busy; the measured figure is in bench/README.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { positive, ROOT } from './cli.ts';

test('bench:network --only e2e: a job trained alone and through a local network ends on the same state; every figure is there', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench/network.ts'), '--json', '--quick', '--only', 'e2e', '--e2e-seconds', '3'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'with --json stdout is exactly one JSON line');
  const e = JSON.parse(lines[0]).e2e;
  assert.equal(e.sameHash, true, 'the network trained the same bits');
  for (const k of ['steps', 'checkpoints', 'localSec', 'toResultSec', 'submitSec', 'claimSec', 'trainSec', 'toModelSec', 'setupSec']) positive(e[k], `e2e.${k}`);
  assert.ok(Number.isFinite(e.overheadPct));
  assert.ok(e.toModelSec >= e.toResultSec && e.toResultSec >= e.submitSec);
  assert.match(r.stderr, /through the network, submit → result on chain/);
});
