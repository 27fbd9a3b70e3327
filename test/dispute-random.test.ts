// Randomized disputes on a real anvil with the real judges and real training: random tiny jobs
// (MLP/GPT, AdamW/SGD, clipping, dropout), and for each dispute a random step, a random op of that
// step, a random element and bit of its output flipped, and a random lying side (a faulty solver
// against an honest challenger, or an honest solver against a challenger who believes the faulty
// run). Every dispute is played through all levels by two dispute drivers; the honest side must win
// every one. Two processes (test/dispute-random-lane.ts) play the disputes on one anvil. Prints what
// it covered. VT_DISPUTES sets the count (default 1000).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deployFixedJobShape, deployJudges } from '../src/chain/judges.ts';
import { deployOpJudge } from '../src/chain/op-judge.ts';
import { LANES, type Outcome, type Setup } from './dispute-random-lane.ts';
import { startTestChain, type TestChain } from './chain.ts';

const DISPUTES = Number(process.env.VT_DISPUTES ?? 1000);
const PROCESSES = 2;
let ch: TestChain;
let setupFile: string;

before(async () => {
  ch = await startTestChain({ accounts: 2 * LANES * PROCESSES + 2 });
  const opd = await deployOpJudge(ch.anvil.url);
  const shape = await deployFixedJobShape(ch.as(0));
  const judges = await deployJudges(ch.as(0), { market: shape, opJudge: opd.opJudge, moveTimeout: 600 });
  const setup: Setup = { rpcUrl: ch.anvil.url, deployment: ch.deployment, judges, opJudge: opd.opJudge, programs: opd.programs, shape, timeout: 600 };
  setupFile = join(mkdtempSync(join(tmpdir(), 'vt-random-')), 'setup.json');
  writeFileSync(setupFile, JSON.stringify(setup, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
});
after(() => ch?.anvil.stop());

function share(p: number): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/dispute-random-lane.ts', setupFile, String(p), String(PROCESSES), String(DISPUTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`lane process ${p} exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Outcome[]);
    });
  });
}

test(`${DISPUTES} randomized disputes: the honest side always wins`, { timeout: 1_800_000 }, async () => {
  const t0 = performance.now();
  const out = (await Promise.all(Array.from({ length: PROCESSES }, (_, p) => share(p)))).flat();
  const secs = (performance.now() - t0) / 1000;
  const count = (f: (o: Outcome) => string) => out.reduce<Record<string, number>>((m, o) => ((m[f(o)] = (m[f(o)] ?? 0) + 1), m), {});
  const played = out.filter((o) => o.result === 'honest won');
  console.log(JSON.stringify({
    disputes: out.length,
    seconds: Number(secs.toFixed(1)),
    results: count((o) => o.result),
    playedByLiar: count((o) => (o.result === 'honest won' ? o.liar : 'not played')),
    byJob: count((o) => o.job),
    faultedKinds: Object.keys(count((o) => o.kind)).length,
    endedOn: count((o) => o.judgedOp ?? 'not played'),
    movesPerDispute: played.length ? Number((played.reduce((a, o) => a + o.moves, 0) / played.length).toFixed(1)) : 0,
  }, null, 1));
  assert.equal(out.length, DISPUTES);
  assert.deepEqual(new Set(out.map((o) => o.i)).size, DISPUTES);
  assert.ok(played.length >= DISPUTES / 2, `only ${played.length} of ${DISPUTES} faults were visible`);
  assert.ok(played.some((o) => o.liar === 'solver') && played.some((o) => o.liar === 'challenger'));
});
