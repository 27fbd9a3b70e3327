// The adversary suite (issue 4): a configurable cheating node (src/verify/dispute/adversary.ts)
// against honest nodes, through the real JobMarket with the real verification judges
// (deployContracts({ judges: 'verification' })), real training of tiny jobs and the dispute driver
// on both sides. Every case ends with the liar slashed (or its bond lost) and the honest side paid,
// checked on token balances after withdrawal.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestClient, http, keccak256, maxUint256, toHex, type Address, type Hex } from 'viem';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import type { Deployment } from '../src/chain/deployment.ts';
import { disputePort } from '../src/chain/dispute-port.ts';
import type { JudgesDeployment } from '../src/chain/judges.ts';
import * as m from '../src/chain/market.ts';
import { merkleRoot } from '../src/chain/merkle.ts';
import { opJudgeClient, type OpJudgeDeployment } from '../src/chain/op-judge.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { cheatingParty, type Cheat } from '../src/verify/dispute/adversary.ts';
import { DisputeDriver, type DisputeRecord, type Role } from '../src/verify/dispute/driver.ts';
import { RunParty, type Party } from '../src/verify/dispute/party.ts';
import { Run } from '../src/verify/dispute/run.ts';
import { memoryStore } from '../src/verify/dispute/store.ts';
import { computeManifest, type ManifestDetails } from '../src/verify/manifest.ts';
import { tinyJob, type TinyJob } from '../src/verify/testing.ts';
import { registerTestNode } from './chain.ts';

const VTT = 10n ** 18n;
const SUBMITTER = 1, SOLVER = 2, CHALLENGER = 3, SOLVER_B = 4, V1 = 5, V2 = 6;
const PRICE = 20n * VTT, COLLATERAL = 40n * VTT;
let anvil: Anvil;
let d: Deployment;
let judges: JudgesDeployment;
let opd: OpJudgeDeployment;
const nodes = new Map<number, bigint>();
const clients = new Map<number, ChainClient>();
const c = (i: number): ChainClient => {
  if (!clients.has(i)) clients.set(i, connect({ deployment: d, account: devAccount(i), pollingInterval: 2 }));
  return clients.get(i)!;
};
const addr = (i: number): Address => devAccount(i).address;
let t: ReturnType<typeof createTestClient>;
const passTime = async (s: number) => {
  await t.increaseTime({ seconds: s });
  await t.mine({ blocks: 1 });
};

let tj: TinyJob;
let details: ManifestDetails;
let honestRun: Run;

before(async () => {
  anvil = await startAnvil({ args: ['--accounts', '10'] });
  d = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), judges: 'verification' });
  t = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  const ct = d.contracts;
  judges = { checkpointJudge: ct.checkpointJudge, stepJudge: ct.judge, opJudge: ct.opJudge!, moveTimeout: d.params.moveTimeout, arity: 16 };
  const { compileOpJudge } = await import('../src/chain/op-judge.ts');
  const { artifactOf } = await import('../src/chain/compile.ts');
  const arts = await compileOpJudge();
  opd = { rpcUrl: anvil.url, chainId: d.chainId, opJudge: ct.opJudge!, programs: ct.opJudgePrograms!, arity: 16, abi: artifactOf(arts, 'OpJudge').abi, programsAbi: artifactOf(arts, 'OpJudgePrograms').abi };
  for (const i of [SUBMITTER, SOLVER, CHALLENGER, SOLVER_B, V1, V2]) {
    await tok.faucet(c(i));
    await tok.approve(c(i), ct.market, maxUint256);
    await tok.approve(c(i), ct.staking, maxUint256);
  }
  for (const i of [SOLVER, SOLVER_B]) {
    await stk.bond(c(i), 200n * VTT);
    nodes.set(i, await registerTestNode(c(i), 1));
  }
  for (const i of [V1, V2]) {
    await stk.bond(c(i), 100n * VTT);
    await stk.joinVerifierPool(c(i));
  }
  tj = tinyJob({ kind: 'mlp', steps: 8, checkpointInterval: 4, seed: 11 });
  details = computeManifest(tj.spec, tj.baseDir);
  honestRun = new Run(tj.spec, tj.baseDir, { details, traces: 8 });
});
after(() => anvil?.stop());

