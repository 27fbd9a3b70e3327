// BisectionGame on a real anvil with the TestJudge: games of every size end at the first wrong
// step (rooted bisection, unrooted bisection and unrooted k-ary rounds), each move's reverts leave
// the game unchanged, deadlines decide, a PENDING judge resolves later, and a two-level game (a
// NestedJudge opening a game over the sub-steps) settles upward.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import * as abis from '../src/chain/abi.ts';
import { devAccount, send, type ChainClient } from '../src/chain/client.ts';
import { CHAIN_SOURCES, compileContracts } from '../src/chain/compile.ts';
import {
  answer, callJudge, choosePart, cutsOf, decidePending, getGame, nextIndex, partRange, reveal, revealedLeaves, revealMany, timeoutGame,
} from '../src/chain/game.ts';
import { merkleProof, merkleRoot } from '../src/chain/merkle.ts';
import { expectRevert, h, honestLeaves, minedAs, playGame, startTestChain, isolateTests, type TestChain } from './chain.ts';

const CREATOR = 0, CHALLENGER = 1, DEFENDER = 2, STRANGER = 3;
const TIMEOUT = 600;
let ch: TestChain;
let deferredJudge: Address;
let nestedJudge: Address;
const c = (i: number) => ch.as(i);
const addr = (i: number) => devAccount(i).address;
const ZERO = `0x${'00'.repeat(32)}` as Hex;

interface Open {
  n: number;
  leaves: readonly Hex[];
  genesis?: Hex;
  claim?: Hex;
  judge?: Address;
  challenger?: Address;
  defender?: Address;
  moveTimeout?: number;
  root?: Hex;
  /** k > 2: an unrooted k-ary game (openWithArity). */
  arity?: number;
}

async function open(o: Open, by: ChainClient = c(CREATOR)): Promise<bigint> {
  const game = ch.deployment.contracts.game;
  const params = (o: Open) => ({
          challenger: o.challenger ?? addr(CHALLENGER),
          defender: o.defender ?? addr(DEFENDER),
          judge: o.judge ?? ch.deployment.contracts.judge,
          moveTimeout: o.moveTimeout ?? TIMEOUT,
          n: o.n,
          root: o.root ?? merkleRoot(o.leaves),
          genesis: o.genesis ?? h('genesis'),
          claim: o.claim ?? o.leaves[o.n - 1],
          context: h('context'),
  });
  if (o.arity !== undefined) {
    const tx = await send(by, (w, x) =>
      w.writeContract({ ...x, address: game, abi: abis.bisectionGameAbi, functionName: 'openWithArity', args: [params({ root: ZERO, ...o }), o.arity!] }),
    );
    return tx.events.find((e) => e.eventName === 'GameOpened')!.args.gameId as bigint;
  }
  const tx = await send(by, (w, x) =>
    w.writeContract({
      ...x,
      address: game,
      abi: abis.bisectionGameAbi,
      functionName: 'open',
      args: [
        {
          challenger: o.challenger ?? addr(CHALLENGER),
          defender: o.defender ?? addr(DEFENDER),
          judge: o.judge ?? ch.deployment.contracts.judge,
          moveTimeout: o.moveTimeout ?? TIMEOUT,
          n: o.n,
          root: o.root ?? merkleRoot(o.leaves),
          genesis: o.genesis ?? h('genesis'),
          claim: o.claim ?? o.leaves[o.n - 1],
          context: h('context'),
        },
      ],
    }),
  );
  return tx.events.find((e) => e.eventName === 'GameOpened')!.args.gameId as bigint;
}

before(async () => {
  ch = await startTestChain();
  const artifacts = await compileContracts({ include: CHAIN_SOURCES });
  const deploy = async (name: string, abi: readonly unknown[], args: readonly unknown[]) => {
    const hash = await c(0).wallet!.deployContract({ abi: abi as never, bytecode: artifacts[name].bytecode, args: args as never });
    return (await c(0).public.waitForTransactionReceipt({ hash })).contractAddress!;
  };
  deferredJudge = await deploy('testing/TestJudge.sol:TestJudge', abis.testJudgeAbi, [true]);
  nestedJudge = await deploy('testing/NestedJudge.sol:NestedJudge', abis.nestedJudgeAbi, [ch.deployment.contracts.game, ch.deployment.contracts.judge, TIMEOUT]);
});
after(() => ch?.anvil.stop());
isolateTests(() => ch);

