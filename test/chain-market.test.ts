// JobMarket on a real anvil: every external function's success path and each of its reverts
// (mined, decoded, state unchanged), payouts to the wei, level-0 disputes both ways over
// identity-bound checkpoint leaves, and a re-entrant payee that gets nothing extra. The verifier
// rounds (draw, commit, reveal, replacement, probe disputes) are in chain-market-verifiers.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestClient, encodeAbiParameters, encodeFunctionData, http, maxUint256, parseEventLogs, type Address, type Hex } from 'viem';
import * as abis from '../src/chain/abi.ts';
import { CHAIN_SOURCES, compileContracts } from '../src/chain/compile.ts';
import { devAccount, send } from '../src/chain/client.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import { decodeRevert, toChainError } from '../src/chain/errors.ts';
import { getEvents, watchEvents } from '../src/chain/events.ts';
import { answer, callJudge, getGame, nextIndex, reveal, timeoutGame } from '../src/chain/game.ts';
import { merkleProof } from '../src/chain/merkle.ts';
import * as m from '../src/chain/market.ts';
import { reputationOf } from '../src/chain/reputation.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { expectRevert, h, minedAs, registerTestNode, startTestChain, isolateTests, type TestChain } from './chain.ts';
import { honestStates, leafJudgeProof, leavesOf, lyingStates, playCheckpointGame, resultOf, testManifest } from './chain-jobs.ts';

const VTT = 10n ** 18n;
const SUBMITTER = 1, SOLVER = 2, V1 = 3, V2 = 4, CHALLENGER = 5, POOR = 6, STRANGER = 7;
const N = 8, K = 4; // checkpoints, steps per checkpoint
const ZERO = `0x${'00'.repeat(32)}` as Hex;

let ch: TestChain;
let solverNode: bigint;
let challengerNode: bigint;
let verifierOnlyNode: bigint;
let poorNode: bigint;
const manifest = testManifest();
const genesis = m.manifestHash(manifest);
const truth = honestStates(manifest, N);
const lies = lyingStates(truth, 3);

const params = (over: Partial<m.PostJobParams> = {}): m.PostJobParams => ({
  manifest,
  price: 100n * VTT,
  duration: 3600,
  steps: N * K,
  checkpointInterval: K,
  verifiers: 0,
  samples: 0,
  challengeWindow: 600,
  collateral: 40n * VTT,
  ...over,
});
const c = (i: number) => ch.as(i);
const addr = (i: number) => devAccount(i).address;
const mined = (i: number) => minedAs(ch, i);

before(async () => {
  ch = await startTestChain();
  const { market, staking } = ch.deployment.contracts;
  for (const i of [SUBMITTER, SOLVER, V1, V2, CHALLENGER, POOR]) {
    await tok.faucet(c(i));
    await tok.approve(c(i), market, maxUint256);
    await tok.approve(c(i), staking, maxUint256);
  }
  await stk.bond(c(SOLVER), 300n * VTT);
  solverNode = await registerTestNode(c(SOLVER), 1);
  await stk.bond(c(V1), 100n * VTT);
  await stk.joinVerifierPool(c(V1));
  await stk.bond(c(V2), 300n * VTT);
  await stk.joinVerifierPool(c(V2));
  challengerNode = await registerTestNode(c(CHALLENGER), 2);
  verifierOnlyNode = await registerTestNode(c(SOLVER), 2);
  poorNode = await registerTestNode(c(POOR), 1);
  await tok.faucet(c(STRANGER));
});
after(() => ch?.anvil.stop());
isolateTests(() => ch);

async function posted(over: Partial<m.PostJobParams> = {}) {
  return (await m.postJob(c(SUBMITTER), params(over))).jobId;
}
async function claimed(over: Partial<m.PostJobParams> = {}) {
  const jobId = await posted(over);
  await ch.increaseTime(ch.deployment.params.priorityWindow);
  await m.claimJob(c(SOLVER), jobId, solverNode);
  return jobId;
}
async function submitted(over: Partial<m.PostJobParams> = {}, states: readonly Hex[] = truth) {
  const jobId = await claimed(over);
  const r = resultOf(jobId, addr(SOLVER), states);
  await m.submitResult(c(SOLVER), jobId, r.root, r.modelHash);
  return jobId;
}
const play = (jobId: bigint, gameId: bigint, states: readonly Hex[], honest: readonly Hex[]) =>
  playCheckpointGame(c(SOLVER), c(CHALLENGER), gameId, { jobId, solver: addr(SOLVER), genesis, states, truth: honest });

