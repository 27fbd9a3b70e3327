// Invariants over random sequences of actions (fast-check) on a real anvil: value is conserved
// (balances + escrow + dispute bonds + probe bonds + stakes), every lock is accounted for (solver
// collateral of live jobs, verifier bonds of live slots and of stale probe games), nothing is paid
// twice, stake is slashed only by a lost dispute, a missed deadline, a verifier's no-show or a lost
// probe dispute, a job's state machine never skips a state, and a reverted action changes no
// contract storage. Verifier rounds (draw, commit, reveal, replacement, probe disputes with honest and
// lazy verifiers) interleave with everything else. Every action is sent without a gas estimate, so
// reverts are mined too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { maxUint256, type Address, type Hex } from 'viem';
import { devAccount, type ChainClient, type TxResult } from '../src/chain/client.ts';
import { ContractRevertError } from '../src/chain/errors.ts';
import { answer, callJudge, getGame, nextIndex, reveal, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import { merkleProof } from '../src/chain/merkle.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { h, honestLeaves, minedAs, registerTestNode, startTestChain, type TestChain } from './chain.ts';
import { leafJudgeProof, leavesOf, resultOf, stepStates } from './chain-jobs.ts';

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
  // The solvers verify other solvers' jobs too: their draw weight is their free stake.
  for (const i of SOLVERS) await stk.joinVerifierPool(ch.as(i));
  nodes.set(7, await registerTestNode(ch.as(7), 2));
  for (const i of ACTORS) mc.set(i, minedAs(ch, i));
});
after(() => ch?.anvil.stop());

type Action =
  | { kind: 'post'; by: number; price: number; checkpoints: number; interval: number; verifiers: number; samples: number; collateral: number }
  | { kind: 'cancel' | 'draw' | 'settle' | 'finalize' | 'reopen' | 'move' | 'timeout'; by: number; job: number }
  | { kind: 'claim' | 'commit'; by: number; job: number; count: number }
  | { kind: 'submit'; by: number; job: number; lieFrom: number }
  | { kind: 'attest'; by: number; job: number; lazy: boolean }
  | { kind: 'reveal' | 'challenge'; by: number; job: number }
  | { kind: 'replace' | 'disputeProbe'; by: number; job: number; slot: number }
  | { kind: 'probeMove' | 'probeTimeout' | 'settleProbe'; by: number; game: number }
  | { kind: 'withdraw' | 'withdrawUnbonded'; by: number }
  | { kind: 'bond' | 'unbond'; by: number; amount: number }
  | { kind: 'time'; seconds: number };

const any = (xs: number[]) => fc.constantFrom(...xs);
const job = fc.nat(39);
const slot = fc.nat(3);
const postArb = fc.record({
  kind: fc.constant('post' as const),
  by: any(SUBMITTERS),
  price: fc.integer({ min: 1, max: 60 }),
  checkpoints: fc.integer({ min: 1, max: 6 }),
  interval: fc.integer({ min: 2, max: 3 }),
  verifiers: fc.integer({ min: 0, max: 2 }),
  samples: fc.integer({ min: 1, max: 3 }),
  collateral: fc.integer({ min: 10, max: 60 }),
});
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: postArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), by: any(SUBMITTERS), job }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('claim' as const), by: any(SOLVERS), job, count: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('commit' as const), by: any(SOLVERS), job, count: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('submit' as const), by: any(SOLVERS), job, lieFrom: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('draw' as const), by: fc.constant(0), job }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('attest' as const), by: any(VERIFIERS), job, lazy: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reveal' as const), by: any(VERIFIERS), job }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), by: fc.constant(0), job, slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('disputeProbe' as const), by: any(SOLVERS), job, slot }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('probeMove' as const), by: fc.constant(0), game: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('probeTimeout' as const), by: fc.constant(0), game: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settleProbe' as const), by: fc.constant(0), game: fc.nat(9) }) },
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
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('time' as const), seconds: fc.constantFrom(30, 130, 700, 3700, 90_000) }) },
);