describe('full games', () => {
  test('the honest side wins for any size and any first wrong leaf (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        fc.boolean(),
        async ([n, firstBad], defenderCheats) => {
          const s = await ch.snapshot();
          try {
            const truth = honestLeaves(h('genesis'), n);
            // firstBad == n means "no wrong leaf": then only a lying challenger can dispute.
            const wrong = truth.map((l, i) => (i >= firstBad ? h(`wrong ${i}`) : l));
            const cheating = defenderCheats && firstBad < n;
            const defenderLeaves = cheating ? wrong : truth;
            const challengerView = cheating ? truth : wrong;
            const gameId = await open({ n, leaves: defenderLeaves });
            const phase = await playGame(c(DEFENDER), c(CHALLENGER), gameId, defenderLeaves, challengerView);
            assert.equal(phase, cheating ? 'challenger-won' : 'defender-won');
            const g = await getGame(c(0), gameId);
            // The game narrowed to one step: the first wrong leaf when the defender cheats.
            assert.equal(g.disputed - g.agreed, 1);
            if (cheating) assert.equal(g.agreed, firstBad);
          } finally {
            await ch.revert(s);
          }
        },
      ),
      { numRuns: 25, seed: 20261123 },
    );
  });

  test('a one-leaf game goes straight to the judge', async () => {
    const truth = honestLeaves(h('genesis'), 1);
    const gameId = await open({ n: 1, leaves: truth });
    assert.equal((await getGame(c(0), gameId)).phase, 'judging');
    const tx = await callJudge(c(STRANGER), gameId);
    assert.ok(tx.events.some((e) => e.eventName === 'GameResolved' && e.args.defenderWon === true));
  });
});

describe('moves and their reverts', () => {
  test('reveal: only the defender, in its phase, in time, with a proof of the right leaf', async () => {
    const leaves = honestLeaves(h('genesis'), 8);
    const gameId = await open({ n: 8, leaves });
    const i = await nextIndex(c(0), gameId);
    assert.equal(i, 3);
    const d = minedAs(ch, DEFENDER);
    await expectRevert(ch, () => reveal(minedAs(ch, CHALLENGER), gameId, leaves[i], merkleProof(leaves, i)), 'NotYourMove');
    await expectRevert(ch, () => reveal(d, gameId, leaves[i + 1], merkleProof(leaves, i)), 'BadMerkleProof');
    await expectRevert(ch, () => reveal(d, gameId, leaves[i], merkleProof(leaves, i).slice(1)), 'BadMerkleProof');
    await expectRevert(ch, () => reveal(d, 99n, leaves[i], merkleProof(leaves, i)), 'UnknownGame');
    await expectRevert(ch, () => answer(minedAs(ch, CHALLENGER), gameId, true), 'WrongPhase');
    await expectRevert(ch, () => callJudge(minedAs(ch, CHALLENGER), gameId), 'WrongPhase');
    await ch.increaseTime(TIMEOUT + 1);
    await expectRevert(ch, () => reveal(d, gameId, leaves[i], merkleProof(leaves, i)), 'MoveTooLate');
  });

  test('answer: only the challenger, in its phase, in time; agree moves the agreed bound', async () => {
    const leaves = honestLeaves(h('genesis'), 8);
    const gameId = await open({ n: 8, leaves });
    await reveal(c(DEFENDER), gameId, leaves[3], merkleProof(leaves, 3));
    const ch1 = minedAs(ch, CHALLENGER);
    await expectRevert(ch, () => answer(minedAs(ch, DEFENDER), gameId, true), 'NotYourMove');
    await expectRevert(ch, () => reveal(minedAs(ch, DEFENDER), gameId, leaves[3], merkleProof(leaves, 3)), 'WrongPhase');
    const tx = await answer(c(CHALLENGER), gameId, true);
    const e = tx.events.find((x) => x.eventName === 'LeafAnswered')!;
    assert.deepEqual([e.args.agreed, e.args.disputed], [4, 8]);
    const g = await getGame(c(0), gameId);
    assert.deepEqual([g.pre, g.post, g.phase], [leaves[3], leaves[7], 'defender-moves']);
    await reveal(c(DEFENDER), gameId, leaves[5], merkleProof(leaves, 5));
    await ch.increaseTime(TIMEOUT + 1);
    await expectRevert(ch, () => answer(ch1, gameId, false), 'MoveTooLate');
  });

  test('callJudge: a judge that rejects the proof or answers nonsense changes nothing', async () => {
    const leaves = honestLeaves(h('genesis'), 2);
    const gameId = await open({ n: 2, leaves });
    await reveal(c(DEFENDER), gameId, leaves[0], merkleProof(leaves, 0));
    await answer(c(CHALLENGER), gameId, true);
    const s = minedAs(ch, STRANGER);
    await expectRevert(ch, () => callJudge(s, gameId, '0xbad0'), 'BadProof');
    await expectRevert(ch, () => callJudge(s, gameId, '0xbad1'), 'BadVerdict');
    const tx = await callJudge(c(STRANGER), gameId);
    const judged = tx.events.find((e) => e.eventName === 'JudgeCalled')!;
    assert.deepEqual([judged.args.step, judged.args.pre, judged.args.post, judged.args.verdict], [1, leaves[0], leaves[1], 1]);
    assert.equal((await getGame(c(0), gameId)).phase, 'defender-won');
    await expectRevert(ch, () => callJudge(s, gameId), 'WrongPhase');
    await expectRevert(ch, () => timeoutGame(s, gameId), 'WrongPhase');
  });

  test('open refuses bad parameters', async () => {
    const leaves = honestLeaves(h('genesis'), 4);
    const zero = '0x0000000000000000000000000000000000000000' as Address;
    const bad = async (o: Partial<Open>) => expectRevert(ch, () => open({ n: 4, leaves, ...o }, minedAs(ch, CREATOR)), 'BadParams');
    await bad({ challenger: zero });
    await bad({ defender: zero });
    await bad({ defender: addr(CHALLENGER) });
    await bad({ judge: zero });
    await bad({ moveTimeout: 0 });
    await bad({ n: 0, claim: h('x') });
    await assert.rejects(getGame(c(0), 99n), (e: Error & { errorName?: string }) => e.errorName === 'UnknownGame');
  });
});

