// `bench/network.ts --json --quick` runs end to end (5 node processes, 20 gossip messages, a 32 MiB
// blob) and its JSON has every figure, each finite and positive. No timing thresholds: the machine
// may be busy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './cli.ts';

const positive = (x: unknown, what: string): void => {
  assert.equal(typeof x, 'number', `${what} is not a number: ${x}`);
  assert.ok(Number.isFinite(x as number) && (x as number) > 0, `${what} is not finite and positive: ${x}`);
};

test('bench/network.ts --json --quick reports every figure', { timeout: 180_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench/network.ts'), '--json', '--quick'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'with --json stdout is exactly one JSON line (the table goes to stderr)');
  const j = JSON.parse(lines[0]);
  assert.equal(j.bench, 'veritrain-network');
  assert.equal(j.quick, true);
  assert.match(r.stderr, /gossip latency, 5 node processes/);
  for (const k of ['p50Ms', 'p90Ms', 'p99Ms', 'maxMs', 'meanMs', 'setupSec', 'samples', 'minMesh', 'publishIntervalMs', 'idleCpuShare', 'busyCpuShare']) {
    positive(j.gossip[k], `gossip.${k}`);
  }
  assert.equal(j.gossip.deliveredFraction, 1, 'every message reached every other node');
  assert.ok(j.gossip.p50Ms <= j.gossip.p99Ms);
  for (const g of ['default', 'semiSpace1']) for (const k of ['medianMB', 'minMB', 'maxMB', 'heapMedianMB']) positive(j.idleRss[g][k], `idleRss.${g}.${k}`);
  for (const k of ['oursMBps', 'oursSec', 'tcpMBps', 'ratioOursToTcp']) positive(j.blob[k], `blob.${k}`);
  positive(j.verifyMs, 'verifyMs');
  for (const k of ['samples', 'p50Ms', 'p99Ms']) positive(j.oneHop[k], `oneHop.${k}`);
});