/** A job's whole life as one chunk (post, claim, submit, verifier round, then a dispute or a finalize), to interleave. */
const flowArb: fc.Arbitrary<Action[]> = fc
  .record({
    post: postArb,
    solver: any(SOLVERS),
    lieFrom: fc.integer({ min: 0, max: 8 }),
    ending: fc.constantFrom('dispute', 'dispute', 'stall', 'finalize', 'abandon', 'probe', 'probe', 'replace'),
    moves: fc.integer({ min: 0, max: 3 }),
    lazy: fc.boolean(),
    challenger: any(CHALLENGERS),
    job: job,
  })
  .map((f) => {
    const j = f.job * 5 + 1; // aimed (job % 5 != 0)
    const out: Action[] = [f.post, { kind: 'claim', by: f.solver, job: j, count: 0 }];
    if (f.ending === 'abandon') {
      out.push({ kind: 'time', seconds: 3700 }, { kind: 'reopen', by: 0, job: j }, { kind: 'withdraw', by: f.post.by });
      return out;
    }
    out.push({ kind: 'submit', by: f.solver, job: j, lieFrom: f.lieFrom });
    if (f.post.verifiers > 0 && f.ending === 'replace') {
      // Nobody commits: the first slot is replaced, the replacement drawn; finalize takes the penalties.
      out.push({ kind: 'time', seconds: 30 }, { kind: 'draw', by: 0, job: j }, { kind: 'time', seconds: 130 });
      out.push({ kind: 'replace', by: 0, job: j, slot: 0 }, { kind: 'time', seconds: 30 }, { kind: 'draw', by: 0, job: j });
      out.push({ kind: 'attest', by: VERIFIERS[0], job: j, lazy: false }, { kind: 'time', seconds: 700 }, { kind: 'finalize', by: 0, job: j });
      out.push({ kind: 'withdraw', by: f.solver }, { kind: 'withdraw', by: f.post.by });
      return out;
    }
    if (f.post.verifiers > 0) {
      out.push({ kind: 'time', seconds: 30 }, { kind: 'draw', by: 0, job: j });
      out.push({ kind: 'attest', by: VERIFIERS[0], job: j, lazy: f.lazy }, { kind: 'attest', by: VERIFIERS[1], job: j + 1, lazy: false });
      out.push({ kind: 'reveal', by: VERIFIERS[0], job: j }, { kind: 'reveal', by: VERIFIERS[1], job: j + 1 });
    }
    if (f.ending === 'probe') {
      out.push({ kind: 'disputeProbe', by: f.solver, job: j, slot: 0 });
      for (let i = 0; i < 4; i++) out.push({ kind: 'probeMove', by: 0, game: 0 });
      out.push({ kind: 'settleProbe', by: 0, game: 0 }, { kind: 'time', seconds: 700 }, { kind: 'finalize', by: 0, job: j });
    } else if (f.ending === 'stall') {
      // A dispute where someone stops moving: the deadline decides.
      out.push({ kind: 'challenge', by: f.challenger, job: j });
      for (let i = 0; i < f.moves; i++) out.push({ kind: 'move', by: 0, job: j });
      out.push({ kind: 'time', seconds: 3700 }, { kind: 'timeout', by: 0, job: j }, { kind: 'settle', by: 0, job: j });
    } else if (f.ending === 'dispute') {
      out.push({ kind: 'challenge', by: f.challenger, job: j });
      for (let i = 0; i < 8; i++) out.push({ kind: 'move', by: 0, job: j });
      out.push({ kind: 'settle', by: 0, job: j }, { kind: 'withdraw', by: f.challenger });
    } else out.push({ kind: 'time', seconds: 700 }, { kind: 'finalize', by: 0, job: j });
    out.push({ kind: 'withdraw', by: f.solver }, { kind: 'withdraw', by: f.post.by });
    return out;
  });

const sequenceArb = fc
  .array(fc.oneof({ weight: 5, arbitrary: actionArb.map((a) => [a]) }, { weight: 1, arbitrary: flowArb }), { minLength: 15, maxLength: 40 })
  .map((chunks) => chunks.flat());