/** Play an unrooted k-ary game: the defender reveals its leaves at the cuts, the challenger names the first part whose end it disputes. */
async function playKary(gameId: bigint, defenderLeaves: readonly Hex[], trueLeaves: readonly Hex[]): Promise<{ phase: string; rounds: number }> {
  let rounds = 0;
  for (;;) {
    const g = await getGame(c(0), gameId);
    if (g.phase === 'defender-moves') {
      rounds++;
      await revealMany(c(DEFENDER), gameId, cutsOf(g.agreed, g.disputed, g.arity).map((k) => defenderLeaves[k - 1]));
    } else if (g.phase === 'challenger-moves') {
      const leaves = await revealedLeaves(c(CHALLENGER), gameId);
      const cuts = cutsOf(g.agreed, g.disputed, g.arity);
      let part = cuts.findIndex((k, i) => leaves[i] !== trueLeaves[k - 1]);
      if (part < 0) part = cuts.length;
      await choosePart(c(CHALLENGER), gameId, part, leaves);
      const after = await getGame(c(0), gameId);
      assert.deepEqual([after.agreed, after.disputed], partRange(g.agreed, g.disputed, cuts, part));
    } else if (g.phase === 'judging') {
      await callJudge(c(DEFENDER), gameId);
    } else return { phase: g.phase, rounds };
  }
}

