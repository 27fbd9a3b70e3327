// Dispute levels 0–4 on a real anvil with the real judges (CheckpointJudge, StepJudge, VB's OpJudge)
// and real training of a tiny job, each side played by its own dispute driver: a solver whose run
// flipped one bit of one op output loses to an honest challenger, narrowed to that step and that
// op; an honest solver wins against a challenger who believes the faulty run; drivers restarted
// mid-dispute carry on from their store files. The job's view is a FixedJobShape here
// (test/adversary.test.ts plays through JobMarket).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import { bisectionGameAbi } from '../src/chain/abi.ts';
import { devAccount, send } from '../src/chain/client.ts';
import { getGame } from '../src/chain/game.ts';
import { childOf, deployFixedJobShape, deployJudges, setJobShape, type JudgesDeployment } from '../src/chain/judges.ts';
import { disputePort } from '../src/chain/dispute-port.ts';
import { deployOpJudge, opJudgeClient, type OpJudgeDeployment } from '../src/chain/op-judge.ts';
import { DisputeDriver } from '../src/verify/dispute/driver.ts';
import { RunParty } from '../src/verify/dispute/party.ts';
import { bitFlip, Run } from '../src/verify/dispute/run.ts';
import { fileStore, memoryStore } from '../src/verify/dispute/store.ts';
import { fromHex, MerkleTree, hex } from '../src/verify/merkle.ts';
import { computeManifest } from '../src/verify/manifest.ts';
import { tinyJob } from '../src/verify/testing.ts';
import { startTestChain, type TestChain } from './chain.ts';

const CHALLENGER = 1, SOLVER = 2;
const T0 = performance.now();
let ch: TestChain;
let judges: JudgesDeployment;
let opd: OpJudgeDeployment;
let shape: Address;

before(async () => {
  ch = await startTestChain();
  opd = await deployOpJudge(ch.anvil.url);
  shape = await deployFixedJobShape(ch.as(0));
  judges = await deployJudges(ch.as(0), { market: shape, opJudge: opd.opJudge, moveTimeout: 600 });
});
after(() => ch?.anvil.stop());

async function openLevel0(jobId: bigint, solverParty: RunParty, manifestHash: Hex): Promise<bigint> {
  const leaves = solverParty.level0Leaves();
  const tx = await send(ch.as(0), (w, x) =>
    w.writeContract({
      ...x,
      address: ch.deployment.contracts.game,
      abi: bisectionGameAbi,
      functionName: 'open',
      args: [{
        challenger: devAccount(CHALLENGER).address,
        defender: devAccount(SOLVER).address,
        judge: judges.checkpointJudge,
        moveTimeout: 600,
        n: leaves.length,
        root: hex(new MerkleTree(leaves.map(fromHex)).root),
        genesis: manifestHash,
        claim: leaves[leaves.length - 1],
        context: encodeAbiParameters([{ type: 'uint256' }], [jobId]),
      }],
    }),
  );
  return tx.events.find((e) => e.eventName === 'GameOpened')!.args.gameId as bigint;
}

async function play(jobId: bigint, defender: RunParty, challenger: RunParty, manifestHash: Hex) {
  const gameId = await openLevel0(jobId, defender, manifestHash);
  const driver = async (who: number, party: RunParty, role: 'challenger' | 'defender') => {
    const d = new DisputeDriver({
      port: disputePort({ client: ch.as(who), judges, op: await opJudgeClient(opd, devAccount(who)), settleRoot: async () => false }),
      store: memoryStore(),
      party: () => party,
      log: process.env.VT_LOG ? (m) => console.log(((performance.now() - T0) / 1000).toFixed(2), who, m) : undefined,
    });
    d.track({ game: String(gameId), jobId: String(jobId), role, level: 0 });
    return d;
  };
  const ds = [await driver(SOLVER, defender, 'defender'), await driver(CHALLENGER, challenger, 'challenger')];
  let moves = 0;
  for (let i = 0; i < 200 && ds.some((d) => d.active().length); i++) {
    for (const d of ds) moves += (await d.tick()).reduce((a, r) => a + r.moves.length, 0);
  }
  // The path the dispute took: checkpoint → segment → step → op.
  const seg = await childOf(ch.as(0), judges, gameId, judges.checkpointJudge);
  const ops = seg && (await childOf(ch.as(0), judges, seg.id, judges.stepJudge));
  const op = ops && (await childOf(ch.as(0), judges, ops.id, judges.stepJudge));
  return { phase: (await getGame(ch.as(0), gameId)).phase, moves, path: [seg, ops, op] };
}