describe('postJob and cancelJob', () => {
  test('post escrows the price and records the job; inputs = the manifest hash', async () => {
    const before = await tok.tokenBalance(c(SUBMITTER));
    const { jobId, tx } = await m.postJob(c(SUBMITTER), params({ verifiers: 2, samples: 3, steps: N * K - 2 }));
    assert.equal(jobId, 1n);
    assert.equal(await tok.tokenBalance(c(SUBMITTER)), before - 100n * VTT);
    assert.equal(await tok.tokenBalance(c(0), ch.deployment.contracts.market), 100n * VTT);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual(
      { state: j.state, submitter: j.submitter, price: j.price, verifiers: j.verifiers, samples: j.samples, checkpoints: j.checkpoints, collateral: j.collateral },
      { state: 'open', submitter: addr(SUBMITTER), price: 100n * VTT, verifiers: 2, samples: 3, checkpoints: N, collateral: 40n * VTT },
    );
    assert.equal(j.inputs, genesis);
    const posting = await m.jobPosting(c(0), jobId);
    assert.deepEqual(
      [posting.specHash, posting.datasetRoot, posting.datasetHash, posting.manifestHash, posting.steps, posting.checkpointInterval, posting.checkpoints, posting.samples],
      [manifest.specHash, manifest.datasetRoot, manifest.datasetRoot, genesis, N * K - 2, K, N, 3],
    );
    assert.deepEqual([j.steps, j.checkpointInterval, j.checkpoints], [N * K - 2, K, N]);
    assert.deepEqual(await m.jobShape(c(0), jobId), { inputs: genesis, solver: '0x0000000000000000000000000000000000000000', steps: N * K - 2, checkpointInterval: K });
    const v = await m.verificationOf(c(0), jobId);
    assert.deepEqual([v.seed, v.slots], [ZERO, []]);
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + ch.deployment.params.priorityWindow);
    assert.deepEqual(
      tx.events.map((e) => e.eventName),
      ['JobPosted', 'JobStateChanged', 'Transfer'],
    );
    // checkpoints = ceil(steps / interval).
    const plain = await posted({ steps: 10, checkpointInterval: 3 });
    assert.equal((await m.getJob(c(0), plain)).checkpoints, 4);
  });

  test('defaults: 2 verifiers, the samples the fee pays for, a window with room for one replacement round', async () => {
    const { manifest: mf, price, duration, steps, checkpointInterval, collateral } = params();
    const { jobId } = await m.postJob(c(SUBMITTER), { manifest: mf, price, duration, steps, checkpointInterval, collateral });
    const j = await m.getJob(c(0), jobId);
    const p = ch.deployment.params;
    // 8 checkpoints, fee 10%, 2 verifiers: 8 × 0.1 / (2 × 0.5 × 0.9) = 0.89 -> at least 1.
    assert.deepEqual([j.verifiers, j.samples], [2, 1]);
    assert.deepEqual([m.defaultSamples(10, 2, 1000), m.defaultSamples(18, 2, 1000), m.defaultSamples(100, 2, 1000), m.defaultSamples(3, 2, 5000), m.defaultSamples(5, 0, 1000)], [1, 2, 4, 3, 0]);
    assert.equal(j.challengeWindow, p.minChallengeWindow + p.commitPeriod + m.verifyTime(p));
    assert.equal(m.defaultChallengeWindow(p, 0), p.minChallengeWindow);
  });

  test('the pre-manifest shape still posts (deprecated): specHash and datasetRoot set, steps = checkpoints', async () => {
    const legacy = { specHash: h('spec'), datasetHash: h('data'), price: 5n * VTT, duration: 3600, checkpoints: 4, verifiers: 0, challengeWindow: 600, collateral: 20n * VTT };
    const { jobId } = await m.postJob(c(SUBMITTER), legacy);
    const posting = await m.jobPosting(c(0), jobId);
    assert.deepEqual([posting.specHash, posting.datasetRoot, posting.steps, posting.checkpoints], [h('spec'), h('data'), 4, 4]);
    const withVerifiers = await m.postJob(c(SUBMITTER), { ...legacy, verifiers: 1 });
    const j = await m.getJob(c(0), withVerifiers.jobId);
    assert.deepEqual([j.checkpoints, j.samples, j.challengeWindow], [4, m.defaultSamples(4, 1, 1000), 600]);
  });

  test('post reverts on bad parameters and without an allowance', async () => {
    const s = mined(SUBMITTER);
    const post = (over: Partial<m.PostJobParams>) => () => m.postJob(s, params(over));
    const minVerified = 60 + m.verifyTime(ch.deployment.params);
    await expectRevert(ch, post({ price: 0n }), 'ZeroAmount');
    await expectRevert(ch, post({ manifest: { ...manifest, specHash: ZERO } }), 'ZeroHash');
    await expectRevert(ch, post({ manifest: { ...manifest, datasetRoot: ZERO } }), 'ZeroHash');
    await expectRevert(ch, post({ duration: 0 }), 'BadDuration');
    await expectRevert(ch, post({ steps: 0 }), 'BadSteps');
    await expectRevert(ch, post({ checkpointInterval: 0 }), 'BadSteps');
    // Probes sit strictly between checkpoints: a verified job needs an interval and steps of 2 or more.
    await expectRevert(ch, post({ checkpointInterval: 1, verifiers: 1, samples: 1 }), 'BadSteps');
    await expectRevert(ch, post({ steps: 1, verifiers: 1, samples: 1, challengeWindow: minVerified }), 'BadSteps');
    await expectRevert(ch, post({ steps: 9, checkpointInterval: 4, verifiers: 1, samples: 1, challengeWindow: minVerified }), 'BadSteps'); // last segment: 1 step
    await expectRevert(ch, post({ verifiers: 9, samples: 1 }), 'TooManyVerifiers');
    await expectRevert(ch, post({ verifiers: 0, samples: 1 }), 'BadSampling');
    await expectRevert(ch, post({ verifiers: 1, samples: 0 }), 'BadSampling');
    await expectRevert(ch, post({ verifiers: 1, samples: 17, challengeWindow: minVerified }), 'BadSampling');
    await expectRevert(ch, post({ challengeWindow: 59 }), 'ChallengeWindowTooShort');
    const e = await expectRevert(ch, post({ verifiers: 1, samples: 1, challengeWindow: minVerified - 1 }), 'ChallengeWindowTooShort');
    assert.equal(e.args[0], minVerified);
    await expectRevert(ch, post({ collateral: 9n * VTT }), 'CollateralBelowBond');
    await expectRevert(ch, post({ price: 2000n * VTT }), 'InsufficientBalance');
    await expectRevert(ch, () => m.postJob(mined(STRANGER), params()), 'InsufficientAllowance');
    // The smallest valid verified job posts.
    await m.postJob(c(SUBMITTER), params({ steps: 2, checkpointInterval: 2, verifiers: 1, samples: 1, challengeWindow: minVerified }));
  });

  test('cancel before a claim credits the price back; reverts for others, claimed and unknown jobs', async () => {
    const jobId = await posted();
    await expectRevert(ch, () => m.cancelJob(mined(STRANGER), jobId), 'NotSubmitter');
    await expectRevert(ch, () => m.cancelJob(mined(SUBMITTER), 99n), 'UnknownJob');
    const tx = await m.cancelJob(c(SUBMITTER), jobId);
    assert.ok(tx.events.some((e) => e.eventName === 'JobCancelled'));
    assert.equal((await m.getJob(c(0), jobId)).state, 'cancelled');
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 100n * VTT);
    const before = await tok.tokenBalance(c(SUBMITTER));
    assert.equal((await m.withdraw(c(SUBMITTER))).amount, 100n * VTT);
    assert.equal(await tok.tokenBalance(c(SUBMITTER)), before + 100n * VTT);
    await expectRevert(ch, () => m.cancelJob(mined(SUBMITTER), jobId), 'BadState');
    const other = await claimed();
    await expectRevert(ch, () => m.cancelJob(mined(SUBMITTER), other), 'BadState');
    await expectRevert(ch, () => m.withdraw(mined(STRANGER)), 'NothingToWithdraw');
  });
});