describe('unrooted games (root 0): no commitment, every revealed leaf binds', () => {
  test('bisection: reveals take no proof; the honest side wins (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))), fc.boolean(), async ([n, firstBad], defenderCheats) => {
        const s = await ch.snapshot();
        try {
          const truth = honestLeaves(h('genesis'), n);
          const wrong = truth.map((l, i) => (i >= firstBad ? h(`wrong ${i}`) : l));
          const defenderLeaves = defenderCheats ? wrong : truth;
          const gameId = await open({ n, leaves: defenderLeaves, root: ZERO });
          for (;;) {
            const g = await getGame(c(0), gameId);
            if (g.phase === 'defender-moves') {
              const i = await nextIndex(c(0), gameId);
              await reveal(c(DEFENDER), gameId, defenderLeaves[i], []);
            } else if (g.phase === 'challenger-moves') {
              const i = Math.floor((g.agreed + g.disputed) / 2) - 1;
              await answer(c(CHALLENGER), gameId, g.revealed === (defenderCheats ? truth : wrong)[i]);
            } else if (g.phase === 'judging') await callJudge(c(DEFENDER), gameId);
            else break;
          }
          const g = await getGame(c(0), gameId);
          assert.equal(g.phase, defenderCheats ? 'challenger-won' : 'defender-won');
          if (defenderCheats) assert.equal(g.agreed, firstBad);
        } finally {
          await ch.revert(s);
        }
      }),
      { numRuns: 12, seed: 20261201 },
    );
  });

  test('k-ary rounds: ceil(log_k n) rounds, the first wrong leaf found, the honest side wins (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.constantFrom(3, 4, 16, 64),
        fc.boolean(),
        async ([n, firstBad], arity, defenderCheats) => {
          const s = await ch.snapshot();
          try {
            const truth = honestLeaves(h('genesis'), n);
            const wrong = truth.map((l, i) => (i >= firstBad ? h(`wrong ${i}`) : l));
            const defenderLeaves = defenderCheats ? wrong : truth;
            const gameId = await open({ n, leaves: defenderLeaves, arity });
            const { phase, rounds } = await playKary(gameId, defenderLeaves, defenderCheats ? truth : wrong);
            assert.equal(phase, defenderCheats ? 'challenger-won' : 'defender-won');
            const g = await getGame(c(0), gameId);
            assert.equal(g.disputed - g.agreed, 1);
            if (defenderCheats) assert.equal(g.agreed, firstBad);
            assert.ok(rounds <= Math.ceil(Math.log(n) / Math.log(arity) - 1e-9), `${rounds} rounds for n ${n}, k ${arity}`);
          } finally {
            await ch.revert(s);
          }
        },
      ),
      { numRuns: 20, seed: 20261202 },
    );
  });

  test('k-ary moves refuse the wrong move, count, leaves, part and arity', async () => {
    const leaves = honestLeaves(h('genesis'), 40);
    await expectRevert(ch, () => open({ n: 40, leaves, arity: 16, root: merkleRoot(leaves) }, minedAs(ch, CREATOR)), 'BadArity');
    await expectRevert(ch, () => open({ n: 40, leaves, arity: 1 }, minedAs(ch, CREATOR)), 'BadArity');
    await expectRevert(ch, () => open({ n: 40, leaves, arity: 65 }, minedAs(ch, CREATOR)), 'BadArity');
    const gameId = await open({ n: 40, leaves, arity: 16 });
    const d = minedAs(ch, DEFENDER), x = minedAs(ch, CHALLENGER);
    await expectRevert(ch, () => reveal(d, gameId, leaves[0], []), 'WrongMove');
    await expectRevert(ch, () => revealMany(d, gameId, leaves.slice(0, 14)), 'BadLeaves');
    await expectRevert(ch, () => revealMany(x, gameId, leaves.slice(0, 15)), 'NotYourMove');
    const cuts = cutsOf(0, 40, 16);
    assert.equal(cuts.length, 15);
    const shown = cuts.map((k) => leaves[k - 1]);
    await revealMany(c(DEFENDER), gameId, shown);
    await expectRevert(ch, () => answer(x, gameId, true), 'WrongMove');
    await expectRevert(ch, () => choosePart(x, gameId, 0, [...shown.slice(1), shown[0]]), 'BadLeaves');
    await expectRevert(ch, () => choosePart(x, gameId, 16, shown), 'BadPart');
    await expectRevert(ch, () => choosePart(d, gameId, 0, shown), 'NotYourMove');
    await choosePart(c(CHALLENGER), gameId, 5, shown);
    const g = await getGame(c(0), gameId);
    assert.deepEqual([g.agreed, g.disputed, g.pre, g.post], [cuts[4], cuts[5], leaves[cuts[4] - 1], leaves[cuts[5] - 1]]);
    // The challenger that misses its choice loses, like a missed answer.
    const g2 = await open({ n: 40, leaves, arity: 4 });
    await revealMany(c(DEFENDER), g2, cutsOf(0, 40, 4).map((k) => leaves[k - 1]));
    await ch.increaseTime(TIMEOUT + 1);
    await timeoutGame(c(STRANGER), g2);
    assert.equal((await getGame(c(0), g2)).phase, 'defender-won');
  });
});