/** Post the tiny job, let `solver` claim it and submit the result its party computed. */
async function postAndSolve(solver: number, partyOf: (jobId: bigint) => Party, o: { verifiers?: number; samples?: number } = {}) {
  const { jobId } = await m.postJob(c(SUBMITTER), {
    manifest: details.manifest, price: PRICE, duration: 24 * 3600, steps: tj.spec.steps, checkpointInterval: tj.spec.checkpointInterval,
    verifiers: o.verifiers ?? 0, samples: o.samples ?? 0, collateral: COLLATERAL, challengeWindow: 20 * 3600,
  });
  await passTime(d.params.priorityWindow + 1);
  // A solver slashed in an earlier case tops its stake up again.
  const bonded = (await stk.stakeOf(c(0), addr(solver))).bonded;
  if (bonded < 200n * VTT) await stk.bond(c(solver), 200n * VTT - bonded);
  await m.claimJob(c(solver), jobId, nodes.get(solver)!);
  const party = partyOf(jobId);
  const leaves = party.level0Leaves();
  const modelHash = party instanceof RunParty ? party.run.stateHash(tj.spec.steps) : keccak256(toHex('made up model'));
  await m.submitResult(c(solver), jobId, merkleRoot(leaves), modelHash);
  return { jobId, party };
}

const honest = (jobId: bigint, solver: number) => new RunParty(honestRun, jobId, addr(solver));
const cheat = (k: Cheat, jobId: bigint, solver: number) => cheatingParty(k, { spec: tj.spec, baseDir: tj.baseDir, details, jobId, solver: addr(solver) });

/** Both sides' drivers play the dispute to its end (passing time when both wait); returns each side's record. */
async function play(rec: Omit<DisputeRecord, 'status' | 'role'>, sides: { who: number; role: Role; party: Party; silentFrom?: number }[]) {
  const drivers = await Promise.all(sides.map(async (s) => {
    const dr = new DisputeDriver({
      port: disputePort({ client: c(s.who), judges, op: await opJudgeClient(opd, devAccount(s.who)) }),
      store: memoryStore(),
      party: () => s.party,
      silent: s.silentFrom === undefined ? undefined : (_r, mv) => mv.level >= s.silentFrom!,
    });
    dr.track({ ...rec, role: s.role });
    return dr;
  }));
  for (let i = 0; i < 300 && drivers.some((x) => x.active().length); i++) {
    let moved = 0;
    for (const dr of drivers) moved += (await dr.tick()).reduce((a, r) => a + r.moves.length, 0);
    if (!moved) await passTime(d.params.moveTimeout + 1);
  }
  return drivers.map((x) => x.active().length === 0 ? memoryStoreOf(x) : null);
}
const memoryStoreOf = (x: DisputeDriver) => (x as unknown as { o: { store: { list(): DisputeRecord[] } } }).o.store.list()[0];

async function balances(...who: number[]) {
  return Promise.all(who.map(async (i) => ({ token: await tok.tokenBalance(c(0), addr(i)), credit: await m.withdrawable(c(0), addr(i)), bonded: (await stk.stakeOf(c(0), addr(i))).bonded })));
}
async function withdrawAll(...who: number[]) {
  for (const i of who) if ((await m.withdrawable(c(0), addr(i))) > 0n) await m.withdraw(c(i));
}

/** A challenge of a solver's result, played out; checks who was paid and who was slashed. */
async function challengeCase(solverParty: (jobId: bigint) => Party, challengerParty: (jobId: bigint) => Party, liar: 'solver' | 'challenger', extra: { solverSilentFrom?: number; challengerSilentFrom?: number } = {}) {
  const { jobId } = await postAndSolve(SOLVER, solverParty);
  const before = await balances(SUBMITTER, SOLVER, CHALLENGER);
  const { gameId } = await m.challenge(c(CHALLENGER), jobId);
  const bond = BigInt(d.params.disputeBond);
  const [sol, chal] = await play({ game: String(gameId), jobId: String(jobId), level: 0 }, [
    { who: SOLVER, role: 'defender', party: solverParty(jobId), silentFrom: extra.solverSilentFrom },
    { who: CHALLENGER, role: 'challenger', party: challengerParty(jobId), silentFrom: extra.challengerSilentFrom },
  ]);
  assert.equal(sol?.status, liar === 'solver' ? 'lost' : 'won');
  assert.equal(chal?.status, liar === 'solver' ? 'won' : 'lost');
  assert.ok(sol?.settled || chal?.settled, 'the market settled the dispute');
  await withdrawAll(SUBMITTER, SOLVER, CHALLENGER);
  const after = await balances(SUBMITTER, SOLVER, CHALLENGER);
  if (liar === 'solver') {
    // The solver's collateral is slashed: half to the challenger (and its bond back), half to the submitter.
    assert.equal(after[1].bonded, before[1].bonded - COLLATERAL, 'solver slashed');
    assert.equal(after[2].token, before[2].token + COLLATERAL / 2n, 'challenger paid');
    assert.equal(after[0].token, before[0].token + (COLLATERAL - COLLATERAL / 2n), 'submitter paid');
    assert.equal((await m.getJob(c(0), jobId)).state, 'open', 'the job reopens');
  } else {
    // The challenger's bond goes to the honest solver.
    assert.equal(after[2].token, before[2].token - bond, 'challenger lost its bond');
    assert.equal(after[1].token, before[1].token + bond, 'solver paid the bond');
    assert.equal(after[1].bonded, before[1].bonded, 'solver not slashed');
  }
  return jobId;
}

