// Invariants over random sequences of actions (fast-check) on a real anvil: value is conserved
// (balances + escrow + stakes), nothing is paid twice, stake is slashed only by a lost dispute or a
// missed deadline, a job's state machine never skips a state, and a reverted action changes no
// contract storage. Every action is sent without a gas estimate, so reverts are mined too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { maxUint256, type Address, type Hex } from 'viem';
import { devAccount, type ChainClient, type TxResult } from '../src/chain/client.ts';
import { ContractRevertError } from '../src/chain/errors.ts';
import { answer, callJudge, getGame, nextIndex, reveal, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import { merkleProof, merkleRoot } from '../src/chain/merkle.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { h, honestLeaves, minedAs, registerTestNode, startTestChain, type TestChain } from './chain.ts';

const VTT = 10n ** 18n;
const SUBMITTERS = [1, 2], SOLVERS = [3, 4], VERIFIERS = [5, 6], CHALLENGERS = [7, 1];
const ACTORS = [0, 1, 2, 3, 4, 5, 6, 7];
const STATES = m.JOB_STATE_NAMES;
// The state machine: every transition the market may make (from → to).
const EDGES = new Set([
  'none>open', 'open>claimed', 'open>cancelled', 'claimed>submitted', 'claimed>open',
  'submitted>disputed', 'submitted>finalized', 'disputed>submitted', 'disputed>open',
]);

let ch: TestChain;
const nodes = new Map<number, bigint>();
const mc = new Map<number, ChainClient>();
const who = (i: number) => mc.get(i)!;
const addr = (i: number) => devAccount(i).address;

before(async () => {
  ch = await startTestChain({ params: { priorityWindow: 0 } });
  const { market, staking } = ch.deployment.contracts;
  for (const i of ACTORS.slice(1)) {
    const c = ch.as(i);
    await tok.faucet(c);
    await tok.approve(c, market, maxUint256);
    await tok.approve(c, staking, maxUint256);
  }
  for (const i of SOLVERS) {
    await stk.bond(ch.as(i), 200n * VTT);
    nodes.set(i, await registerTestNode(ch.as(i), 1));
  }
  for (const i of VERIFIERS) {
    await stk.bond(ch.as(i), 100n * VTT);
    await stk.joinVerifierPool(ch.as(i));
  }
  nodes.set(7, await registerTestNode(ch.as(7), 2));
  for (const i of ACTORS) mc.set(i, minedAs(ch, i));
});
after(() => ch?.anvil.stop());

type Action =
  | { kind: 'post'; by: number; price: number; checkpoints: number; verifiers: number; collateral: number }
  | { kind: 'cancel' | 'draw' | 'settle' | 'finalize' | 'reopen' | 'move' | 'timeout'; by: number; job: number }
  | { kind: 'claim' | 'commit'; by: number; job: number; count: number }
  | { kind: 'submit'; by: number; job: number; lieFrom: number }
  | { kind: 'attest' | 'challenge'; by: number; job: number }
  | { kind: 'withdraw' | 'withdrawUnbonded'; by: number }
  | { kind: 'bond' | 'unbond'; by: number; amount: number }
  | { kind: 'time'; seconds: number };

const any = (xs: number[]) => fc.constantFrom(...xs);
const job = fc.nat(39);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('post' as const), by: any(SUBMITTERS), price: fc.integer({ min: 1, max: 60 }), checkpoints: fc.integer({ min: 1, max: 6 }), verifiers: fc.integer({ min: 0, max: 2 }), collateral: fc.integer({ min: 8, max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), by: any(SUBMITTERS), job }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('claim' as const), by: any(SOLVERS), job, count: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('commit' as const), by: any(SOLVERS), job, count: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('submit' as const), by: any(SOLVERS), job, lieFrom: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('draw' as const), by: fc.constant(0), job }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('attest' as const), by: any(VERIFIERS), job }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('challenge' as const), by: any(CHALLENGERS), job }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('move' as const), by: fc.constant(0), job }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const), by: fc.constant(0), job }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('settle' as const), by: fc.constant(0), job }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finalize' as const), by: fc.constant(0), job }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), by: fc.constant(0), job }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), by: any(ACTORS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bond' as const), by: any([...SOLVERS, ...VERIFIERS]), amount: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unbond' as const), by: any([...SOLVERS, ...VERIFIERS]), amount: fc.integer({ min: 0, max: 150 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('withdrawUnbonded' as const), by: any([...SOLVERS, ...VERIFIERS]) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('time' as const), seconds: fc.constantFrom(30, 120, 700, 3700, 90_000) }) },
);