describe('deadlines', () => {
  test('whoever misses a move loses: defender reveal, challenger answer, defender judge call', async () => {
    const leaves = honestLeaves(h('genesis'), 4);
    const s = minedAs(ch, STRANGER);
    // Defender misses its reveal.
    let gameId = await open({ n: 4, leaves });
    await expectRevert(ch, () => timeoutGame(s, gameId), 'NotTimedOut');
    await ch.increaseTime(TIMEOUT + 1);
    let tx = await timeoutGame(c(STRANGER), gameId);
    assert.ok(tx.events.some((e) => e.eventName === 'GameResolved' && e.args.defenderWon === false && e.args.byTimeout === true));
    // Challenger misses its answer.
    gameId = await open({ n: 4, leaves });
    await reveal(c(DEFENDER), gameId, leaves[1], merkleProof(leaves, 1));
    await ch.increaseTime(TIMEOUT + 1);
    tx = await timeoutGame(c(STRANGER), gameId);
    assert.equal((await getGame(c(0), gameId)).phase, 'defender-won');
    // Nobody calls the judge: the defender, who must show its step, loses.
    gameId = await open({ n: 1, leaves: leaves.slice(0, 1) });
    await ch.increaseTime(TIMEOUT + 1);
    await expectRevert(ch, () => callJudge(s, gameId), 'MoveTooLate');
    await timeoutGame(c(STRANGER), gameId);
    assert.equal((await getGame(c(0), gameId)).phase, 'challenger-won');
    await expectRevert(ch, () => timeoutGame(s, 99n), 'UnknownGame');
  });
});