/** The last matmul of a step (a weight gradient): a flipped sign bit there always reaches the weights. */
const flipOp = () => details.program.ops.filter((o) => o.kind === 'matmul').at(-1)!.index;
const updateOp = () => details.program.ops.find((o) => o.kind === 'adamwW')!.index;

describe('adversary suite: the liar is slashed, the honest side paid', () => {
  test('(a) fake work: random weights', async () => {
    await challengeCase((j) => cheat({ kind: 'fake-work', seed: 3 }, j, SOLVER), (j) => honest(j, SOLVER), 'solver');
  });

  test('(b) one flipped bit in one op output at a random step', async () => {
    // The sign bit of the op's largest output element (a zero's sign may not matter).
    const out = Array.from(honestRun.trace(5, [flipOp()]).captured.get(flipOp())!.output.data);
    const element = out.reduce((best, v, i) => (Math.abs(v) > Math.abs(out[best]) ? i : best), 0);
    const flip: Cheat = { kind: 'bit-flip', step: 5, op: flipOp(), element, bit: 31 };
    assert.notEqual((cheat(flip, 1n, SOLVER) as RunParty).run.stateHash(8), honestRun.stateHash(8), 'the flip reaches the result');
    await challengeCase((j) => cheat(flip, j, SOLVER), (j) => honest(j, SOLVER), 'solver');
  });

  test('(c) skipped steps', async () => {
    await challengeCase((j) => cheat({ kind: 'skip', steps: [2, 3] }, j, SOLVER), (j) => honest(j, SOLVER), 'solver');
  });

  test('(d) a wrong data batch', async () => {
    await challengeCase((j) => cheat({ kind: 'wrong-batch', step: 6 }, j, SOLVER), (j) => honest(j, SOLVER), 'solver');
  });

  test('(e) a wrong optimizer update', async () => {
    await challengeCase((j) => cheat({ kind: 'wrong-update', step: 1, op: updateOp() }, j, SOLVER), (j) => honest(j, SOLVER), 'solver');
  });

  test("(f) replaying another solver's commitments", async () => {
    // Solver A solves the job honestly; solver B claims the same job posted again and submits A's root.
    const { jobId: a } = await postAndSolve(SOLVER, (j) => honest(j, SOLVER));
    const copied = honest(a, SOLVER).level0Leaves();
    const { jobId } = await postAndSolve(SOLVER_B, (j) => cheat({ kind: 'copy', leaves: copied }, j, SOLVER_B));
    const before = await balances(SUBMITTER, SOLVER_B, CHALLENGER);
    const { gameId } = await m.challenge(c(CHALLENGER), jobId);
    const [sol, chal] = await play({ game: String(gameId), jobId: String(jobId), level: 0 }, [
      { who: SOLVER_B, role: 'defender', party: cheat({ kind: 'copy', leaves: copied }, jobId, SOLVER_B) },
      { who: CHALLENGER, role: 'challenger', party: honest(jobId, SOLVER_B) },
    ]);
    assert.deepEqual([sol?.status, chal?.status], ['lost', 'won']);
    await withdrawAll(SUBMITTER, SOLVER_B, CHALLENGER);
    const after = await balances(SUBMITTER, SOLVER_B, CHALLENGER);
    assert.equal(after[1].bonded, before[1].bonded - COLLATERAL, 'the copier is slashed');
    assert.equal(after[2].token, before[2].token + COLLATERAL / 2n);
    assert.equal(after[0].token, before[0].token + (COLLATERAL - COLLATERAL / 2n));
  });

  test('(g) a lazy verifier: its probe is disputed by the solver and it loses its bond and its fee', async () => {
    const { jobId } = await postAndSolve(SOLVER, (j) => honest(j, SOLVER), { verifiers: 2, samples: 1 });
    await t.mine({ blocks: 1 });
    const drawn = await m.drawVerifiers(c(0), jobId);
    assert.equal(drawn.verifiers.length, 2);
    const idx = (a: Address) => [V1, V2].find((i) => addr(i).toLowerCase() === a.toLowerCase())!;
    const [honestV, lazyV] = drawn.verifiers.map(idx);
    const salt = (i: number) => keccak256(toHex(`salt ${i}`));
    const probesOf = async (i: number, lazy: boolean) =>
      (await m.probesOf(c(0), jobId, addr(i))).map((p) => (lazy ? keccak256(toHex(`guess ${p.step}`)) : honestRun.stateHash(p.step)));
    const reveals = new Map<number, { agree: boolean; probes: Hex[]; salt: Hex }>();
    for (const i of [honestV, lazyV]) {
      const r = { agree: true, probes: await probesOf(i, i === lazyV), salt: salt(i) };
      reveals.set(i, r);
      await m.attest(c(i), jobId, m.commitmentOf(r.agree, r.probes, r.salt, addr(i)));
    }
    for (const i of [honestV, lazyV]) await m.reveal(c(i), jobId, reveals.get(i)!);
    // The solver checks every revealed probe against its own run and disputes the wrong one.
    const slot = drawn.firstSlot + drawn.verifiers.findIndex((a) => idx(a) === lazyV);
    const probes = await m.probesOf(c(0), jobId, addr(lazyV));
    assert.notEqual(reveals.get(lazyV)!.probes[0], honestRun.stateHash(probes[0].step));
    const states = honestRun.checkpointHashes();
    const before = await balances(SOLVER, lazyV, honestV);
    const { gameId, fromStep } = await m.disputeProbe(c(SOLVER), jobId, {
      slot, probes: reveals.get(lazyV)!.probes, salt: reveals.get(lazyV)!.salt, index: 0,
      ...m.checkpointEvidence({ segment: probes[0].segment, manifest: details.manifest, states, leaves: honest(jobId, SOLVER).level0Leaves() }),
    });
    const [sol, lazy] = await play({ game: String(gameId), jobId: String(jobId), level: 1, fromStep }, [
      { who: SOLVER, role: 'challenger', party: honest(jobId, SOLVER) },
      { who: lazyV, role: 'defender', party: cheat({ kind: 'lazy' }, jobId, SOLVER) },
    ]);
    assert.deepEqual([sol?.status, lazy?.status], ['won', 'lost']);
    // After the window: the honest verifier is paid its share, the lazy one nothing.
    const end = await m.stateEndsAt(c(0), jobId);
    const now = Number((await c(0).public.getBlock()).timestamp);
    if (end > now) await passTime(end - now + 1);
    await m.finalize(c(0), jobId);
    await withdrawAll(SOLVER, lazyV, honestV);
    const after = await balances(SOLVER, lazyV, honestV);
    const share = (PRICE * BigInt(d.params.verifierFeeBps)) / 10_000n / 2n;
    assert.equal(after[2].token, before[2].token + share, 'the honest verifier earned its share');
    assert.ok(after[1].token + after[1].bonded < before[1].token + before[1].bonded, 'the lazy verifier lost money');
    assert.ok(after[0].token > before[0].token + PRICE - 2n * share, 'the solver was paid and got the lazy verifier\'s bond');
  });

  test('(h) a griefing challenger against an honest solver', async () => {
    await challengeCase((j) => honest(j, SOLVER), (j) => cheat({ kind: 'bit-flip', step: 2, op: flipOp(), element: 1, bit: 31 }, j, SOLVER), 'challenger');
  });

  test('(i) a party that goes silent mid-dispute loses by timeout', async () => {
    // A cheating solver that stops answering when the dispute reaches the op level...
    await challengeCase((j) => cheat({ kind: 'bit-flip', step: 6, op: flipOp(), element: 2, bit: 31 }, j, SOLVER), (j) => honest(j, SOLVER), 'solver', { solverSilentFrom: 2 });
    // ...and a griefing challenger that stops after the first level.
    await challengeCase((j) => honest(j, SOLVER), (j) => cheat({ kind: 'skip', steps: [1] }, j, SOLVER), 'challenger', { challengerSilentFrom: 1 });
  });
});