describe('claimJob', () => {
  test('a claim locks the collateral; the deadline is since + duration', async () => {
    const jobId = await posted();
    await ch.increaseTime(60);
    const tx = await m.claimJob(c(SOLVER), jobId, solverNode);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.solver, j.solverNode], ['claimed', addr(SOLVER), solverNode]);
    assert.equal((await m.jobShape(c(0), jobId)).solver, addr(SOLVER));
    assert.equal((await stk.stakeOf(c(0), addr(SOLVER))).locked, 40n * VTT);
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + 3600);
    const e = tx.events.find((x) => x.eventName === 'JobClaimed')!;
    assert.equal(Number(e.args.deadline), j.since + 3600);
  });

  test('claim reverts: unknown, taken, not the owner, no solver role, priority window, stake', async () => {
    const jobId = await posted();
    const s = mined(SOLVER);
    await expectRevert(ch, () => m.claimJob(s, 99n, solverNode), 'UnknownJob');
    await expectRevert(ch, () => m.claimJob(s, jobId, challengerNode), 'NotNodeOwner');
    await expectRevert(ch, () => m.claimJob(s, jobId, 999n), 'NotNodeOwner');
    await expectRevert(ch, () => m.claimJob(s, jobId, verifierOnlyNode), 'MissingRole');
    const e = await expectRevert(ch, () => m.claimJob(s, jobId, solverNode), 'PriorityWindow');
    assert.match(e.hint ?? '', /claim after/);
    await ch.increaseTime(60);
    await expectRevert(ch, () => m.claimJob(mined(POOR), jobId, poorNode), 'StakeBelowMinimum');
    await stk.bond(c(POOR), 100n * VTT);
    const rich = await posted({ collateral: 150n * VTT });
    await ch.increaseTime(60);
    await expectRevert(ch, () => m.claimJob(mined(POOR), rich, poorNode), 'InsufficientFreeStake');
    await m.claimJob(c(SOLVER), jobId, solverNode);
    await expectRevert(ch, () => m.claimJob(mined(POOR), jobId, poorNode), 'BadState');
    // The market stores node ids in 32 bits: a registry past 2^32 nodes (set directly here) is refused.
    await createTestClient({ mode: 'anvil', transport: http(ch.anvil.url) }).setStorageAt({
      address: ch.deployment.contracts.registry, index: 0, value: `0x${(2n ** 32n).toString(16).padStart(64, '0')}`,
    });
    const big = await registerTestNode(c(POOR), 1);
    assert.equal(big, 2n ** 32n + 1n);
    const another = await posted();
    await ch.increaseTime(60);
    await expectRevert(ch, () => m.claimJob(mined(POOR), another, big), 'NodeIdTooLarge');
  });

  test('a node with a positive score may claim inside the priority window', async () => {
    const first = await submitted();
    await ch.increaseTime(601);
    await m.finalize(c(0), first);
    assert.equal((await reputationOf(c(0), solverNode)).jobsDone, 1);
    const jobId = await posted();
    await m.claimJob(c(SOLVER), jobId, solverNode); // no wait
    assert.equal((await m.getJob(c(0), jobId)).state, 'claimed');
  });
});

