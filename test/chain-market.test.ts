// JobMarket on a real anvil: every external function's success path and each of its reverts
// (mined, decoded, state unchanged), payouts to the wei, disputes both ways, verifier draws, and a
// re-entrant payee that gets nothing extra.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeAbiParameters, encodeFunctionData, keccak256, maxUint256, parseEventLogs, type Address, type Hex } from 'viem';
import * as abis from '../src/chain/abi.ts';
import { CHAIN_SOURCES, compileContracts } from '../src/chain/compile.ts';
import { devAccount } from '../src/chain/client.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import { decodeRevert, toChainError } from '../src/chain/errors.ts';
import { getEvents, watchEvents } from '../src/chain/events.ts';
import { getGame, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import { merkleRoot } from '../src/chain/merkle.ts';
import { reputationOf } from '../src/chain/reputation.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { expectRevert, h, honestLeaves, minedAs, playGame, registerTestNode, startTestChain, isolateTests, type TestChain } from './chain.ts';

const VTT = 10n ** 18n;
const SUBMITTER = 1, SOLVER = 2, V1 = 3, V2 = 4, CHALLENGER = 5, POOR = 6, STRANGER = 7;
const N = 8;

let ch: TestChain;
let solverNode: bigint;
let challengerNode: bigint;
let verifierOnlyNode: bigint;
let poorNode: bigint;
const spec = h('spec'), dataset = h('dataset');
const truth = honestLeaves(m.jobInputsHash(spec, dataset), N);
const lies = truth.map((l, i) => (i >= 3 ? h(`lie ${i}`) : l));

const params = (over: Partial<m.PostJobParams> = {}): m.PostJobParams => ({
  specHash: spec,
  datasetHash: dataset,
  price: 100n * VTT,
  duration: 3600,
  checkpoints: N,
  verifiers: 0,
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
async function submitted(over: Partial<m.PostJobParams> = {}, leaves: readonly Hex[] = truth) {
  const jobId = await claimed(over);
  await m.submitResult(c(SOLVER), jobId, merkleRoot(leaves), leaves[leaves.length - 1]);
  return jobId;
}

describe('postJob and cancelJob', () => {
  test('post escrows the price and records the job', async () => {
    const before = await tok.tokenBalance(c(SUBMITTER));
    const { jobId, tx } = await m.postJob(c(SUBMITTER), params({ verifiers: 2 }));
    assert.equal(jobId, 1n);
    assert.equal(await tok.tokenBalance(c(SUBMITTER)), before - 100n * VTT);
    assert.equal(await tok.tokenBalance(c(0), ch.deployment.contracts.market), 100n * VTT);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual(
      { state: j.state, submitter: j.submitter, price: j.price, verifiers: j.verifiers, checkpoints: j.checkpoints, collateral: j.collateral },
      { state: 'open', submitter: addr(SUBMITTER), price: 100n * VTT, verifiers: 2, checkpoints: N, collateral: 40n * VTT },
    );
    assert.equal(j.inputs, m.jobInputsHash(spec, dataset));
    const posting = await m.jobPosting(c(0), jobId);
    assert.deepEqual([posting.specHash, posting.datasetHash], [spec, dataset]);
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + ch.deployment.params.priorityWindow);
    assert.deepEqual(
      tx.events.map((e) => e.eventName),
      ['JobPosted', 'JobStateChanged', 'Transfer'],
    );
  });

  test('post reverts on bad parameters and without an allowance', async () => {
    const s = mined(SUBMITTER);
    const post = (over: Partial<m.PostJobParams>) => () => m.postJob(s, params(over));
    await expectRevert(ch, post({ price: 0n }), 'ZeroAmount');
    await expectRevert(ch, post({ specHash: `0x${'00'.repeat(32)}` }), 'ZeroHash');
    await expectRevert(ch, post({ datasetHash: `0x${'00'.repeat(32)}` }), 'ZeroHash');
    await expectRevert(ch, post({ duration: 0 }), 'BadDuration');
    await expectRevert(ch, post({ checkpoints: 0 }), 'BadCheckpoints');
    await expectRevert(ch, post({ verifiers: 9 }), 'TooManyVerifiers');
    await expectRevert(ch, post({ challengeWindow: 59 }), 'ChallengeWindowTooShort');
    await expectRevert(ch, post({ collateral: 9n * VTT }), 'CollateralBelowBond');
    await expectRevert(ch, post({ price: 2000n * VTT }), 'InsufficientBalance');
    await expectRevert(ch, () => m.postJob(mined(STRANGER), params()), 'InsufficientAllowance');
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
    const tx = await m.commitCheckpoints(c(SOLVER), jobId, 3, merkleRoot(truth.slice(0, 3)));
    assert.equal(tx.events.find((e) => e.eventName === 'CheckpointsCommitted')!.args.root, merkleRoot(truth.slice(0, 3)));
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
    const jobId = await claimed({ verifiers: 2 });
    const tx = await m.submitResult(c(SOLVER), jobId, merkleRoot(truth), truth[N - 1]);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.root, j.modelHash, j.committed], ['submitted', merkleRoot(truth), truth[N - 1], N]);
    assert.equal(await m.stateEndsAt(c(0), jobId), j.since + 600);
    const e = tx.events.find((x) => x.eventName === 'ResultSubmitted')!;
    assert.equal(e.args.seedBlock, tx.receipt.blockNumber + 1n);
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

describe('verifiers', () => {
  test('draw: stake-weighted, distinct, never the solver, as many as asked while the pool lasts', async () => {
    await stk.joinVerifierPool(c(SOLVER)); // 300 of the 700 pool weight, never drawn for its own job
    // The pool in join order: V1 100, V2 300, the solver 300 (VTT).
    const pool: [Address, bigint][] = [[addr(V1), 100n * VTT], [addr(V2), 300n * VTT], [addr(SOLVER), 300n * VTT]];
    const counts = new Map<Address, number>();
    for (let i = 0; i < 12; i++) {
      const s = await ch.snapshot();
      await ch.mine(i + 1); // another seed block each time
      const jobId = await submitted({ verifiers: i % 2 === 0 ? 1 : 3 });
      await ch.mine(1);
      const { verifiers, tx } = await m.drawVerifiers(c(STRANGER), jobId);
      const seed = tx.events.find((e) => e.eventName === 'VerifiersDrawn')!.args.seed as Hex;
      // Exactly the model's stake-weighted draw without replacement; three asked, two eligible: two.
      assert.deepEqual(verifiers, drawModel(pool, seed, i % 2 === 0 ? 1 : 3, addr(SOLVER)));
      for (const v of verifiers) counts.set(v, (counts.get(v) ?? 0) + 1);
      await ch.revert(s);
    }
    assert.equal(counts.has(addr(SOLVER)), false);
    assert.equal(counts.get(addr(V1))! + counts.get(addr(V2))!, 6 + 6 * 2);
  });

  test('draw, attest, and fee shares at finalize', async () => {
    await stk.joinVerifierPool(c(SOLVER)); // in the pool, but never drawn for its own job
    const jobId = await submitted({ verifiers: 2 });
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), jobId), 'RandomnessNotReady');
    await ch.mine(1);
    const { verifiers, tx } = await m.drawVerifiers(c(STRANGER), jobId);
    assert.deepEqual([...verifiers].sort(), [addr(V1), addr(V2)].sort());
    assert.ok(tx.events.some((e) => e.eventName === 'VerifiersDrawn'));
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), jobId), 'VerifiersAlreadyDrawn');
    await expectRevert(ch, () => m.attest(mined(STRANGER), jobId, h('d')), 'NotDrawnVerifier');
    await m.attest(c(V1), jobId, h('replay'));
    await expectRevert(ch, () => m.attest(mined(V1), jobId, h('replay')), 'AlreadyAttested');
    const v = await m.verificationOf(c(0), jobId);
    assert.equal(v.attested, 1 << v.drawn.indexOf(addr(V1)));
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'ChallengeWindowOpen');
    await ch.increaseTime(601);
    await expectRevert(ch, () => m.attest(mined(V2), jobId, h('replay')), 'ChallengeWindowClosed');
    const r = await m.finalize(c(STRANGER), jobId);
    // Fee 10% = 10 VTT, 5 per verifier; V1 attested, V2 did not: its share returns to the submitter.
    assert.deepEqual([r.solverPay, r.verifierPay, r.refund], [90n * VTT, 5n * VTT, 5n * VTT]);
    assert.equal(await m.withdrawable(c(0), addr(SOLVER)), 90n * VTT);
    assert.equal(await m.withdrawable(c(0), addr(V1)), 5n * VTT);
    assert.equal(await m.withdrawable(c(0), addr(V2)), 0n);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 5n * VTT);
    assert.equal((await stk.stakeOf(c(0), addr(SOLVER))).locked, 0n);
    assert.equal((await reputationOf(c(0), solverNode)).jobsDone, 1);
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'BadState');
  });

  test('draw reverts: no verifiers asked, wrong state, window closed; an aged-out seed re-arms', async () => {
    const none = await submitted();
    await ch.mine(1);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), none), 'NoVerifiersRequested');
    const open = await posted({ verifiers: 1 });
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), open), 'BadState');
    await expectRevert(ch, () => m.attest(mined(V1), open, h('d')), 'BadState');
    const late = await submitted({ verifiers: 1 });
    await ch.increaseTime(601);
    await expectRevert(ch, () => m.drawVerifiers(mined(STRANGER), late), 'ChallengeWindowClosed');
    const aged = await submitted({ verifiers: 1, challengeWindow: 100_000 });
    await ch.mine(300); // blockhash of the seed block is gone after 256 blocks
    const first = await m.drawVerifiers(c(STRANGER), aged);
    assert.equal(first.rearmed, true);
    assert.ok(first.tx.events.some((e) => e.eventName === 'VerifierDrawRearmed'));
    await ch.mine(1);
    const second = await m.drawVerifiers(c(STRANGER), aged);
    assert.equal(second.verifiers.length, 1);
  });

  test('an empty pool draws nobody and the whole fee returns to the submitter', async () => {
    await stk.leaveVerifierPool(c(V1));
    await stk.leaveVerifierPool(c(V2));
    const jobId = await submitted({ verifiers: 3 });
    await ch.mine(1);
    assert.deepEqual((await m.drawVerifiers(c(STRANGER), jobId)).verifiers, []);
    await ch.increaseTime(601);
    const r = await m.finalize(c(0), jobId);
    // 10 VTT / 3 = 3.333… VTT per share; the division dust goes to the solver.
    const share = (10n * VTT) / 3n;
    assert.deepEqual([r.solverPay, r.verifierPay, r.refund], [100n * VTT - 3n * share, 0n, 3n * share]);
  });
});

