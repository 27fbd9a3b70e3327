// The market's verifier rounds on a real anvil (docs/verification.md §6): the stake-weighted draw
// against a TypeScript model, probe positions on chain = their TypeScript mirror, commit → reveal
// with every deadline, replacement of a verifier that missed its commit deadline, no-show penalties,
// probe disputes both ways (lazy verifier caught, griefing solver pays) and by timeout, stale probe
// games after a reopen, and every revert mined with all contract storage unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestClient, encodeAbiParameters, http, keccak256, maxUint256, type Address, type Hex } from 'viem';
import { devAccount } from '../src/chain/client.ts';
import { getGame, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { expectRevert, h, minedAs, registerTestNode, startTestChain, isolateTests, type TestChain } from './chain.ts';
import { honestStates, leavesOf, lyingStates, playCheckpointGame, playStepGame, resultOf, stepStates, testManifest } from './chain-jobs.ts';

const VTT = 10n ** 18n;
const SUBMITTER = 1, SOLVER = 2, V1 = 3, V2 = 4, V3 = 5, CHALLENGER = 6, STRANGER = 7;
const N = 8, K = 4; // checkpoints, steps per checkpoint
const ZERO = `0x${'00'.repeat(32)}` as Hex;

let ch: TestChain;
let solverNode: bigint;
const manifest = testManifest();
const genesis = m.manifestHash(manifest);
const truth = honestStates(manifest, N);

const c = (i: number) => ch.as(i);
const addr = (i: number) => devAccount(i).address;
const mined = (i: number) => minedAs(ch, i);
const verifyTime = () => m.verifyTime(ch.deployment.params);
const who = (a: Address) => [V1, V2, V3, SOLVER, SUBMITTER, CHALLENGER, STRANGER].find((i) => addr(i) === a)!;

before(async () => {
  ch = await startTestChain();
  const { market, staking } = ch.deployment.contracts;
  for (const i of [SUBMITTER, SOLVER, V1, V2, V3, CHALLENGER]) {
    await tok.faucet(c(i));
    await tok.approve(c(i), market, maxUint256);
    await tok.approve(c(i), staking, maxUint256);
  }
  await stk.bond(c(SOLVER), 300n * VTT);
  solverNode = await registerTestNode(c(SOLVER), 1);
  for (const [i, amount] of [[V1, 100n], [V2, 300n], [V3, 150n]] as const) {
    await stk.bond(c(i), amount * VTT);
    await stk.joinVerifierPool(c(i));
  }
});
after(() => ch?.anvil.stop());
isolateTests(() => ch);

const params = (over: Partial<m.PostJobParams> = {}): m.PostJobParams => ({
  manifest,
  price: 100n * VTT,
  duration: 3600,
  steps: N * K,
  checkpointInterval: K,
  verifiers: 2,
  samples: 2,
  challengeWindow: 1200,
  collateral: 40n * VTT,
  ...over,
});

async function submitted(over: Partial<m.PostJobParams> = {}, states: readonly Hex[] = truth) {
  const jobId = (await m.postJob(c(SUBMITTER), params(over))).jobId;
  await ch.increaseTime(ch.deployment.params.priorityWindow);
  await m.claimJob(c(SOLVER), jobId, solverNode);
  const r = resultOf(jobId, addr(SOLVER), states);
  await m.submitResult(c(SOLVER), jobId, r.root, r.modelHash);
  return jobId;
}

/** Submitted and drawn: returns the job and its drawn verifiers' account indices (slot order). */
async function drawn(over: Partial<m.PostJobParams> = {}, states: readonly Hex[] = truth) {
  const jobId = await submitted(over, states);
  await ch.mine(1);
  const d = await m.drawVerifiers(c(STRANGER), jobId);
  return { jobId, slots: d.verifiers.map(who), draw: d };
}

/** The honest state after `step` steps in the test world: a probe game's TestJudge chain from the checkpoint before it. */
function trueProbe(p: m.Probe): Hex {
  const pre = p.segment === 0 ? manifest.initState : truth[p.segment - 1];
  const offset = p.step - p.segment * K;
  return stepStates(pre, offset)[offset - 1];
}

/** What verifier `v` reveals: honest probes, or made-up ones (a lazy verifier). */
async function revealOf(jobId: bigint, v: number, lazy = false): Promise<m.Reveal> {
  const probes = await m.probesOf(c(0), jobId, addr(v));
  return { agree: true, probes: probes.map((p, i) => (lazy ? h(`guess ${v} ${i}`) : trueProbe(p))), salt: h(`salt ${jobId} ${v}`) };
}

async function commit(jobId: bigint, v: number, r: m.Reveal) {
  return m.attest(c(v), jobId, m.commitmentOf(r.agree, r.probes, r.salt, addr(v)));
}

/** Everyone in `slots` commits and reveals (lazy ones with guesses); returns their reveals. */
async function verify(jobId: bigint, slots: number[], lazy: number[] = []) {
  const reveals = new Map<number, m.Reveal>();
  for (const v of slots) {
    const r = await revealOf(jobId, v, lazy.includes(v));
    reveals.set(v, r);
    await commit(jobId, v, r);
  }
  for (const v of slots) await m.reveal(c(v), jobId, reveals.get(v)!);
  return reveals;
}

/** The solver's disputeProbe arguments against probe `index` of slot `slot`. */
async function disputeArgs(jobId: bigint, slot: number, index: number): Promise<m.ProbeDisputeArgs> {
  const r = await m.revealOf(c(0), jobId, slot);
  const probe = (await m.probesOf(c(0), jobId, r.verifier))[index];
  const evidence = m.checkpointEvidence({ segment: probe.segment, manifest, states: truth, leaves: leavesOf(jobId, addr(SOLVER), truth) });
  return { slot, probes: r.probes, salt: r.salt, index, ...evidence };
}

describe('draw', () => {
  test('stake-weighted by free stake, distinct, never the solver, as many as asked while the pool lasts', async () => {
    await stk.joinVerifierPool(c(SOLVER)); // in the pool, never drawn for its own job
    const counts = new Map<Address, number>();
    for (let i = 0; i < 12; i++) {
      const s = await ch.snapshot();
      await ch.mine(i + 1); // another seed block each time
      const k = i % 2 === 0 ? 1 : 4;
      const jobId = await submitted({ verifiers: k, samples: 1 });
      // The pool in join order, weighted by free stake: the solver's 300 less its 40 collateral.
      const pool: [Address, bigint][] = [[addr(V1), 100n * VTT], [addr(V2), 300n * VTT], [addr(V3), 150n * VTT], [addr(SOLVER), 260n * VTT]];
      for (const [a, w] of pool) assert.equal(await stk.verifierWeight(c(0), a), w);
      await ch.mine(1);
      const { verifiers, tx, firstSlot, commitBy, revealBy } = await m.drawVerifiers(c(STRANGER), jobId);
      const seed = tx.events.find((e) => e.eventName === 'VerifiersDrawn')!.args.seed as Hex;
      // Exactly the model's draw without replacement; four asked, three eligible: three.
      assert.deepEqual(verifiers, drawModel(pool, seed, k, [addr(SOLVER)]));
      const now = await ch.now();
      assert.deepEqual([firstSlot, commitBy, revealBy], [0, now + ch.deployment.params.commitPeriod, now + ch.deployment.params.commitPeriod + ch.deployment.params.revealPeriod]);
      // Each drawn verifier has its lock taken (weight down by the lock); its slot waits for a commit.
      const lock = 10n * VTT;
      for (const v of verifiers) {
        const s0 = pool.find(([a]) => a === v)![1];
        assert.equal((await stk.stakeOf(c(0), v)).locked, lock);
        assert.equal(await stk.verifierWeight(c(0), v), s0 - lock);
      }
      const ver = await m.verificationOf(c(0), jobId);
      assert.deepEqual(ver.slots.map((x) => [x.verifier, x.status, x.commitBy]), verifiers.map((v) => [v, 'drawn', commitBy]));
      assert.deepEqual([ver.seed, ver.uncommitted, ver.pending], [seed, verifiers.length, 0]);
      for (const v of verifiers) counts.set(v, (counts.get(v) ?? 0) + 1);
      await ch.revert(s);
    }
    assert.equal(counts.has(addr(SOLVER)), false);
    assert.equal([V1, V2, V3].reduce((t, v) => t + (counts.get(addr(v)) ?? 0), 0), 6 + 6 * 3);
  });

  test('a member whose free stake is below the minimum is not drawn', async () => {
    // V2 locks 260 of its 300 VTT as a solver's collateral: 40 free < 50, weight 0.
    const node = await registerTestNode(c(V2), 1);
    const big = (await m.postJob(c(SUBMITTER), params({ verifiers: 0, samples: 0, collateral: 260n * VTT, challengeWindow: 600 }))).jobId;
    await ch.increaseTime(60);
    await m.claimJob(c(V2), big, node);
    assert.equal(await stk.verifierWeight(c(0), addr(V2)), 0n);
    const jobId = await submitted({ verifiers: 3, samples: 1 });
    await ch.mine(1);
    assert.deepEqual([...(await m.drawVerifiers(c(STRANGER), jobId)).verifiers].sort(), [addr(V1), addr(V3)].sort());
  });

  test('draw reverts: no verifiers asked, wrong state, randomness not ready, drawn, window closed, no time; an aged-out seed re-arms', async () => {
    const none = await submitted({ verifiers: 0, samples: 0, challengeWindow: 600 });
    await ch.mine(1);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), none), 'NoVerifiersRequested');
    const open = (await m.postJob(c(SUBMITTER), params())).jobId;
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), open), 'BadState');
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), 99n), 'UnknownJob');
    const jobId = await submitted();
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), jobId), 'RandomnessNotReady');
    await ch.mine(1);
    await m.drawVerifiers(c(STRANGER), jobId);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), jobId), 'VerifiersAlreadyDrawn');
    // A round (commit + reveal + probe dispute periods) must fit in what is left of the window.
    const late = await submitted();
    await ch.increaseTime(1200 - verifyTime() + 1);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), late), 'NoTimeToVerify');
    await ch.increaseTime(verifyTime());
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), late), 'ChallengeWindowClosed');
    const aged = await submitted({ challengeWindow: 100_000 });
    await ch.mine(300); // blockhash of the seed block is gone after 256 blocks
    const first = await m.drawVerifiers(c(STRANGER), aged);
    assert.equal(first.rearmed, true);
    assert.ok(first.tx.events.some((e) => e.eventName === 'VerifierDrawRearmed'));
    await ch.mine(1);
    assert.equal((await m.drawVerifiers(c(STRANGER), aged)).verifiers.length, 2);
  });

  test('an empty pool draws nobody and the whole fee returns to the submitter', async () => {
    for (const v of [V1, V2, V3]) await stk.leaveVerifierPool(c(v));
    const jobId = await submitted({ verifiers: 3, samples: 1 });
    await ch.mine(1);
    assert.deepEqual((await m.drawVerifiers(c(STRANGER), jobId)).verifiers, []);
    await ch.increaseTime(1201);
    const r = await m.finalize(c(0), jobId);
    // 10 VTT / 3 = 3.333… VTT per share; the division dust goes to the solver.
    const share = (10n * VTT) / 3n;
    assert.deepEqual([r.solverPay, r.verifierPay, r.refund, r.penalties], [100n * VTT - 3n * share, 0n, 3n * share, 0n]);
  });
});