describe('commitCheckpoints and submitResult', () => {
  test('progress commits grow the count; the root is in the log', async () => {
    const jobId = await claimed();
    const progress = resultOf(jobId, addr(SOLVER), truth.slice(0, 3)).root;
    const tx = await m.commitCheckpoints(c(SOLVER), jobId, 3, progress);
    assert.equal(tx.events.find((e) => e.eventName === 'CheckpointsCommitted')!.args.root, progress);
    assert.equal((await m.getJob(c(0), jobId)).committed, 3);
    const s = mined(SOLVER);
    await expectRevert(ch, () => m.commitCheckpoints(s, jobId, 3, h('r')), 'BadCheckpointCount');
    await expectRevert(ch, () => m.commitCheckpoints(s, jobId, 0, h('r')), 'BadCheckpointCount');
    await expectRevert(ch, () => m.commitCheckpoints(s, jobId, N + 1, h('r')), 'BadCheckpointCount');
    await expectRevert(ch, () => m.commitCheckpoints(s, jobId, 4, `0x${'00'.repeat(32)}`), 'ZeroHash');
    await expectRevert(ch, () => m.commitCheckpoints(mined(STRANGER), jobId, 4, h('r')), 'NotSolver');
    await expectRevert(ch, () => m.commitCheckpoints(s, 99n, 4, h('r')), 'UnknownJob');
    const open = await posted();
    await expectRevert(ch, () => m.commitCheckpoints(s, open, 1, h('r')), 'BadState');
    await ch.increaseTime(3601);
    await expectRevert(ch, () => m.commitCheckpoints(s, jobId, 4, h('r')), 'DeadlinePassed');
  });

  test('submit opens the challenge window and arms the verifier draw on the next block', async () => {
    const jobId = await claimed({ verifiers: 2, samples: 2 });
    const r = resultOf(jobId, addr(SOLVER), truth);
    const tx = await m.submitResult(c(SOLVER), jobId, r.root, r.modelHash);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.root, j.modelHash, j.committed], ['submitted', r.root, truth[N - 1], N]);
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + 600);
    const e = tx.events.find((x) => x.eventName === 'ResultSubmitted')!;
    assert.equal(e.args.seedBlock, tx.receipt.blockNumber + 1n);
    assert.equal((await m.verificationOf(c(0), jobId)).seedBlock, tx.receipt.blockNumber + 1n);
  });

  test('submit reverts: zero hashes, not the solver, late, wrong state', async () => {
    const jobId = await claimed();
    const s = mined(SOLVER);
    const zero = `0x${'00'.repeat(32)}` as Hex;
    await expectRevert(ch, () => m.submitResult(s, jobId, zero, h('m')), 'ZeroHash');
    await expectRevert(ch, () => m.submitResult(s, jobId, h('r'), zero), 'ZeroHash');
    await expectRevert(ch, () => m.submitResult(mined(CHALLENGER), jobId, h('r'), h('m')), 'NotSolver');
    await ch.increaseTime(3601);
    await expectRevert(ch, () => m.submitResult(s, jobId, h('r'), h('m')), 'DeadlinePassed');
    const open = await posted();
    await expectRevert(ch, () => m.submitResult(s, open, h('r'), h('m')), 'BadState');
  });
});