/** What the test knows besides the chain: job states, the solvers' committed states, the verifiers' reveals, the probe games. */
interface Model {
  states: Map<bigint, string>;
  committed: Map<bigint, Hex[]>;
  reveals: Map<string, m.Reveal>;
  /** Probe games opened: the verifier's chain of states from the checkpoint and the true one. */
  probeGames: { gameId: bigint; jobId: bigint; mine: Hex[]; truth: Hex[] }[];
  finalized: Set<bigint>;
}

// The states an action is meant for: most picks go to a job in one of them, the rest at random.
// Payout actions also aim at jobs already paid out (cancelled, finalized, reopened): the double
// payout attempts the invariants must see refused.
const WANTS: Record<string, string[]> = {
  cancel: ['open', 'cancelled'], claim: ['open'], commit: ['claimed'], submit: ['claimed'], reopen: ['claimed', 'open'],
  draw: ['submitted', 'disputed'], attest: ['submitted', 'disputed'], reveal: ['submitted', 'disputed'], replace: ['submitted', 'disputed'],
  disputeProbe: ['submitted', 'disputed'], challenge: ['submitted'], finalize: ['submitted', 'finalized'],
  move: ['disputed'], timeout: ['disputed'], settle: ['disputed', 'submitted', 'open'],
};

const key = (jobId: bigint, v: Address) => `${jobId}:${v}`;
const party = (x: Address) => ACTORS.find((i) => addr(i) === x);

/** The honest state after `step` steps from the solver's own checkpoint (what an honest verifier reveals). */
function probeTruth(committed: readonly Hex[], manifestInit: Hex, interval: number, p: m.Probe): Hex {
  const pre = p.segment === 0 ? manifestInit : committed[p.segment - 1];
  const n = p.step - p.segment * interval;
  return stepStates(pre, n)[n - 1];
}

/** The six manifest fields of a job posted by this test (specHash and datasetRoot vary by checkpoints). */
const manifestOf = (checkpoints: number): m.Manifest => ({
  specHash: h('spec'), datasetRoot: h(`data ${checkpoints}`), initState: h('init'), dataOrder: h('order'), schedule: h('schedule'), program: h('program'),
});

