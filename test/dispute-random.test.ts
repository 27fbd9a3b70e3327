// Randomized disputes on a real anvil with the real judges and real training: random tiny jobs
// (MLP/GPT, AdamW/SGD, clipping, dropout), and for each dispute a random step, a random op of that
// step, a random element and bit of its output flipped, and a random lying side (a faulty solver
// against an honest challenger, or an honest solver against a challenger who believes the faulty
// run). Disputes are drawn until VT_DISPUTES (default 1000) of them were played to a verdict (a
// flipped bit that changes no committed state, or stops the engine, leaves nothing to dispute: drawn
// past, and counted). Every dispute is played through all levels by two dispute drivers; the honest
// side must win every one. Two processes (test/dispute-random-lane.ts) play them on one anvil.
// Prints what it covered.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deployFixedJobShape, deployJudges, judgeAbis } from '../src/chain/judges.ts';
import { deployOpJudge } from '../src/chain/op-judge.ts';
import { LANES, type Outcome, type Setup } from './dispute-random-lane.ts';
import { startTestChain, type TestChain } from './chain.ts';

const DISPUTES = Number(process.env.VT_DISPUTES ?? 1000);
const PROCESSES = 2;
// Verdicts per chain. Anvil's work per block grows with its state (every game's storage stays), so
// one chain for 1,000 disputes costs ~n²: 100 verdicts took 11 s of anvil CPU, 300 took 80 s, 1,000
// ~800 s. A fresh chain (judges deployed anew) every PER_ROUND verdicts keeps it linear.
const PER_ROUND = 125;
const ROUNDS = Math.max(1, Math.ceil(DISPUTES / PER_ROUND));

/** A fresh devnet with the judges; its setup file for the lane processes. */
async function freshChain(): Promise<{ ch: TestChain; setupFile: string }> {
  const ch = await startTestChain({ accounts: 2 * LANES * PROCESSES + 2 });
  try {
    const opd = await deployOpJudge(ch.anvil.url);
    const shape = await deployFixedJobShape(ch.as(0));
    const judges = await deployJudges(ch.as(0), { market: shape, opJudge: opd.opJudge, moveTimeout: 600 });
    const setup: Setup = { rpcUrl: ch.anvil.url, deployment: ch.deployment, judges, opJudge: opd, judgeAbis: await judgeAbis(), shape, timeout: 600 };
    const setupFile = join(mkdtempSync(join(tmpdir(), 'vt-random-')), 'setup.json');
    writeFileSync(setupFile, JSON.stringify(setup, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    return { ch, setupFile };
  } catch (e) {
    await ch.anvil.stop();
    throw e;
  }
}
let current: TestChain | undefined;
after(() => current?.anvil.stop());

/** Lane process `slot` of a round: disputes p, p + P, ... until `target` verdicts. */
function share(setupFile: string, p: number, P: number, target: number, slot: number): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/dispute-random-lane.ts', setupFile, String(p), String(P), String(target), String(slot)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`lane process ${p} exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Outcome[]);
    });
  });
}

test(`${DISPUTES} randomized disputes played to a verdict: the honest side always wins`, { timeout: 1_800_000 }, async () => {
  const t0 = performance.now();
  // Round r's lane j draws disputes r·PROCESSES + j + k·ROUNDS·PROCESSES: every draw once overall.
  const out: Outcome[] = [];
  const target = Math.ceil(DISPUTES / (ROUNDS * PROCESSES));
  for (let r = 0; r < ROUNDS; r++) {
    const { ch, setupFile } = await freshChain();
    current = ch;
    try {
      const shares = await Promise.all(Array.from({ length: PROCESSES }, (_, j) => share(setupFile, r * PROCESSES + j, ROUNDS * PROCESSES, target, j)));
      out.push(...shares.flat());
    } finally {
      await ch.anvil.stop();
      current = undefined;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const count = (f: (o: Outcome) => string) => out.reduce<Record<string, number>>((m, o) => ((m[f(o)] = (m[f(o)] ?? 0) + 1), m), {});
  const played = out.filter((o) => o.result === 'honest won');
  console.log(JSON.stringify({
    drawn: out.length,
    played: played.length,
    seconds: Number(secs.toFixed(1)),
    chains: ROUNDS,
    results: count((o) => o.result),
    playedByLiar: count((o) => (o.result === 'honest won' ? o.liar : 'not played')),
    byJob: count((o) => o.job),
    faultedKinds: Object.keys(count((o) => o.kind)).length,
    endedOn: count((o) => o.judgedOp ?? 'not played'),
    movesPerDispute: played.length ? Number((played.reduce((a, o) => a + o.moves, 0) / played.length).toFixed(1)) : 0,
    faultyStepsPerDispute: played.length ? Number((played.reduce((a, o) => a + (o.faultySteps ?? 0), 0) / played.length).toFixed(1)) : 0,
  }, null, 1));
  // Every dispute drawn is accounted for, each once; at least DISPUTES reached a verdict (every one
  // the honest side's: playShare asserts each game's outcome); both sides lied in some.
  assert.equal(new Set(out.map((o) => o.i)).size, out.length);
  assert.ok(played.length >= DISPUTES, `only ${played.length} of ${out.length} drawn disputes were played`);
  assert.ok(played.some((o) => o.liar === 'solver') && played.some((o) => o.liar === 'challenger'));
});