describe('reopenExpired', () => {
  test('a late solver is slashed to the submitter, counted, and the job reopens', async () => {
    const jobId = await claimed();
    await m.commitCheckpoints(c(SOLVER), jobId, 2, h('progress'));
    await expectRevert(ch, () => m.reopenExpired(mined(STRANGER), jobId), 'NotExpired');
    await ch.increaseTime(3601);
    const tx = await m.reopenExpired(c(STRANGER), jobId);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.solver, j.committed], ['open', '0x0000000000000000000000000000000000000000', 0]);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 40n * VTT);
    const s = await stk.stakeOf(c(0), addr(SOLVER));
    assert.deepEqual([s.bonded, s.locked], [260n * VTT, 0n]);
    assert.equal((await reputationOf(c(0), solverNode)).timeouts, 1);
    assert.ok(tx.events.some((e) => e.eventName === 'Slashed'));
    await expectRevert(ch, () => m.reopenExpired(mined(STRANGER), jobId), 'BadState');
    // The reopened job can be claimed again (the solver's score is negative now: wait the window).
    await ch.increaseTime(60);
    await stk.bond(c(POOR), 100n * VTT);
    await m.claimJob(c(POOR), jobId, poorNode);
  });
});

describe('challenge and settleDispute', () => {
  test('an honest solver wins: it gets the bond, a new window opens, reputations move', async () => {
    const jobId = await submitted();
    const before = await tok.tokenBalance(c(CHALLENGER));
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, challengerNode);
    assert.equal(await tok.tokenBalance(c(CHALLENGER)), before - 10n * VTT);
    const g = await getGame(c(0), gameId);
    // The game runs over the identity-bound leaves: genesis = the manifest hash, claim = the solver's leaf of the model.
    assert.deepEqual(
      [g.challenger, g.defender, g.judge.toLowerCase(), g.n, g.root, g.pre, g.post, g.context],
      [
        addr(CHALLENGER), addr(SOLVER), ch.deployment.contracts.checkpointJudge.toLowerCase(), N, resultOf(jobId, addr(SOLVER), truth).root, genesis,
        m.checkpointLeaf(jobId, addr(SOLVER), truth[N - 1]), `0x${jobId.toString(16).padStart(64, '0')}`,
      ],
    );
    assert.equal((await m.getJob(c(0), jobId)).state, 'disputed');
    assert.equal((await m.disputeOf(c(0), jobId)).gameId, gameId);
    await expectRevert(ch, () => m.settleDispute(mined(STRANGER), jobId), 'DisputeNotOver');
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'BadState');
    // A lying challenger disagrees with true leaves: it ends at the judge and loses.
    assert.equal(await play(jobId, gameId, truth, lies), 'defender-won');
    const s = await m.settleDispute(c(STRANGER), jobId);
    assert.equal(s.solverWon, true);
    const j = await m.getJob(c(0), jobId);
    assert.equal(j.state, 'submitted');
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + 600);
    assert.equal(await m.withdrawable(c(0), addr(SOLVER)), 10n * VTT);
    assert.deepEqual(await reputationOf(c(0), solverNode), { jobsDone: 0, disputesWon: 1, disputesLost: 0, timeouts: 0 });
    assert.deepEqual(await reputationOf(c(0), challengerNode), { jobsDone: 0, disputesWon: 0, disputesLost: 1, timeouts: 0 });
    await expectRevert(ch, () => m.settleDispute(mined(STRANGER), jobId), 'BadState');
    await ch.increaseTime(601);
    assert.equal((await m.finalize(c(0), jobId)).solverPay, 100n * VTT);
  });

  test('a cheating solver loses: collateral split, bond back, job reopened', async () => {
    const jobId = await submitted({}, lies);
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, challengerNode);
    assert.equal(await play(jobId, gameId, lies, truth), 'challenger-won');
    const tx = await m.settleDispute(c(STRANGER), jobId);
    assert.equal(tx.solverWon, false);
    assert.equal(await m.withdrawable(c(0), addr(CHALLENGER)), 10n * VTT + 20n * VTT);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 20n * VTT);
    const s = await stk.stakeOf(c(0), addr(SOLVER));
    assert.deepEqual([s.bonded, s.locked], [260n * VTT, 0n]);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.solver, j.root, j.modelHash], ['open', '0x0000000000000000000000000000000000000000', ZERO, ZERO]);
    assert.equal((await reputationOf(c(0), solverNode)).disputesLost, 1);
    assert.equal((await reputationOf(c(0), challengerNode)).disputesWon, 1);
    // The escrow is still there for the next solver; the submitter may also cancel now.
    await m.cancelJob(c(SUBMITTER), jobId);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 120n * VTT);
  });

  test('copied commitments are wrong for the copier: another solver\'s root loses at the first leaf', async () => {
    // POOR posts SOLVER's root and model hash (the states are right, the leaves bind SOLVER).
    await stk.bond(c(POOR), 100n * VTT);
    const jobId = await posted();
    await ch.increaseTime(60);
    await m.claimJob(c(POOR), jobId, poorNode);
    const copied = resultOf(jobId, addr(SOLVER), truth);
    await m.submitResult(c(POOR), jobId, copied.root, copied.modelHash);
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    // The copier cannot open its own claim leaf: keccak(jobId, POOR, model) is not in SOLVER's tree.
    const phase = await playCheckpointGame(c(POOR), c(CHALLENGER), gameId, { jobId, solver: addr(POOR), genesis, states: truth, truth }).catch(
      (e: Error & { errorName?: string }) => e.errorName,
    );
    assert.equal(phase, 'BadMerkleProof');
    await ch.increaseTime(ch.deployment.params.moveTimeout + 1);
    await timeoutGame(c(STRANGER), gameId);
    assert.equal((await m.settleDispute(c(STRANGER), jobId)).solverWon, false);
  });

  test('the level-0 judge opens the leaves: preimages that do not open them are refused', async () => {
    for (const agreeAll of [false, true]) {
      const snap = await ch.snapshot();
      const jobId = await submitted();
      const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
      const leaves = leavesOf(jobId, addr(SOLVER), truth);
      // Disagreeing with everything narrows the dispute to step 0, agreeing to the last step.
      for (let g = await getGame(c(0), gameId); g.phase !== 'judging'; g = await getGame(c(0), gameId)) {
        if (g.phase === 'defender-moves') {
          const i = await nextIndex(c(0), gameId);
          await reveal(c(SOLVER), gameId, leaves[i], merkleProof(leaves, i));
        } else await answer(c(CHALLENGER), gameId, agreeAll);
      }
      const step = (await getGame(c(0), gameId)).agreed;
      assert.equal(step, agreeAll ? N - 1 : 0);
      const pre = step === 0 ? genesis : truth[step - 1];
      const proof = (a: Hex, b: Hex) => encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [a, b]);
      await expectRevert(ch, () => callJudge(mined(SOLVER), gameId, proof(h('not the pre state'), truth[step])), 'BadPreimage');
      await expectRevert(ch, () => callJudge(mined(SOLVER), gameId, proof(pre, h('not the post state'))), 'BadPreimage');
      await callJudge(c(STRANGER), gameId, leafJudgeProof(genesis, truth, step));
      assert.equal((await getGame(c(0), gameId)).phase, 'defender-won');
      await ch.revert(snap);
    }
  });

  test('a solver that stops answering loses by timeout', async () => {
    const jobId = await submitted();
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, 0n);
    await ch.increaseTime(ch.deployment.params.moveTimeout + 1);
    await timeoutGame(c(STRANGER), gameId);
    assert.equal((await m.settleDispute(c(STRANGER), jobId)).solverWon, false);
    assert.equal(await m.withdrawable(c(0), addr(CHALLENGER)), 30n * VTT);
  });

  test('challenge reverts: window closed, own result, foreign node, wrong state, no allowance', async () => {
    const jobId = await submitted();
    await expectRevert(ch, () => m.challenge(mined(SOLVER), jobId), 'CannotChallengeOwnResult');
    await expectRevert(ch, () => m.challenge(mined(CHALLENGER), jobId, solverNode), 'NotNodeOwner');
    await expectRevert(ch, () => m.challenge(mined(STRANGER), jobId), 'InsufficientAllowance');
    const open = await posted();
    await expectRevert(ch, () => m.challenge(mined(CHALLENGER), open), 'BadState');
    await expectRevert(ch, () => m.settleDispute(mined(CHALLENGER), open), 'BadState');
    await ch.increaseTime(601);
    await expectRevert(ch, () => m.challenge(mined(CHALLENGER), jobId), 'ChallengeWindowClosed');
  });
});