/** A job's whole life as one chunk (post, claim, submit, then a dispute or a finalize), to interleave. */
const flowArb: fc.Arbitrary<Action[]> = fc
  .record({
    by: any(SUBMITTERS),
    price: fc.integer({ min: 1, max: 60 }),
    checkpoints: fc.integer({ min: 1, max: 6 }),
    verifiers: fc.integer({ min: 0, max: 2 }),
    collateral: fc.integer({ min: 10, max: 60 }),
    solver: any(SOLVERS),
    lieFrom: fc.integer({ min: 0, max: 8 }),
    ending: fc.constantFrom('dispute', 'dispute', 'stall', 'finalize', 'abandon'),
    moves: fc.integer({ min: 0, max: 3 }),
    challenger: any(CHALLENGERS),
    job: job,
  })
  .map((f) => {
    const out: Action[] = [
      { kind: 'post', by: f.by, price: f.price, checkpoints: f.checkpoints, verifiers: f.verifiers, collateral: f.collateral },
      { kind: 'claim', by: f.solver, job: f.job * 5 + 1, count: 0 },
    ];
    if (f.ending === 'abandon') {
      out.push({ kind: 'time', seconds: 3700 }, { kind: 'reopen', by: 0, job: f.job * 5 + 1 }, { kind: 'withdraw', by: f.by });
      return out;
    }
    out.push({ kind: 'submit', by: f.solver, job: f.job * 5 + 1, lieFrom: f.lieFrom });
    if (f.verifiers > 0) {
      out.push({ kind: 'time', seconds: 30 }, { kind: 'draw', by: 0, job: f.job * 5 + 1 });
      out.push({ kind: 'attest', by: VERIFIERS[0], job: f.job * 5 + 1 }, { kind: 'attest', by: VERIFIERS[1], job: f.job * 5 + 2 });
    }
    if (f.ending === 'stall') {
      // A dispute where someone stops moving: the deadline decides.
      out.push({ kind: 'challenge', by: f.challenger, job: f.job * 5 + 1 });
      for (let i = 0; i < f.moves; i++) out.push({ kind: 'move', by: 0, job: f.job * 5 + 1 });
      out.push({ kind: 'time', seconds: 3700 }, { kind: 'timeout', by: 0, job: f.job * 5 + 1 }, { kind: 'settle', by: 0, job: f.job * 5 + 1 });
    } else if (f.ending === 'dispute') {
      out.push({ kind: 'challenge', by: f.challenger, job: f.job * 5 + 1 });
      for (let i = 0; i < 8; i++) out.push({ kind: 'move', by: 0, job: f.job * 5 + 1 });
      out.push({ kind: 'settle', by: 0, job: f.job * 5 + 1 }, { kind: 'withdraw', by: f.challenger });
    } else out.push({ kind: 'time', seconds: 700 }, { kind: 'finalize', by: 0, job: f.job * 5 + 1 });
    out.push({ kind: 'withdraw', by: f.solver }, { kind: 'withdraw', by: f.by });
    return out;
  });

const sequenceArb = fc
  .array(fc.oneof({ weight: 5, arbitrary: actionArb.map((a) => [a]) }, { weight: 1, arbitrary: flowArb }), { minLength: 15, maxLength: 40 })
  .map((chunks) => chunks.flat());

/** What the test knows besides the chain: each job's last state and its solver's committed leaves. */
interface Model {
  states: Map<bigint, string>;
  leaves: Map<bigint, Hex[]>;
  finalized: Set<bigint>;
}

