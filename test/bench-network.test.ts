// `bench/network.ts --json --quick` runs end to end (5 node processes, 20 gossip messages, a 32 MiB
// blob) and its JSON has every figure, each finite and positive. No timing thresholds: the machine
// may be busy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchJson, positive } from './cli.ts';

test('bench/network.ts --json --quick reports every figure', { timeout: 180_000 }, () => {
  const { json: j, stderr } = benchJson('bench/network.ts');
  assert.equal(j.bench, 'veritrain-network');
  assert.equal(j.quick, true);
  assert.match(stderr, /gossip latency, 5 node processes/);
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