describe('events', () => {
  test('history since deployment and a live subscription', async () => {
    const seen: string[] = [];
    const stop = watchEvents(c(0), (events) => seen.push(...events.map((e) => e.eventName)), { eventName: 'JobPosted' });
    try {
      await new Promise((r) => setTimeout(r, 120)); // the watcher takes its starting block
      const jobId = await posted();
      await m.cancelJob(c(SUBMITTER), jobId);
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, ['JobPosted']);
      const all = await getEvents(c(0));
      const names = all.map((e) => e.eventName);
      for (const name of ['Transfer', 'Bonded', 'NodeRegistered', 'VerifierPoolJoined', 'JobPosted', 'JobStateChanged', 'JobCancelled', 'Credited']) {
        assert.ok(names.includes(name), `no ${name} in the history`);
      }
      const states = await getEvents(c(0), { eventName: 'JobStateChanged' });
      assert.deepEqual(states.map((e) => [e.args.from, e.args.to]), [[0, 1], [1, 6]]);
      assert.ok(all.every((e, i) => i === 0 || e.blockNumber > all[i - 1].blockNumber || (e.blockNumber === all[i - 1].blockNumber && e.logIndex > all[i - 1].logIndex)));
    } finally {
      stop();
    }
  });
});

describe('views and construction', () => {
  test('reads of an unknown job revert; stateEndsAt is 0 in final states', async () => {
    for (const read of [m.getJob, m.verificationOf, m.disputeOf, m.stateEndsAt, (x: typeof c, id: bigint) => m.probesOf(x as never, id, addr(V1))]) {
      await assert.rejects(read(c(0) as never, 42n), (e: Error & { errorName?: string }) => e.errorName === 'UnknownJob');
    }
    assert.deepEqual(await m.probeDisputeOf(c(0), 42n), { jobId: 0n, round: 0, slot: 0, index: 0 });
    // The pure helpers on chain equal their TypeScript mirrors.
    const read = (functionName: string, args: readonly unknown[]) =>
      c(0).public.readContract({ address: ch.deployment.contracts.market, abi: abis.jobMarketAbi, functionName, args } as never);
    assert.equal(await read('checkpointLeaf', [7n, addr(SOLVER), h('state')]), m.checkpointLeaf(7n, addr(SOLVER), h('state')));
    assert.equal(await read('commitmentOf', [true, [h('a'), h('b')], h('salt'), addr(V1)]), m.commitmentOf(true, [h('a'), h('b')], h('salt'), addr(V1)));
    assert.equal(await read('probeContext', [7n, 12n]), m.probeContext(7n, 12));
    assert.equal(Number(await read('verifyTime', [])), m.verifyTime(ch.deployment.params));
    const jobId = await posted();
    await m.cancelJob(c(SUBMITTER), jobId);
    assert.equal(await m.stateEndsAt(c(0), jobId), 0);
  });

  test('the market refuses a configuration without its contracts', async () => {
    const artifacts = await compileContracts({ include: CHAIN_SOURCES });
    const zero = '0x0000000000000000000000000000000000000000' as Address;
    const d = ch.deployment.contracts;
    const config = {
      token: zero, staking: d.staking, registry: d.registry, reputation: d.reputation, game: d.game, checkpointJudge: d.checkpointJudge, stepJudge: d.judge,
      disputeBond: 1n, noShowPenalty: 1n, moveTimeout: 60, verifierFeeBps: 100, priorityWindow: 0, maxVerifiers: 2, minChallengeWindow: 60,
      commitPeriod: 60, revealPeriod: 60, probeDisputePeriod: 60,
    };
    const deploy = (cfg: typeof config) =>
      c(0)
        .wallet!.deployContract({ abi: abis.jobMarketAbi, bytecode: artifacts['core/JobMarket.sol:JobMarket'].bytecode, args: [cfg] })
        .catch((e: unknown) => {
          throw toChainError(e);
        });
    const badConfig = (e: Error & { errorName?: string }) => e.errorName === 'BadConfig';
    await assert.rejects(deploy(config), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, verifierFeeBps: 10_001 }), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, maxVerifiers: 17 }), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, moveTimeout: 0 }), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, checkpointJudge: zero }), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, stepJudge: zero }), badConfig);
    for (const k of ['commitPeriod', 'revealPeriod', 'probeDisputePeriod'] as const) await assert.rejects(deploy({ ...config, token: d.token, [k]: 0 }), badConfig);
    // A drawn verifier's lock, max(bond, penalty), must fit in the verifier minimum stake (50 VTT).
    await assert.rejects(deploy({ ...config, token: d.token, noShowPenalty: 51n * VTT }), badConfig);
    await assert.rejects(deploy({ ...config, token: d.token, disputeBond: 51n * VTT }), badConfig);
    const ok = await deploy({ ...config, token: d.token, noShowPenalty: 50n * VTT });
    const address = (await c(0).public.waitForTransactionReceipt({ hash: ok })).contractAddress!;
    const lock = await c(0).public.readContract({ address, abi: abis.jobMarketAbi, functionName: 'verifierLock' });
    assert.equal(lock, 50n * VTT);
  });

  test('the verifier-round code runs only as the market\'s (delegatecall), never on its own', async () => {
    const module = (await c(0).public.readContract({ address: ch.deployment.contracts.market, abi: abis.jobMarketAbi, functionName: 'verifiers' })) as Address;
    const direct = (functionName: string, args: readonly unknown[]) => () =>
      send(mined(STRANGER), (w, x) => w.writeContract({ ...x, address: module, abi: abis.jobMarketVerifiersAbi, functionName, args } as never));
    for (const [fn, args] of [['drawVerifiers', [1n]], ['attest', [1n, h('c')]], ['reveal', [1n, true, [], h('s')]], ['replaceVerifier', [1n, 0n]], ['settleProbeDispute', [1n]], ['disputeProbe', [1n, 0n, [], h('s'), 0n, h('p'), []]]] as const) {
      await expectRevert(ch, direct(fn, args), 'NotDelegated');
    }
  });
});