test('a solver with one flipped bit loses to an honest challenger; an honest solver wins against a wrong challenger', async () => {
  const tj = tinyJob({ kind: 'mlp', steps: 8, checkpointInterval: 4, seed: 7 });
  const details = computeManifest(tj.spec, tj.baseDir);
  const fault = bitFlip(5, 12, 3, 30);
  const solver = devAccount(SOLVER).address;
  for (const [jobId, cheatingSolver] of [[1n, true], [2n, false]] as const) {
    const honest = new RunParty(new Run(tj.spec, tj.baseDir, { details }), jobId, solver);
    const faulty = new RunParty(new Run(tj.spec, tj.baseDir, { details, fault }), jobId, solver);
    assert.notEqual(honest.level0Leaf(1), faulty.level0Leaf(1));
    assert.equal(honest.level0Leaf(0), faulty.level0Leaf(0));
    await setJobShape(ch.as(0), shape, { jobId, inputs: details.hash, solver, steps: 8, checkpointInterval: 4 });
    const r = cheatingSolver ? await play(jobId, faulty, honest, details.hash) : await play(jobId, honest, faulty, details.hash);
    assert.equal(r.phase, cheatingSolver ? 'challenger-won' : 'defender-won');
    assert.ok(r.moves > 5, `${r.moves} moves`);
    // Narrowed to the faulty op: segment 1 (steps 4..8), step 5, op 12.
    const [seg, ops, op] = r.path;
    assert.deepEqual([seg?.kind, seg?.kind === 'segment' && seg.fromStep], ['segment', 4]);
    assert.deepEqual([ops?.kind, ops?.kind === 'ops' && ops.step], ['ops', 5]);
    assert.deepEqual([op?.kind, op?.kind === 'op' && op.op], ['op', 12]);
  }
});

test('a driver restarted mid-dispute (fresh process state, the same store file) carries on and wins', async () => {
  const tj = tinyJob({ kind: 'gpt', steps: 6, checkpointInterval: 3, seed: 8 });
  const details = computeManifest(tj.spec, tj.baseDir);
  const solver = devAccount(SOLVER).address;
  const jobId = 3n;
  const fault = bitFlip(4, details.program.ops.filter((o) => o.kind === 'matmul').at(-1)!.index, 0, 31);
  const faulty = () => new RunParty(new Run(tj.spec, tj.baseDir, { details, fault }), jobId, solver);
  const honest = () => new RunParty(new Run(tj.spec, tj.baseDir, { details }), jobId, solver);
  await setJobShape(ch.as(0), shape, { jobId, inputs: details.hash, solver, steps: 6, checkpointInterval: 3 });
  const gameId = await openLevel0(jobId, faulty(), details.hash);
  const dir = mkdtempSync(join(tmpdir(), 'vt-disputes-'));
  // Every driver object below starts from nothing but its store file: a restarted node.
  const driver = async (who: number, party: RunParty, file: string) =>
    new DisputeDriver({
      port: disputePort({ client: ch.as(who), judges, op: await opJudgeClient(opd, devAccount(who)), settleRoot: async () => false }),
      store: fileStore(join(dir, file)),
      party: () => party,
    });
  const first = [await driver(SOLVER, faulty(), 'solver.json'), await driver(CHALLENGER, honest(), 'challenger.json')];
  first[0].track({ game: String(gameId), jobId: String(jobId), role: 'defender', level: 0 });
  first[1].track({ game: String(gameId), jobId: String(jobId), role: 'challenger', level: 0 });
  let moves = 0;
  while (moves < 8) for (const d of first) moves += (await d.tick()).reduce((a, r) => a + r.moves.length, 0);
  assert.equal((await getGame(ch.as(0), gameId)).phase, 'awaiting-judge', 'stopped in the middle, below level 0');
  // Restart both: new runs (nothing trained), new ports, the same files.
  const again = [await driver(SOLVER, faulty(), 'solver.json'), await driver(CHALLENGER, honest(), 'challenger.json')];
  assert.deepEqual(again.map((d) => d.active().length), [1, 1]);
  for (let i = 0; i < 200 && again.some((d) => d.active().length); i++) for (const d of again) await d.tick();
  assert.equal((await getGame(ch.as(0), gameId)).phase, 'challenger-won');
  assert.deepEqual(again.map((d) => d.active().length), [0, 0]);
  assert.equal(JSON.parse(readFileSync(join(dir, 'challenger.json'), 'utf8')).disputes[0].status, 'won');
});