// The states an action is meant for: most picks go to a job in one of them, the rest at random.
// Payout actions also aim at jobs already paid out (cancelled, finalized, reopened): the double
// payout attempts the invariants must see refused.
const WANTS: Record<string, string[]> = {
  cancel: ['open', 'cancelled'], claim: ['open'], commit: ['claimed'], submit: ['claimed'], reopen: ['claimed', 'open'],
  draw: ['submitted'], attest: ['submitted'], challenge: ['submitted'], finalize: ['submitted', 'finalized'],
  move: ['disputed'], timeout: ['disputed'], settle: ['disputed', 'submitted', 'open'],
};

async function act(a: Action, model: Model, jobs: m.Job[]): Promise<TxResult | null> {
  let pick = 0n;
  let by = 'by' in a ? a.by : 0;
  if ('job' in a) {
    // Most picks: a job in the state the action needs, acted on by the party it needs.
    const aimed = a.job % 5 !== 0;
    const fit = jobs.filter((j) => WANTS[a.kind]?.includes(j.state));
    const from = fit.length > 0 && aimed ? fit : jobs;
    const j = from.length === 0 ? undefined : from[a.job % from.length];
    pick = j?.jobId ?? 1n;
    if (j && aimed) {
      const party = (x: Address) => ACTORS.find((i) => addr(i) === x);
      if (a.kind === 'commit' || a.kind === 'submit') by = party(j.solver) ?? by;
      if (a.kind === 'cancel') by = party(j.submitter) ?? by;
      if (a.kind === 'attest') {
        const v = await m.verificationOf(ch.as(0), j.jobId);
        if (v.drawn.length > 0) by = party(v.drawn[a.job % v.drawn.length]) ?? by;
      }
    }
  }
  const c = who(by);
  switch (a.kind) {
    case 'post':
      return (await m.postJob(c, { specHash: h('spec'), datasetHash: h(`data ${a.checkpoints}`), price: BigInt(a.price) * VTT, duration: 3600, checkpoints: a.checkpoints, verifiers: a.verifiers, challengeWindow: 600, collateral: BigInt(a.collateral) * VTT })).tx;
    case 'cancel':
      return m.cancelJob(c, pick);
    case 'claim':
      return m.claimJob(c, pick, nodes.get(by)!);
    case 'commit':
      return m.commitCheckpoints(c, pick, a.count, h(`progress ${a.count}`));
    case 'submit': {
      const j = await m.getJob(ch.as(0), pick).catch(() => null);
      const n = j?.checkpoints ?? 1;
      const truth = honestLeaves(j?.inputs ?? h('x'), n);
      const leaves = truth.map((l, i) => (i >= a.lieFrom ? h(`lie ${pick} ${i}`) : l));
      const tx = await m.submitResult(c, pick, merkleRoot(leaves), leaves[n - 1]);
      model.leaves.set(pick, leaves);
      return tx;
    }
    case 'draw':
      return (await m.drawVerifiers(c, pick)).tx;
    case 'attest':
      return m.attest(c, pick, h('replay'));
    case 'challenge':
      return (await m.challenge(c, pick, by === 7 ? nodes.get(7)! : 0n)).tx;
    case 'move': {
      // One move of the job's game, each side playing its own sequence.
      const d = await m.disputeOf(ch.as(0), pick).catch(() => null);
      if (!d || d.gameId === 0n) return (await m.settleDispute(c, pick)).tx; // reverts: no dispute
      const g = await getGame(ch.as(0), d.gameId);
      const j = await m.getJob(ch.as(0), pick);
      const mine = model.leaves.get(pick)!;
      const truth = honestLeaves(j.inputs, j.checkpoints);
      const solver = who(ACTORS.find((i) => addr(i) === g.defender)!);
      const challenger = who(ACTORS.find((i) => addr(i) === g.challenger)!);
      if (g.phase === 'defender-moves') {
        const i = await nextIndex(ch.as(0), d.gameId);
        return reveal(solver, d.gameId, mine[i], merkleProof(mine, i));
      }
      if (g.phase === 'challenger-moves') return answer(challenger, d.gameId, g.revealed === truth[Math.floor((g.agreed + g.disputed) / 2) - 1]);
      if (g.phase === 'judging') return callJudge(solver, d.gameId);
      return (await m.settleDispute(c, pick)).tx; // the game is over
    }
    case 'timeout': {
      const d = await m.disputeOf(ch.as(0), pick).catch(() => null);
      return timeoutGame(c, d?.gameId ?? 0n);
    }
    case 'settle':
      return (await m.settleDispute(c, pick)).tx;
    case 'finalize':
      return (await m.finalize(c, pick)).tx;
    case 'reopen':
      return m.reopenExpired(c, pick);
    case 'withdraw':
      return (await m.withdraw(c)).tx;
    case 'bond':
      return stk.bond(c, BigInt(a.amount) * VTT);
    case 'unbond':
      return stk.requestUnbond(c, BigInt(a.amount) * VTT);
    case 'withdrawUnbonded':
      return stk.withdrawUnbonded(c);
    case 'time':
      await ch.increaseTime(a.seconds);
      return null;
  }
}