describe('re-entrancy', () => {
  test('a payee that re-enters withdraw from a token hook gets paid once', async () => {
    const artifacts = await compileContracts({ include: CHAIN_SOURCES });
    const deployer = c(0);
    const deployRaw = async (name: string, abi: readonly unknown[], args: readonly unknown[] = []) => {
      const hash = await deployer.wallet!.deployContract({ abi: abi as never, bytecode: artifacts[name].bytecode, args: args as never });
      return (await deployer.public.waitForTransactionReceipt({ hash })).contractAddress!;
    };
    const hookToken = await deployRaw('testing/HookToken.sol:HookToken', abis.hookTokenAbi);
    const d = await deployContracts({ rpcUrl: ch.anvil.url, account: devAccount(0), token: hookToken });
    const attacker = await deployRaw('testing/ReentrantReceiver.sol:ReentrantReceiver', abis.reentrantReceiverAbi, [d.contracts.market]);
    const w = deployer.wallet!;
    const pub = deployer.public;
    const send = async (address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[]) => {
      const hash = await w.writeContract({ address, abi: abi as never, functionName, args } as never);
      const r = await pub.waitForTransactionReceipt({ hash });
      assert.equal(r.status, 'success', functionName);
      return r;
    };
    const price = 100n * VTT;
    await send(hookToken, abis.hookTokenAbi, 'mint', [attacker, price]);
    const exec = (target: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[]) =>
      send(attacker, abis.reentrantReceiverAbi, 'exec', [target, encode(abi, functionName, args)]);
    await exec(hookToken, abis.hookTokenAbi, 'setHook', [true]);
    await exec(hookToken, abis.hookTokenAbi, 'approve', [d.contracts.market, price]);
    await exec(d.contracts.market, abis.jobMarketAbi, 'postJob', [params({ price })]);
    await exec(d.contracts.market, abis.jobMarketAbi, 'cancelJob', [1n]);
    // A second job keeps other people's escrow in the market while the attacker withdraws.
    await send(hookToken, abis.hookTokenAbi, 'mint', [devAccount(0).address, price]);
    await send(hookToken, abis.hookTokenAbi, 'approve', [d.contracts.market, price]);
    await send(d.contracts.market, abis.jobMarketAbi, 'postJob', [params({ price })]);
    const bal = (a: Address) => pub.readContract({ address: hookToken, abi: abis.hookTokenAbi, functionName: 'balanceOf', args: [a] });
    assert.equal(await bal(d.contracts.market), 2n * price);
    const r = await send(attacker, abis.reentrantReceiverAbi, 'attack', []);
    const read = (fn: string) => pub.readContract({ address: attacker, abi: abis.reentrantReceiverAbi, functionName: fn as 'reentryAttempts' });
    assert.equal(await read('reentryAttempts'), 1n);
    assert.equal(await read('reentrySuccesses'), 0n);
    const lastError = (await pub.readContract({ address: attacker, abi: abis.reentrantReceiverAbi, functionName: 'lastError' })) as Hex;
    assert.equal(decodeRevert(lastError).errorName, 'Reentrancy');
    assert.equal(await bal(attacker), price, 'paid exactly once');
    assert.equal(await bal(d.contracts.market), price, "the other job's escrow is untouched");
    const withdrawn = parseEventLogs({ abi: abis.jobMarketAbi, logs: r.logs, eventName: 'Withdrawn' });
    assert.equal(withdrawn.length, 1);
  });
});

function encode(abi: readonly unknown[], functionName: string, args: readonly unknown[]): Hex {
  return encodeFunctionData({ abi: abi as never, functionName, args } as never);
}