describe('probe positions', () => {
  test('on chain = probePositions in TypeScript: distinct uniform segments, the state before each segment\'s last step', async () => {
    // (steps, interval, samples): even segments, a short last segment (2 steps), samples past the segments, one segment.
    const cases = [[32, 4, 2], [34, 4, 3], [34, 4, 16], [10, 2, 16], [2, 2, 1], [5, 7, 3], [30, 10, 3]] as const;
    for (const [steps, interval, samples] of cases) {
      const n = m.checkpointCount(steps, interval);
      const jobId = await submitted({ steps, checkpointInterval: interval, samples, verifiers: 2 }, honestStates(manifest, n));
      await ch.mine(1);
      const { verifiers } = await m.drawVerifiers(c(STRANGER), jobId);
      const seed = (await m.verificationOf(c(0), jobId)).seed;
      for (const v of [...verifiers, addr(STRANGER)]) {
        const onChain = await m.probesOf(c(0), jobId, v);
        assert.deepEqual(onChain, m.probePositions({ seed, verifier: v, samples, steps, checkpointInterval: interval }), `${steps}/${interval}/${samples}`);
        assert.equal(onChain.length, Math.min(samples, n));
        assert.equal(new Set(onChain.map((p) => p.segment)).size, onChain.length, 'distinct segments');
        for (const p of onChain) assert.equal(p.step, Math.min((p.segment + 1) * interval, steps) - 1);
        if (samples >= n) assert.deepEqual(onChain.map((p) => p.segment).sort((a, b) => a - b), [...Array(n).keys()]);
      }
    }
    for (const [steps, interval] of [[8, 1], [9, 2], [1, 2]]) {
      assert.throws(() => m.probePositions({ seed: h('s'), verifier: addr(V1), samples: 1, steps, checkpointInterval: interval }), /no last segment of one step/);
    }
  });

  test('the segments drawn are uniform: 4000 draws of 2 among 8 segments', () => {
    const counts = new Array(N).fill(0);
    for (let i = 0; i < 2000; i++) {
      for (const p of m.probePositions({ seed: h(`seed ${i}`), verifier: addr(V1), samples: 2, steps: N * K, checkpointInterval: K })) counts[p.segment]++;
    }
    // Each segment is expected 500 times (sd ~21): within 5 sd.
    for (const x of counts) assert.ok(Math.abs(x - 500) < 105, `segment counts ${counts}`);
  });

  test('before the draw a verifier has no probes', async () => {
    const jobId = await submitted();
    assert.deepEqual(await m.probesOf(c(0), jobId, addr(V1)), []);
  });
});