interface Observed {
  balances: bigint[];
  owed: bigint[];
  stakes: stk.StakeAccount[];
  jobs: m.Job[];
  supply: bigint;
}

/** Read what the invariants speak about: balances, credits, stakes and every job. */
async function observe(): Promise<Observed> {
  const c = ch.as(0);
  const holders: Address[] = [...ACTORS.map(addr), ...Object.values(ch.deployment.contracts)];
  const count = Number(await m.jobCount(c));
  const [balances, owed, stakes, jobs, supply] = await Promise.all([
    Promise.all(holders.map((a) => tok.tokenBalance(c, a))),
    Promise.all(ACTORS.map((i) => m.withdrawable(c, addr(i)))),
    Promise.all(ACTORS.map((i) => stk.stakeOf(c, addr(i)))),
    Promise.all(Array.from({ length: count }, (_, i) => m.getJob(c, BigInt(i + 1)))),
    tok.totalSupply(c),
  ]);
  return { balances, owed, stakes, jobs, supply };
}

function checkBalances(o: Observed, supply: bigint) {
  const d = ch.deployment.contracts;
  const holders: Address[] = [...ACTORS.map(addr), ...Object.values(d)];
  const { balances, owed, stakes, jobs } = o;
  // Conservation: every token is with an actor or a contract, and no token appears or vanishes.
  assert.equal(o.supply, supply, 'total supply changed');
  assert.equal(balances.reduce((a, b) => a + b, 0n), supply, 'tokens outside the known holders');
  // The market holds exactly the credits plus the escrow of live jobs plus open dispute bonds.
  const bond = BigInt(ch.deployment.params.disputeBond);
  const escrow = jobs.reduce((a, j) => a + (['open', 'claimed', 'submitted', 'disputed'].includes(j.state) ? j.price : 0n) + (j.state === 'disputed' ? bond : 0n), 0n);
  const marketBalance = balances[holders.indexOf(d.market)];
  assert.equal(marketBalance, owed.reduce((a, b) => a + b, 0n) + escrow, 'market balance != credits + escrow + bonds');
  // Staking holds every bond and unbonding amount; locks are exactly the live jobs' collateral.
  const stakingBalance = balances[holders.indexOf(d.staking)];
  assert.equal(stakingBalance, stakes.reduce((a, s) => a + s.bonded + s.unbonding, 0n), 'staking balance != stakes');
  for (const [k, i] of ACTORS.entries()) {
    const locked = jobs.filter((j) => j.solver === addr(i) && ['claimed', 'submitted', 'disputed'].includes(j.state)).reduce((a, j) => a + j.collateral, 0n);
    assert.equal(stakes[k].locked, locked, `locked stake of ${i}`);
    assert.ok(stakes[k].locked <= stakes[k].bonded);
  }
}