describe('challenge and settleDispute', () => {
  test('an honest solver wins: it gets the bond, a new window opens, reputations move', async () => {
    const jobId = await submitted();
    const before = await tok.tokenBalance(c(CHALLENGER));
    const { gameId } = await m.challenge(c(CHALLENGER), jobId, challengerNode);
    assert.equal(await tok.tokenBalance(c(CHALLENGER)), before - 10n * VTT);
    const g = await getGame(c(0), gameId);
    assert.deepEqual(
      [g.challenger, g.defender, g.n, g.root, g.pre, g.post, g.context],
      [addr(CHALLENGER), addr(SOLVER), N, merkleRoot(truth), m.jobInputsHash(spec, dataset), truth[N - 1], `0x${jobId.toString(16).padStart(64, '0')}`],
    );
    assert.equal((await m.getJob(c(0), jobId)).state, 'disputed');
    assert.equal((await m.disputeOf(c(0), jobId)).gameId, gameId);
    await expectRevert(ch, () => m.settleDispute(mined(STRANGER), jobId), 'DisputeNotOver');
    await expectRevert(ch, () => m.finalize(mined(STRANGER), jobId), 'BadState');
    // A lying challenger disagrees with true leaves: it ends at the judge and loses.
    assert.equal(await playGame(c(SOLVER), c(CHALLENGER), gameId, truth, lies), 'defender-won');
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
    assert.equal(await playGame(c(SOLVER), c(CHALLENGER), gameId, lies, truth), 'challenger-won');
    const tx = await m.settleDispute(c(STRANGER), jobId);
    assert.equal(tx.solverWon, false);
    assert.equal(await m.withdrawable(c(0), addr(CHALLENGER)), 10n * VTT + 20n * VTT);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 20n * VTT);
    const s = await stk.stakeOf(c(0), addr(SOLVER));
    assert.deepEqual([s.bonded, s.locked], [260n * VTT, 0n]);
    const j = await m.getJob(c(0), jobId);
    assert.deepEqual([j.state, j.solver, j.root, j.modelHash], ['open', '0x0000000000000000000000000000000000000000', `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`]);
    assert.equal((await reputationOf(c(0), solverNode)).disputesLost, 1);
    assert.equal((await reputationOf(c(0), challengerNode)).disputesWon, 1);
    // The escrow is still there for the next solver; the submitter may also cancel now.
    await m.cancelJob(c(SUBMITTER), jobId);
    assert.equal(await m.withdrawable(c(0), addr(SUBMITTER)), 120n * VTT);
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
    for (const read of [m.getJob, m.verificationOf, m.disputeOf, m.stateEndsAt]) {
      await assert.rejects(read(c(0), 42n), (e: Error & { errorName?: string }) => e.errorName === 'UnknownJob');
    }
    const jobId = await posted();
    await m.cancelJob(c(SUBMITTER), jobId);
    assert.equal(await m.stateEndsAt(c(0), jobId), 0);
  });

  test('the market refuses a configuration without its contracts', async () => {
    const artifacts = await compileContracts({ include: CHAIN_SOURCES });
    const zero = '0x0000000000000000000000000000000000000000' as Address;
    const d = ch.deployment.contracts;
    const config = {
      token: zero, staking: d.staking, registry: d.registry, reputation: d.reputation, game: d.game, judge: d.judge,
      disputeBond: 1n, moveTimeout: 60, verifierFeeBps: 100, priorityWindow: 0, maxVerifiers: 2, minChallengeWindow: 60,
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

/** JobMarket._draw in TypeScript: points in the eligible weight, shifted past excluded ranges. */
function drawModel(pool: [Address, bigint][], seed: Hex, k: number, exclude: Address): Address[] {
  const range = (a: Address) => {
    let start = 0n;
    for (const [m, w] of pool) {
      if (m === a) return { start, w };
      start += w;
    }
    return { start: 0n, w: 0n };
  };
  const excluded = [range(exclude)].filter((r) => r.w > 0n);
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

function encode(abi: readonly unknown[], functionName: string, args: readonly unknown[]): Hex {
  return encodeFunctionData({ abi: abi as never, functionName, args } as never);
}