describe('commit and reveal', () => {
  test('honest verifiers commit, reveal and share the fee; their locks come back', async () => {
    const { jobId, slots } = await drawn();
    const before = await Promise.all(slots.map((v) => stk.stakeOf(c(0), addr(v))));
    const reveals = new Map<number, m.Reveal>();
    for (const v of slots) {
      const r = await revealOf(jobId, v);
      reveals.set(v, r);
      const tx = await commit(jobId, v, r);
      const e = tx.events.find((x) => x.eventName === 'Attested')!;
      assert.deepEqual([e.args.verifier, e.args.slot, e.args.commitment], [addr(v), BigInt(slots.indexOf(v)), m.commitmentOf(true, r.probes, r.salt, addr(v))]);
    }
    // Every drawn slot committed: reveals open before the commit deadline.
    const v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.uncommitted, v.attested, v.slots.map((s) => s.status)], [0, 3, ['committed', 'committed']]);
    for (const x of slots) {
      const tx = await m.reveal(c(x), jobId, reveals.get(x)!);
      const e = tx.events.find((y) => y.eventName === 'Revealed')!;
      assert.deepEqual([e.args.agree, e.args.probes, e.args.salt], [true, reveals.get(x)!.probes, reveals.get(x)!.salt]);
      assert.deepEqual(await m.revealOf(c(0), jobId, slots.indexOf(x)), { verifier: addr(x), ...reveals.get(x)!, probes: [...reveals.get(x)!.probes] });
    }
    assert.deepEqual((await m.verificationOf(c(0), jobId)).slots.map((s) => [s.status, s.agree]), [['revealed', true], ['revealed', true]]);
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'ChallengeWindowOpen');
    await ch.increaseTime(1201);
    const r = await m.finalize(c(STRANGER), jobId);
    // Fee 10% = 10 VTT, 5 per verifier.
    assert.deepEqual([r.solverPay, r.verifierPay, r.refund, r.penalties], [90n * VTT, 10n * VTT, 0n, 0n]);
    for (const [i, x] of slots.entries()) {
      assert.equal(await m.withdrawable(c(0), addr(x)), 5n * VTT);
      const s = await stk.stakeOf(c(0), addr(x));
      assert.deepEqual([s.bonded, s.locked], [before[i].bonded, 0n]);
    }
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 0n);
  });

  test('a verifier that reveals disagreement is not paid and not penalized', async () => {
    const { jobId, slots } = await drawn();
    const [a, b] = slots;
    const ra = await revealOf(jobId, a);
    const rb = { ...(await revealOf(jobId, b)), agree: false };
    await commit(jobId, a, ra);
    await commit(jobId, b, rb);
    await m.reveal(c(a), jobId, ra);
    await m.reveal(c(b), jobId, rb);
    await ch.increaseTime(1201);
    const r = await m.finalize(c(0), jobId);
    assert.deepEqual([r.verifierPay, r.refund, r.penalties], [5n * VTT, 5n * VTT, 0n]);
    assert.equal(await m.withdrawable(c(0), addr(b)), 0n);
    assert.deepEqual((await stk.stakeOf(c(0), addr(b))).locked, 0n);
  });

  test('commit and reveal reverts, each with storage unchanged', async () => {
    const { jobId, slots } = await drawn();
    const [a, b] = slots;
    const ra = await revealOf(jobId, a);
    await expectRevert(ch, () => m.attest(mined(STRANGER), jobId, h('c')), 'NotDrawnVerifier');
    await expectRevert(ch, () => m.attest(mined(a), jobId, ZERO), 'ZeroHash');
    await expectRevert(ch, () => m.attest(mined(a), 99n, h('c')), 'UnknownJob');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, ra), 'NotCommitted');
    await commit(jobId, a, ra);
    await expectRevert(ch, () => m.attest(mined(a), jobId, h('again')), 'AlreadyAttested');
    // b has not committed and the commit deadline has not passed: no reveal yet.
    const slot = (await m.verificationOf(c(0), jobId)).slots[0];
    const e = await expectRevert(ch, () => m.reveal(mined(a), jobId, ra), 'RevealNotOpen');
    assert.equal(Number(e.args[1]), slot.commitBy);
    await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
    await expectRevert(ch, () => m.attest(mined(b), jobId, h('late')), 'CommitDeadlinePassed');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, { ...ra, probes: ra.probes.slice(1) }), 'WrongProbeCount');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, { ...ra, probes: [...ra.probes, h('x')] }), 'WrongProbeCount');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, { ...ra, agree: false }), 'RevealMismatch');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, { ...ra, salt: h('other salt') }), 'RevealMismatch');
    await expectRevert(ch, () => m.reveal(mined(a), jobId, { ...ra, probes: [ra.probes[1], ra.probes[0]] }), 'RevealMismatch');
    await expectRevert(ch, () => m.reveal(mined(b), jobId, ra), 'NotCommitted');
    await m.reveal(c(a), jobId, ra);
    await expectRevert(ch, () => m.reveal(mined(a), jobId, ra), 'NotCommitted');
    // A commit whose reveal deadline passed can no longer be opened.
    const late = await drawn();
    const rl = await revealOf(late.jobId, late.slots[0]);
    await commit(late.jobId, late.slots[0], rl);
    await ch.increaseTime(ch.deployment.params.commitPeriod + ch.deployment.params.revealPeriod + 1);
    await expectRevert(ch, () => m.reveal(mined(late.slots[0]), late.jobId, rl), 'RevealDeadlinePassed');
    // Verification needs a standing result.
    await ch.increaseTime(1200);
    await m.finalize(c(0), jobId);
    await expectRevert(ch, () => m.attest(mined(b), jobId, h('c')), 'BadState');
    await expectRevert(ch, () => m.reveal(mined(b), jobId, ra), 'BadState');
  });

  test('no-shows: a verifier that never commits and one that commits but never reveals each pay the penalty', async () => {
    const window = ch.deployment.params.minChallengeWindow + verifyTime(); // no room for a replacement
    const { jobId, slots } = await drawn({ challengeWindow: window });
    const [a, b] = slots;
    const before = await Promise.all(slots.map((v) => stk.stakeOf(c(0), addr(v))));
    await commit(jobId, a, await revealOf(jobId, a));
    await ch.increaseTime(window + 1);
    const r = await m.finalize(c(0), jobId);
    assert.deepEqual([r.solverPay, r.verifierPay, r.refund, r.penalties], [90n * VTT, 0n, 10n * VTT, 10n * VTT]);
    const shows = r.tx.events.filter((e) => e.eventName === 'VerifierNoShow').map((e) => [e.args.verifier, e.args.slot, e.args.penalty]);
    assert.deepEqual(shows, [[addr(a), 0n, 5n * VTT], [addr(b), 1n, 5n * VTT]]);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 20n * VTT);
    for (const [i, v] of slots.entries()) {
      const s = await stk.stakeOf(c(0), addr(v));
      assert.deepEqual([s.bonded, s.locked], [before[i].bonded - 5n * VTT, 0n]);
    }
  });

  test('verification goes on during a level-0 dispute; after the solver wins, the fresh window pays', async () => {
    const { jobId, slots } = await drawn();
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    const reveals = await verify(jobId, slots);
    assert.equal(reveals.size, 2);
    assert.equal(await playCheckpointGame(c(SOLVER), c(CHALLENGER), gameId, { jobId, solver: addr(SOLVER), genesis, states: truth, truth: lyingStates(truth, 0) }), 'defender-won');
    await m.settleDispute(c(0), jobId);
    await ch.increaseTime(1201);
    const r = await m.finalize(c(0), jobId);
    assert.deepEqual([r.solverPay, r.verifierPay], [90n * VTT, 10n * VTT]);
  });

  test('a cheat caught at level 0 reopens the job: verifier locks are released, nobody is paid or penalized', async () => {
    const lies = lyingStates(truth, 5);
    const { jobId, slots } = await drawn({}, lies);
    await commit(jobId, slots[0], await revealOf(jobId, slots[0]));
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    assert.equal(await playCheckpointGame(c(SOLVER), c(CHALLENGER), gameId, { jobId, solver: addr(SOLVER), genesis, states: lies, truth }), 'challenger-won');
    const tx = await m.settleDispute(c(0), jobId);
    assert.deepEqual(tx.tx.events.filter((e) => e.eventName === 'Unlocked').map((e) => e.args.operator).sort(), slots.map(addr).sort());
    for (const v of slots) assert.equal((await stk.stakeOf(c(0), addr(v))).locked, 0n);
    const v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.round, v.slots, v.seed, v.seedBlock, v.pending, v.uncommitted, v.openProbes], [1, [], ZERO, 0n, 0, 0, 0]);
    // The next solver's verification starts from scratch.
    await ch.increaseTime(61);
    await stk.bond(c(CHALLENGER), 100n * VTT);
    const node = await registerTestNode(c(CHALLENGER), 1);
    await m.claimJob(c(CHALLENGER), jobId, node);
    const r = resultOf(jobId, addr(CHALLENGER), truth);
    await m.submitResult(c(CHALLENGER), jobId, r.root, r.modelHash);
    await ch.mine(1);
    assert.equal((await m.drawVerifiers(c(STRANGER), jobId)).firstSlot, 0);
  });
});