function checkEvents(tx: TxResult, a: Action, model: Model, before: Observed, after: Observed) {
  const names = tx.events.map((e) => e.eventName);
  for (const e of tx.events) {
    if (e.eventName === 'JobStateChanged') {
      const id = e.args.jobId as bigint;
      const from = STATES[Number(e.args.from)], to = STATES[Number(e.args.to)];
      assert.equal(model.states.get(id) ?? 'none', from, `job ${id} changed from ${from} but was ${model.states.get(id)}`);
      assert.ok(EDGES.has(`${from}>${to}`), `job ${id}: ${from} → ${to} skips the state machine`);
      model.states.set(id, to);
    }
    if (e.eventName === 'JobFinalized') {
      const id = e.args.jobId as bigint;
      assert.ok(!model.finalized.has(id), `job ${id} paid twice`);
      model.finalized.add(id);
      const credits = tx.events.filter((x) => x.eventName === 'Credited' && x.args.jobId === id).reduce((s, x) => s + (x.args.amount as bigint), 0n);
      const paid = (e.args.solverPay as bigint) + (e.args.verifierPay as bigint) + (e.args.refund as bigint);
      assert.equal(credits, paid, 'finalize credits != its payouts');
    }
    if (e.eventName === 'Slashed') {
      const lostDispute = tx.events.some((x) => x.eventName === 'DisputeSettled' && x.args.solverWon === false);
      assert.ok(lostDispute || names.includes('SolverTimedOut'), `slash without a lost dispute or timeout (${a.kind})`);
    }
  }
  if (names.includes('JobFinalized')) {
    const e = tx.events.find((x) => x.eventName === 'JobFinalized')!;
    // A finalized job pays out exactly its price.
    const paid = (e.args.solverPay as bigint) + (e.args.verifierPay as bigint) + (e.args.refund as bigint);
    assert.ok(paid > 0n);
  }
  // A bonded stake shrinks only by its owner's unbond request or a slash.
  for (const [k, i] of ACTORS.entries()) {
    const op = addr(i);
    if (after.stakes[k].bonded < before.stakes[k].bonded) {
      const own = a.kind === 'unbond' && addr(a.by) === op;
      const slashed = tx.events.some((x) => x.eventName === 'Slashed' && x.args.operator === op);
      assert.ok(own || slashed, `stake of ${op} fell without an unbond or a slash`);
    }
  }
}

test('invariants hold over random action sequences', async () => {
  const supply = await tok.totalSupply(ch.as(0));
  let actions = 0, reverted = 0;
  const seen = new Map<string, number>();
  const errors = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(sequenceArb, async (seq) => {
      const snap = await ch.snapshot();
      const model: Model = { states: new Map(), leaves: new Map(), finalized: new Set() };
      let before = await observe();
      try {
        for (const a of seq) {
          let tx: TxResult | null = null;
          let failed: ContractRevertError | null = null;
          try {
            tx = await act(a, model, before.jobs);
          } catch (e) {
            if (!(e instanceof ContractRevertError)) throw e;
            failed = e;
            reverted++;
            errors.set(`${a.kind}:${e.errorName}`, (errors.get(`${a.kind}:${e.errorName}`) ?? 0) + 1);
          }
          actions++;
          const after = await observe();
          checkBalances(after, supply);
          // A reverted action changes nothing the invariants can see (the unit tests compare all storage).
          if (failed) assert.deepStrictEqual(after, before, `${a.kind} reverted with ${failed.errorName} but changed state`);
          if (tx) {
            seen.set(a.kind, (seen.get(a.kind) ?? 0) + 1);
            checkEvents(tx, a, model, before, after);
          }
          before = after;
        }
      } finally {
        await ch.revert(snap);
      }
    }),
    {
      numRuns: Number(process.env.VT_CHAIN_RUNS ?? 10),
      seed: Number(process.env.VT_CHAIN_SEED ?? 424242),
      // Shrinking a failing chain run takes minutes; VT_CHAIN_SHRINK=1 turns it on for debugging.
      endOnFailure: !process.env.VT_CHAIN_SHRINK,
    },
  );
  // Coverage: the random sequences reached the interesting transitions, not only reverts.
  console.log(`# ${actions} actions, ${reverted} reverted; succeeded: ${JSON.stringify(Object.fromEntries(seen))}`);
  console.log(`# reverts: ${JSON.stringify(Object.fromEntries([...errors].sort((x, y) => y[1] - x[1])))}`);
  for (const kind of ['post', 'claim', 'submit', 'challenge', 'move', 'timeout', 'settle', 'finalize', 'withdraw', 'reopen', 'attest', 'draw', 'cancel', 'bond', 'unbond']) {
    assert.ok((seen.get(kind) ?? 0) > 0, `no successful ${kind} in the random runs`);
  }
});