describe('judges that answer later', () => {
  test('PENDING waits for the judge; only the judge resolves', async () => {
    const leaves = honestLeaves(h('genesis'), 1);
    const gameId = await open({ n: 1, leaves, judge: deferredJudge });
    await callJudge(c(DEFENDER), gameId);
    assert.equal((await getGame(c(0), gameId)).phase, 'awaiting-judge');
    // No deadline runs while the judge works.
    await ch.increaseTime(TIMEOUT * 10);
    await expectRevert(ch, () => timeoutGame(minedAs(ch, STRANGER), gameId), 'WrongPhase');
    const resolve = (by: ChainClient) =>
      send(by, (w, x) => w.writeContract({ ...x, address: ch.deployment.contracts.game, abi: abis.bisectionGameAbi, functionName: 'resolve', args: [gameId, false] }));
    await expectRevert(ch, () => resolve(minedAs(ch, STRANGER)), 'NotJudge');
    await decidePending(c(STRANGER), deferredJudge, gameId);
    assert.equal((await getGame(c(0), gameId)).phase, 'defender-won');
    await expectRevert(ch, () => resolve(minedAs(ch, STRANGER)), 'WrongPhase');
    await expectRevert(ch, () => decidePending(minedAs(ch, STRANGER), deferredJudge, gameId), 'NothingPending');
  });

  test('two levels: the step is decided by a game over its sub-steps', async () => {
    // Level 1: 4 steps. Each step is 5 sub-steps of the TestJudge's hash chain; a level-1 leaf is
    // keccak256(abi.encode(state, subRoot, subN)).
    const SUB = 5;
    const leafOf = (state: Hex, sub: readonly Hex[]) =>
      keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint48' }], [state, merkleRoot(sub), SUB]));
    const genesis = h('genesis');
    const build = (cheatAt: number) => {
      const states: Hex[] = [], subs: Hex[][] = [], leaves: Hex[] = [];
      let state = genesis;
      for (let i = 0; i < 4; i++) {
        const sub = honestLeaves(state, SUB);
        // A cheat keeps an honest-looking sub-trace but claims a different end state.
        const end = i === cheatAt ? h('forged') : sub[SUB - 1];
        states.push(end);
        subs.push(sub);
        leaves.push(leafOf(end, sub));
        state = end;
      }
      return { states, subs, leaves };
    };
    for (const cheatAt of [-1, 0, 2, 1]) {
      const s = await ch.snapshot();
      const d = build(cheatAt);
      const honest = build(-1);
      const gameId = await open({ n: 4, leaves: d.leaves, genesis, judge: nestedJudge });
      // Level 1: bisect to one step (the defender plays its leaves, the challenger the honest ones).
      for (;;) {
        const g = await getGame(c(0), gameId);
        if (g.phase === 'judging') break;
        if (g.phase === 'defender-moves') {
          const i = await nextIndex(c(0), gameId);
          await reveal(c(DEFENDER), gameId, d.leaves[i], merkleProof(d.leaves, i));
        } else {
          const i = Math.floor((g.agreed + g.disputed) / 2) - 1;
          await answer(c(CHALLENGER), gameId, g.revealed === honest.leaves[i]);
        }
      }
      const g = await getGame(c(0), gameId);
      const step = g.agreed;
      const pre = step === 0 ? [genesis, ZERO, 0] : [d.states[step - 1], merkleRoot(d.subs[step - 1]), SUB];
      const proof = encodeAbiParameters(
        ['bytes32', 'bytes32', 'uint48', 'bytes32', 'bytes32', 'uint48'].map((type) => ({ type })),
        [...(pre as [Hex, Hex, number]), d.states[step], merkleRoot(d.subs[step]), SUB],
      );
      if (cheatAt === 2) {
        // Preimages that do not open the game's leaves are refused (nothing changes); the judge
        // answers only the game, and a sub-game reports only when it is over.
        const wrong = encodeAbiParameters(
          ['bytes32', 'bytes32', 'uint48', 'bytes32', 'bytes32', 'uint48'].map((type) => ({ type })),
          [...(pre as [Hex, Hex, number]), h('other state'), merkleRoot(d.subs[step]), SUB],
        );
        await expectRevert(ch, () => callJudge(minedAs(ch, DEFENDER), gameId, wrong), 'BadPreimage');
        const settle = (id: bigint) => () =>
          send(minedAs(ch, STRANGER), (w, x) => w.writeContract({ ...x, address: nestedJudge, abi: abis.nestedJudgeAbi, functionName: 'settle', args: [id] }));
        await expectRevert(ch, settle(99n), 'UnknownSubGame');
        const direct = () =>
          send(minedAs(ch, STRANGER), (w, x) =>
            w.writeContract({
              ...x,
              address: nestedJudge,
              abi: abis.nestedJudgeAbi,
              functionName: 'judge',
              args: [{ gameId, context: ZERO, step: 0, n: 4, pre: genesis, post: d.leaves[0], challenger: addr(CHALLENGER), defender: addr(DEFENDER) }, proof],
            }),
          );
        await expectRevert(ch, direct, 'NotGame');
        const opened = await callJudge(c(DEFENDER), gameId, proof);
        const sub = opened.events.find((e) => e.eventName === 'SubGameOpened')!.args.subGameId as bigint;
        await expectRevert(ch, settle(sub), 'SubGameNotOver');
        await ch.revert(s);
        continue;
      }
      const tx = await callJudge(c(DEFENDER), gameId, proof);
      const opened = tx.events.find((e) => e.eventName === 'SubGameOpened')!;
      const subGame = opened.args.subGameId as bigint;
      assert.equal((await getGame(c(0), gameId)).phase, 'awaiting-judge');
      // Level 2: the sub-game over the step's sub-steps, with the TestJudge at the bottom.
      const subLeaves = d.subs[step];
      const subTruth = honestLeaves(step === 0 ? genesis : d.states[step - 1], SUB);
      const sg = await getGame(c(0), subGame);
      assert.deepEqual([sg.pre, sg.post, sg.n], [step === 0 ? genesis : d.states[step - 1], d.states[step], SUB]);
      const subPhase = await playGame(c(DEFENDER), c(CHALLENGER), subGame, subLeaves, subTruth);
      assert.equal(subPhase, cheatAt === step ? 'challenger-won' : 'defender-won');
      await send(c(STRANGER), (w, x) =>
        w.writeContract({ ...x, address: nestedJudge, abi: abis.nestedJudgeAbi, functionName: 'settle', args: [subGame] }),
      );
      assert.equal((await getGame(c(0), gameId)).phase, cheatAt >= 0 ? 'challenger-won' : 'defender-won');
      await ch.revert(s);
    }
  });
});