describe('replaceVerifier', () => {
  test('a verifier that missed its commit deadline pays the penalty and is replaced by a fresh draw that excludes it', async () => {
    const { jobId, slots } = await drawn();
    const [a, b] = slots;
    await commit(jobId, b, await revealOf(jobId, b));
    await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
    const before = await stk.stakeOf(c(0), addr(a));
    const rep = await m.replaceVerifier(c(STRANGER), jobId, 0);
    assert.equal(rep.penalty, 5n * VTT);
    assert.equal(rep.seedBlock, rep.tx.receipt.blockNumber + 1n);
    const after = await stk.stakeOf(c(0), addr(a));
    assert.deepEqual([after.bonded, after.locked], [before.bonded - 5n * VTT, 0n]);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 5n * VTT);
    let v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.slots[0].status, v.pending, v.uncommitted], ['replaced', 1, 0]);
    await expectRevert(ch, () => m.attest(mined(a), jobId, h('c')), 'VerifierReplaced');
    await ch.mine(1);
    const d = await m.drawVerifiers(c(STRANGER), jobId);
    // Three in the pool, two drawn before: the third is the only one left.
    const c3 = [V1, V2, V3].find((x) => !slots.includes(x))!;
    assert.deepEqual([d.verifiers, d.firstSlot], [[addr(c3)], 2]);
    v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.slots.length, v.pending, v.uncommitted, v.slots[2].commitBy], [3, 0, 1, d.commitBy]);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), jobId), 'VerifiersAlreadyDrawn');
    // The replacement commits and reveals in its own round; b and the replacement are paid.
    const r3 = await revealOf(jobId, c3);
    await commit(jobId, c3, r3);
    await m.reveal(c(b), jobId, (await revealOf(jobId, b)));
    await m.reveal(c(c3), jobId, r3);
    await ch.increaseTime(1201);
    const f = await m.finalize(c(0), jobId);
    assert.deepEqual([f.verifierPay, f.refund, f.penalties], [10n * VTT, 0n, 0n]);
    assert.equal(await m.withdrawable(c(0), addr(a)), 0n);
  });

  test('with nobody left to draw, the replacement draw picks nobody', async () => {
    const { jobId } = await drawn({ verifiers: 3, samples: 1 });
    await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
    await m.replaceVerifier(c(STRANGER), jobId, 1);
    await ch.mine(1);
    const d = await m.drawVerifiers(c(STRANGER), jobId);
    assert.deepEqual(d.verifiers, []);
    assert.equal((await m.verificationOf(c(0), jobId)).pending, 0);
  });

  test('a job draws at most 32 verifier slots (drawn + replacements)', async () => {
    // 32 more pool members (dev accounts 10..41, funded here): four rounds of 8 that all miss the commit.
    const t = createTestClient({ mode: 'anvil', transport: http(ch.anvil.url) });
    for (let i = 10; i < 42; i++) {
      await t.setBalance({ address: addr(i), value: 10n ** 18n });
      const x = ch.as(i);
      await tok.faucet(x);
      await tok.approve(x, ch.deployment.contracts.staking, maxUint256);
      await stk.bond(x, 60n * VTT);
      await stk.joinVerifierPool(x);
    }
    for (const v of [V1, V2, V3]) await stk.leaveVerifierPool(c(v));
    const { jobId } = await drawn({ verifiers: 8, samples: 1, challengeWindow: 1200 });
    for (let round = 0; round < 3; round++) {
      await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
      for (let slot = round * 8; slot < round * 8 + 8; slot++) await m.replaceVerifier(c(STRANGER), jobId, slot);
      await ch.mine(1);
      assert.equal((await m.drawVerifiers(c(STRANGER), jobId)).verifiers.length, 8);
    }
    assert.equal((await m.verificationOf(c(0), jobId)).slots.length, 32);
    await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), jobId, 24), 'TooManySlots');
  });

  test('replace reverts: unknown slot, not drawn, deadline not passed, no time left, too many slots, wrong state', async () => {
    const { jobId, slots } = await drawn();
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), jobId, 5), 'UnknownSlot');
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), jobId, 0), 'CommitDeadlineNotPassed');
    await commit(jobId, slots[1], await revealOf(jobId, slots[1]));
    await ch.increaseTime(ch.deployment.params.commitPeriod + 1);
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), jobId, 1), 'NotReplaceable');
    await m.replaceVerifier(c(STRANGER), jobId, 0);
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), jobId, 0), 'NotReplaceable');
    const late = await drawn();
    await ch.increaseTime(1200 - verifyTime() + 1);
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), late.jobId, 0), 'NoTimeToVerify');
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), 99n, 0), 'UnknownJob');
    const open = (await m.postJob(c(SUBMITTER), params())).jobId;
    await expectRevert(ch, () => m.replaceVerifier(mined(STRANGER), open, 0), 'BadState');
  });
});