async function act(a: Action, model: Model, jobs: m.Job[]): Promise<TxResult | null> {
  let pick = 0n;
  let by = 'by' in a ? a.by : 0;
  let picked: m.Job | undefined;
  if ('job' in a) {
    // Most picks: a job in the state the action needs, acted on by the party it needs.
    const aimed = a.job % 5 !== 0;
    const fit = jobs.filter((j) => WANTS[a.kind]?.includes(j.state));
    const from = fit.length > 0 && aimed ? fit : jobs;
    picked = from.length === 0 ? undefined : from[a.job % from.length];
    pick = picked?.jobId ?? 1n;
    if (picked && aimed) {
      if (a.kind === 'commit' || a.kind === 'submit' || a.kind === 'disputeProbe') by = party(picked.solver) ?? by;
      if (a.kind === 'cancel') by = party(picked.submitter) ?? by;
      if (a.kind === 'attest' || a.kind === 'reveal') {
        const v = await m.verificationOf(ch.as(0), picked.jobId);
        const live = v.slots.filter((s) => s.status !== 'replaced');
        if (live.length > 0) by = party(live[a.job % live.length].verifier) ?? by;
      }
    }
  }
  const c = who(by);
  switch (a.kind) {
    case 'post': {
      const steps = a.checkpoints * a.interval;
      return (
        await m.postJob(c, {
          manifest: manifestOf(a.checkpoints),
          price: BigInt(a.price) * VTT,
          duration: 3600,
          steps,
          checkpointInterval: a.interval,
          verifiers: a.verifiers,
          samples: a.verifiers === 0 ? 0 : a.samples,
          challengeWindow: 600,
          collateral: BigInt(a.collateral) * VTT,
        })
      ).tx;
    }
    case 'cancel':
      return m.cancelJob(c, pick);
    case 'claim':
      return m.claimJob(c, pick, nodes.get(by)!);
    case 'commit':
      return m.commitCheckpoints(c, pick, a.count, h(`progress ${a.count}`));
    case 'submit': {
      const n = picked?.checkpoints ?? 1;
      const truth = honestLeaves(picked?.inputs ?? h('x'), n);
      const states = truth.map((l, i) => (i >= a.lieFrom ? h(`lie ${pick} ${i}`) : l));
      const r = resultOf(pick, addr(by), states);
      const tx = await m.submitResult(c, pick, r.root, r.modelHash);
      model.committed.set(pick, states);
      return tx;
    }
    case 'draw':
      return (await m.drawVerifiers(c, pick)).tx;
    case 'attest': {
      // An honest verifier replays from the solver's checkpoints; a lazy one guesses.
      const v = await m.verificationOf(ch.as(0), pick);
      const probes = await m.probesOf(ch.as(0), pick, addr(by));
      const committed = model.committed.get(pick) ?? [];
      const r: m.Reveal = {
        agree: true,
        probes: probes.map((p, i) => (a.lazy || committed.length === 0 ? h(`guess ${pick} ${by} ${i}`) : probeTruth(committed, h('init'), picked!.checkpointInterval, p))),
        salt: h(`salt ${pick} ${by} ${v.round}`),
      };
      const tx = await m.attest(c, pick, m.commitmentOf(r.agree, r.probes, r.salt, addr(by)));
      model.reveals.set(key(pick, addr(by)), r);
      return tx;
    }
    case 'reveal':
      return m.reveal(c, pick, model.reveals.get(key(pick, addr(by))) ?? { agree: true, probes: [h('x')], salt: h('s') });
    case 'replace': {
      const v = await m.verificationOf(ch.as(0), pick).catch(() => null);
      return (await m.replaceVerifier(c, pick, v && v.slots.length > 0 ? a.slot % v.slots.length : a.slot)).tx;
    }
    case 'disputeProbe': {
      const v = await m.verificationOf(ch.as(0), pick).catch(() => null);
      const s = v && v.slots.length > 0 ? a.slot % v.slots.length : a.slot;
      const verifier = v?.slots[s]?.verifier;
      const r = verifier ? model.reveals.get(key(pick, verifier)) : undefined;
      const committed = model.committed.get(pick) ?? [h('none')];
      if (!verifier || !r) return m.disputeProbe(c, pick, { slot: s, probes: [h('x')], salt: h('s'), index: 0, preState: h('p'), proof: [] }).then((x) => x.tx);
      const probe = (await m.probesOf(ch.as(0), pick, verifier))[0];
      const ev = m.checkpointEvidence({ segment: probe?.segment ?? 0, manifest: manifestOf(picked?.checkpoints ?? 1), states: committed, leaves: leavesOf(pick, picked!.solver, committed) });
      const d = await m.disputeProbe(c, pick, { slot: s, probes: r.probes, salt: r.salt, index: 0, ...ev });
      const n = d.probeStep - d.fromStep;
      const truth = stepStates(ev.preState, n);
      model.probeGames.push({ gameId: d.gameId, jobId: pick, mine: truth.map((x, i) => (i === n - 1 ? r.probes[0] : x)), truth });
      return d.tx;
    }
    case 'probeMove': {
      // One move of a probe game: the verifier reveals its chain, the solver answers by the truth.
      const pg = model.probeGames[model.probeGames.length - 1 - (a.game % Math.max(1, model.probeGames.length))];
      if (!pg) return (await m.settleProbeDispute(c, 999n)).tx; // reverts: no probe game
      const g = await getGame(ch.as(0), pg.gameId);
      if (g.phase === 'defender-moves') {
        const i = await nextIndex(ch.as(0), pg.gameId);
        return reveal(who(party(g.defender)!), pg.gameId, pg.mine[i], []);
      }
      if (g.phase === 'challenger-moves') return answer(who(party(g.challenger)!), pg.gameId, g.revealed === pg.truth[Math.floor((g.agreed + g.disputed) / 2) - 1]);
      if (g.phase === 'judging') return callJudge(who(party(g.defender)!), pg.gameId);
      return timeoutGame(c, pg.gameId); // over: reverts (settleProbe settles)
    }
    case 'probeTimeout': {
      const pg = model.probeGames[model.probeGames.length - 1 - (a.game % Math.max(1, model.probeGames.length))];
      return timeoutGame(c, pg?.gameId ?? 999n);
    }
    case 'settleProbe': {
      const pg = model.probeGames[model.probeGames.length - 1 - (a.game % Math.max(1, model.probeGames.length))];
      return (await m.settleProbeDispute(c, pg?.gameId ?? 999n)).tx;
    }
    case 'challenge':
      return (await m.challenge(c, pick, by === 7 ? nodes.get(7)! : 0n)).tx;
    case 'move': {
      // One move of the job's level-0 game, each side playing its own states.
      const d = await m.disputeOf(ch.as(0), pick).catch(() => null);
      if (!d || d.gameId === 0n) return (await m.settleDispute(c, pick)).tx; // reverts: no dispute
      const g = await getGame(ch.as(0), d.gameId);
      const j = await m.getJob(ch.as(0), pick);
      const mine = model.committed.get(pick)!;
      const truth = honestLeaves(j.inputs, j.checkpoints);
      const solver = who(party(g.defender)!);
      const challenger = who(party(g.challenger)!);
      const leaves = leavesOf(pick, g.defender, mine);
      if (g.phase === 'defender-moves') {
        const i = await nextIndex(ch.as(0), d.gameId);
        return reveal(solver, d.gameId, leaves[i], merkleProof(leaves, i));
      }
      if (g.phase === 'challenger-moves') {
        const honest = leavesOf(pick, g.defender, truth);
        return answer(challenger, d.gameId, g.revealed === honest[Math.floor((g.agreed + g.disputed) / 2) - 1]);
      }
      if (g.phase === 'judging') return callJudge(solver, d.gameId, leafJudgeProof(j.inputs, mine, g.agreed));
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
  verifications: m.Verification[];
  /** Open probe games (not yet settled) of the model, with their on-chain record. */
  probes: { gameId: bigint; jobId: bigint; round: number; defender: Address }[];
  supply: bigint;
}

/** Read what the invariants speak about: balances, credits, stakes, every job and its verification, open probe games. */
async function observe(model: Model): Promise<Observed> {
  const c = ch.as(0);
  const holders: Address[] = [...ACTORS.map(addr), ...Object.values(ch.deployment.contracts)];
  const count = Number(await m.jobCount(c));
  const ids = Array.from({ length: count }, (_, i) => BigInt(i + 1));
  const [balances, owed, stakes, jobs, verifications, records, supply] = await Promise.all([
    Promise.all(holders.map((a) => tok.tokenBalance(c, a))),
    Promise.all(ACTORS.map((i) => m.withdrawable(c, addr(i)))),
    Promise.all(ACTORS.map((i) => stk.stakeOf(c, addr(i)))),
    Promise.all(ids.map((id) => m.getJob(c, id))),
    Promise.all(ids.map((id) => m.verificationOf(c, id))),
    Promise.all(model.probeGames.map(async (pg) => ({ pg, rec: await m.probeDisputeOf(c, pg.gameId), game: await getGame(c, pg.gameId) }))),
    tok.totalSupply(c),
  ]);
  const probes = records.filter((r) => r.rec.jobId !== 0n).map((r) => ({ gameId: r.pg.gameId, jobId: r.rec.jobId, round: r.rec.round, defender: r.game.defender }));
  return { balances, owed, stakes, jobs, verifications, probes, supply };
}

const LIVE = ['submitted', 'disputed'];

function checkBalances(o: Observed, supply: bigint) {
  const d = ch.deployment.contracts;
  const holders: Address[] = [...ACTORS.map(addr), ...Object.values(d)];
  const { balances, owed, stakes, jobs, verifications, probes } = o;
  // Conservation: every token is with an actor or a contract, and no token appears or vanishes.
  assert.equal(o.supply, supply, 'total supply changed');
  assert.equal(balances.reduce((a, b) => a + b, 0n), supply, 'tokens outside the known holders');
  // The market holds exactly the credits, the escrow of live jobs, open level-0 bonds and the
  // solvers' bonds of open probe games.
  const bond = BigInt(ch.deployment.params.disputeBond);
  const escrow = jobs.reduce((a, j) => a + (['open', 'claimed', ...LIVE].includes(j.state) ? j.price : 0n) + (j.state === 'disputed' ? bond : 0n), 0n);
  const marketBalance = balances[holders.indexOf(d.market)];
  assert.equal(marketBalance, owed.reduce((a, b) => a + b, 0n) + escrow + bond * BigInt(probes.length), 'market balance != credits + escrow + bonds');
  // Staking holds every bond and unbonding amount.
  const stakingBalance = balances[holders.indexOf(d.staking)];
  assert.equal(stakingBalance, stakes.reduce((a, s) => a + s.bonded + s.unbonding, 0n), 'staking balance != stakes');
  // Locks are exactly: the collateral of live jobs, the verifier lock of each live slot (not
  // replaced, no lost probe game) of a live job, and the verifier lock of each stale open probe game.
  const penalty = BigInt(ch.deployment.params.noShowPenalty);
  const lock = bond > penalty ? bond : penalty;
  for (const [k, i] of ACTORS.entries()) {
    const a = addr(i);
    let locked = jobs.filter((j) => j.solver === a && ['claimed', ...LIVE].includes(j.state)).reduce((t, j) => t + j.collateral, 0n);
    for (const [x, j] of jobs.entries()) {
      if (!LIVE.includes(j.state)) continue;
      for (const s of verifications[x].slots) if (s.verifier === a && s.status !== 'replaced' && s.probe !== 'solver-won') locked += lock;
    }
    for (const p of probes) {
      const v = verifications[Number(p.jobId) - 1];
      if (p.defender === a && p.round !== v.round) locked += lock;
    }
    assert.equal(stakes[k].locked, locked, `locked stake of ${i}`);
    assert.ok(stakes[k].locked <= stakes[k].bonded);
  }
  // A live job's verification counters match its slots.
  for (const [x, j] of jobs.entries()) {
    if (!LIVE.includes(j.state)) continue;
    const v = verifications[x];
    assert.ok(v.slots.filter((s) => s.status !== 'replaced').length <= j.verifiers, `job ${j.jobId}: more live slots than verifiers`);
    assert.equal(v.uncommitted, v.slots.filter((s) => s.status === 'drawn').length, `job ${j.jobId}: uncommitted`);
    assert.equal(v.openProbes, v.slots.filter((s) => s.probe === 'open').length, `job ${j.jobId}: open probes`);
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
      assert.equal(credits, paid + (e.args.penalties as bigint), 'finalize credits != its payouts + penalties');
      // A finalized job pays out exactly its price (penalties come from stakes, on top).
      const j = after.jobs.find((x) => x.jobId === id)!;
      assert.equal(paid, j.price, 'finalize paid != price');
      assert.equal(e.args.penalties, BigInt(names.filter((n) => n === 'VerifierNoShow').length) * BigInt(ch.deployment.params.noShowPenalty));
    }
    if (e.eventName === 'Slashed') {
      const op = e.args.operator as Address;
      const lostDispute = tx.events.some((x) => x.eventName === 'DisputeSettled' && x.args.solverWon === false);
      const noShow = tx.events.some((x) => (x.eventName === 'VerifierNoShow' || x.eventName === 'VerifierSlotReplaced') && x.args.verifier === op);
      const lostProbe = tx.events.some((x) => x.eventName === 'ProbeDisputeSettled' && x.args.verifierWon === false && x.args.verifier === op);
      assert.ok(lostDispute || names.includes('SolverTimedOut') || noShow || lostProbe, `slash of ${op} without a lost dispute, timeout, no-show or lost probe (${a.kind})`);
    }
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
      const model: Model = { states: new Map(), committed: new Map(), reveals: new Map(), probeGames: [], finalized: new Set() };
      let before = await observe(model);
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
          const after = await observe(model);
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
  for (const kind of [
    'post', 'claim', 'submit', 'challenge', 'move', 'timeout', 'settle', 'finalize', 'withdraw', 'reopen', 'attest', 'reveal', 'draw', 'cancel', 'bond', 'unbond',
    'replace', 'disputeProbe', 'probeMove', 'settleProbe',
  ]) {
    assert.ok((seen.get(kind) ?? 0) > 0, `no successful ${kind} in the random runs`);
  }
});