describe('probe disputes', () => {
  test('a lazy verifier (never replays, always agrees) loses its probe dispute: bond to the solver, no pay', async () => {
    const { jobId, slots } = await drawn();
    const [lazy, honest] = slots;
    await verify(jobId, slots, [lazy]);
    const args = await disputeArgs(jobId, 0, 1);
    const before = await stk.stakeOf(c(0), addr(lazy));
    const balance = await tok.tokenBalance(c(SOLVER));
    const d = await m.disputeProbe(c(SOLVER), jobId, args);
    assert.equal(await tok.tokenBalance(c(SOLVER)), balance - 10n * VTT);
    const probe = (await m.probesOf(c(0), jobId, addr(lazy)))[1];
    assert.deepEqual([d.fromStep, d.probeStep], [probe.segment * K, probe.step]);
    const g = await getGame(c(0), d.gameId);
    assert.deepEqual(
      [g.challenger, g.defender, g.judge.toLowerCase(), g.n, g.root, g.pre, g.post, g.context],
      [addr(SOLVER), addr(lazy), ch.deployment.contracts.judge.toLowerCase(), probe.step - probe.segment * K, ZERO, args.preState, args.probes[1], m.probeContext(jobId, probe.segment * K)],
    );
    assert.deepEqual(await m.probeDisputeOf(c(0), d.gameId), { jobId, round: 0, slot: 0, index: 1 });
    let v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.openProbes, v.slots[0].probe], [1, 'open']);
    // finalize waits for the probe game.
    await ch.increaseTime(1201);
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'ProbeDisputesOpen');
    await expectRevert(ch, () => m.settleProbeDispute(mined(STRANGER), d.gameId), 'DisputeNotOver');
    // The lazy verifier cannot defend its guess: whatever it reveals, the judge finds a wrong step.
    const chain = stepStates(args.preState, g.n);
    const guess = chain.map((s, i) => (i === g.n - 1 ? args.probes[1] : s));
    assert.equal(await playStepGame(c(lazy), c(SOLVER), d.gameId, guess, chain), 'challenger-won');
    const s = await m.settleProbeDispute(c(STRANGER), d.gameId);
    assert.deepEqual([s.verifierWon, s.stale], [false, false]);
    assert.equal(await m.withdrawable(c(0), addr(SOLVER)), 20n * VTT);
    const after = await stk.stakeOf(c(0), addr(lazy));
    assert.deepEqual([after.bonded, after.locked], [before.bonded - 10n * VTT, 0n]);
    v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.openProbes, v.slots[0].probe], [0, 'solver-won']);
    assert.deepEqual(await m.probeDisputeOf(c(0), d.gameId), { jobId: 0n, round: 0, slot: 0, index: 0 });
    await expectRevert(ch, () => m.settleProbeDispute(mined(STRANGER), d.gameId), 'UnknownProbeDispute');
    const f = await m.finalize(c(0), jobId);
    // Only the honest verifier is paid; the lazy one's share goes back to the submitter.
    assert.deepEqual([f.solverPay, f.verifierPay, f.refund, f.penalties], [90n * VTT, 5n * VTT, 5n * VTT, 0n]);
    assert.equal(await m.withdrawable(c(0), addr(honest)), 5n * VTT);
    assert.equal(await m.withdrawable(c(0), addr(lazy)), 0n);
  });

  test('a griefing solver disputes an honest probe: the verifier wins the solver\'s bond and is paid', async () => {
    const { jobId, slots } = await drawn();
    await verify(jobId, slots);
    const args = await disputeArgs(jobId, 1, 0);
    const d = await m.disputeProbe(c(SOLVER), jobId, args);
    const g = await getGame(c(0), d.gameId);
    const chain = stepStates(args.preState, g.n);
    // The solver disagrees with every true state it is shown: the judge sides with the verifier.
    assert.equal(await playStepGame(c(slots[1]), c(SOLVER), d.gameId, chain, chain.map((x) => keccak256(x))), 'defender-won');
    const s = await m.settleProbeDispute(c(STRANGER), d.gameId);
    assert.equal(s.verifierWon, true);
    assert.equal(await m.withdrawable(c(0), addr(slots[1])), 10n * VTT);
    assert.equal((await stk.stakeOf(c(0), addr(slots[1]))).locked, 10n * VTT); // held until finalize
    await ch.increaseTime(1201);
    const f = await m.finalize(c(0), jobId);
    assert.deepEqual([f.verifierPay, f.refund], [10n * VTT, 0n]);
    assert.equal(await m.withdrawable(c(0), addr(slots[1])), 15n * VTT);
    assert.equal((await stk.stakeOf(c(0), addr(slots[1]))).locked, 0n);
    // One dispute per verifier.
    assert.equal((await m.verificationOf(c(0), jobId)).slots[1].probe, 'verifier-won');
  });

  test('a probe in segment 0 is shown by the manifest; a verifier that goes silent loses by timeout', async () => {
    // One segment of 8 steps: every probe is in segment 0, its genesis the manifest's initState.
    const { jobId, slots } = await drawn({ steps: 8, checkpointInterval: 8, samples: 1 }, honestStates(manifest, 1));
    await verify(jobId, slots);
    const args = await disputeArgs(jobId, 0, 0);
    assert.deepEqual([args.preState, args.proof.length], [manifest.initState, 6]);
    const bad = { ...args, proof: [...args.proof.slice(0, 5), h('not the program')] };
    await expectRevert(ch, () => m.disputeProbe(mined(SOLVER), jobId, bad), 'BadCheckpointProof');
    await expectRevert(ch, () => m.disputeProbe(mined(SOLVER), jobId, { ...args, preState: h('other') }), 'BadCheckpointProof');
    const d = await m.disputeProbe(c(SOLVER), jobId, args);
    await ch.increaseTime(ch.deployment.params.moveTimeout + 1);
    await timeoutGame(c(STRANGER), d.gameId);
    assert.equal((await m.settleProbeDispute(c(STRANGER), d.gameId)).verifierWon, false);
  });

  test('disputeProbe reverts: not the solver, slot unknown or unrevealed, wrong reveal data, bad index, bad checkpoint proof, twice, no allowance, window closed', async () => {
    const { jobId, slots } = await drawn();
    const r0 = await revealOf(jobId, slots[0]);
    await commit(jobId, slots[0], r0);
    await commit(jobId, slots[1], await revealOf(jobId, slots[1]));
    await m.reveal(c(slots[0]), jobId, r0);
    // Two distinct segments: at least one probe starts from a committed checkpoint (segment > 0).
    const index = (await m.probesOf(c(0), jobId, addr(slots[0]))).findIndex((p) => p.segment > 0);
    const args = await disputeArgs(jobId, 0, index);
    const s = mined(SOLVER);
    await expectRevert(ch, () => m.disputeProbe(mined(STRANGER), jobId, args), 'NotSolver');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, slot: 7 }), 'UnknownSlot');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, slot: 1 }), 'NotRevealed');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, probes: [h('x'), h('y')] }), 'RevealMismatch');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, salt: h('x') }), 'RevealMismatch');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, index: 2 }), 'BadProbeIndex');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, preState: h('not the checkpoint') }), 'BadCheckpointProof');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, proof: args.proof.slice(1) }), 'BadCheckpointProof');
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, proof: [...args.proof.slice(1), args.proof[0]] }), 'BadCheckpointProof');
    await expectRevert(ch, () => m.disputeProbe(s, 99n, args), 'UnknownJob');
    await tok.approve(c(SOLVER), ch.deployment.contracts.market, 0n);
    await expectRevert(ch, () => m.disputeProbe(s, jobId, args), 'InsufficientAllowance');
    await tok.approve(c(SOLVER), ch.deployment.contracts.market, maxUint256);
    await m.disputeProbe(c(SOLVER), jobId, args);
    await expectRevert(ch, () => m.disputeProbe(s, jobId, { ...args, index: 1 - index }), 'ProbeAlreadyDisputed');
    await expectRevert(ch, () => m.settleProbeDispute(mined(STRANGER), 999n), 'UnknownProbeDispute');
    // After the window no new probe dispute.
    const other = await drawn();
    await verify(other.jobId, other.slots);
    const late = await disputeArgs(other.jobId, 0, 0);
    await ch.increaseTime(1201);
    await expectRevert(ch, () => m.disputeProbe(s, other.jobId, late), 'ChallengeWindowClosed');
  });

  test('a probe game still open when the job reopens settles stale: bonds move, the lock is released then', async () => {
    const lies = lyingStates(truth, N - 1); // only the last leaf lies: every probe's checkpoint is honest
    const { jobId, slots } = await drawn({}, lies);
    await verify(jobId, slots, [slots[0]]);
    // The probe's checkpoint is proved against the (lying) root the solver committed.
    const r = await m.revealOf(c(0), jobId, 0);
    const probe = (await m.probesOf(c(0), jobId, r.verifier))[0];
    const evidence = m.checkpointEvidence({ segment: probe.segment, manifest, states: lies, leaves: leavesOf(jobId, addr(SOLVER), lies) });
    const d = await m.disputeProbe(c(SOLVER), jobId, { slot: 0, probes: r.probes, salt: r.salt, index: 0, ...evidence });
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    assert.equal(await playCheckpointGame(c(SOLVER), c(CHALLENGER), gameId, { jobId, solver: addr(SOLVER), genesis, states: lies, truth }), 'challenger-won');
    await m.settleDispute(c(0), jobId);
    // The defending verifier keeps its lock; the other gets its lock back now.
    assert.equal((await stk.stakeOf(c(0), addr(slots[0]))).locked, 10n * VTT);
    assert.equal((await stk.stakeOf(c(0), addr(slots[1]))).locked, 0n);
    await ch.increaseTime(ch.deployment.params.moveTimeout + 1);
    await timeoutGame(c(STRANGER), d.gameId); // the lazy verifier never moves
    const s = await m.settleProbeDispute(c(STRANGER), d.gameId);
    assert.deepEqual([s.verifierWon, s.stale], [false, true]);
    assert.equal(await m.withdrawable(c(0), addr(SOLVER)), 20n * VTT);
    const after = await stk.stakeOf(c(0), addr(slots[0]));
    assert.equal(after.locked, 0n);
  });

  test('a stale probe game the verifier wins returns its whole lock', async () => {
    const lies = lyingStates(truth, N - 1);
    const { jobId, slots } = await drawn({}, lies);
    await verify(jobId, slots);
    const r = await m.revealOf(c(0), jobId, 1);
    const probe = (await m.probesOf(c(0), jobId, r.verifier))[0];
    const evidence = m.checkpointEvidence({ segment: probe.segment, manifest, states: lies, leaves: leavesOf(jobId, addr(SOLVER), lies) });
    const d = await m.disputeProbe(c(SOLVER), jobId, { slot: 1, probes: r.probes, salt: r.salt, index: 0, ...evidence });
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    await playCheckpointGame(c(SOLVER), c(CHALLENGER), gameId, { jobId, solver: addr(SOLVER), genesis, states: lies, truth });
    await m.settleDispute(c(0), jobId);
    const g = await getGame(c(0), d.gameId);
    const chain = stepStates(evidence.preState, g.n);
    assert.equal(await playStepGame(c(slots[1]), c(SOLVER), d.gameId, chain, chain.map((x) => keccak256(x))), 'defender-won');
    const s = await m.settleProbeDispute(c(STRANGER), d.gameId);
    assert.deepEqual([s.verifierWon, s.stale], [true, true]);
    assert.equal((await stk.stakeOf(c(0), addr(slots[1]))).locked, 0n);
    assert.equal(await m.withdrawable(c(0), addr(slots[1])), 10n * VTT);
  });
});

/** Staking.drawVerifiers in TypeScript: points in the eligible weight, shifted past excluded ranges. */
function drawModel(pool: [Address, bigint][], seed: Hex, k: number, exclude: Address[]): Address[] {
  const range = (a: Address) => {
    let start = 0n;
    for (const [x, w] of pool) {
      if (x === a) return { start, w };
      start += w;
    }
    return { start: 0n, w: 0n };
  };
  const excluded = exclude.map(range).filter((r) => r.w > 0n).sort((x, y) => (x.start < y.start ? -1 : 1));
  let remaining = pool.reduce((t, [, w]) => t + w, 0n) - excluded.reduce((t, r) => t + r.w, 0n);
  const out: Address[] = [];
  for (let i = 0; i < k && remaining > 0n; i++) {
    let r = BigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [seed, BigInt(i)]))) % remaining;
    for (const e of excluded) if (r >= e.start) r += e.w;
    let acc = 0n;
    const [a] = pool.find(([, w]) => (acc += w) > r)!;
    out.push(a);
    excluded.push(range(a));
    excluded.sort((x, y) => (x.start < y.start ? -1 : 1));
    remaining -= range(a).w;
  }
  return out;
}
