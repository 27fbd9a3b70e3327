// Whole op disputes (levels 3+4) on a real anvil, for every kind of the op table: an honest
// defender against a lying challenger, and a lying defender — a wrong output element at a random
// position, or a wrong intermediate scalar step of a random element — against an honest
// challenger; each ends with the honest side winning, at the step where the lie starts. The
// parties take turns (one transaction each: choose a part of the other's reveal, reveal inside
// it), so the final post-state is claimed by either side. Then the timeouts, every refused move
// (reverted, nothing changed), and a fast-check property over random kinds, lies and arities.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { bytesToHex, type Hex } from 'viem';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { devAccount } from '../src/chain/client.ts';
import { ContractRevertError } from '../src/chain/errors.ts';
import {
  actOnOpDispute, deployOpJudge, getOpDispute, judgeCallArgs, judgeOpStep, lastRevealed, moveStates, opCaseOf, opJudgeClient,
  openOpDispute, opOutcome, playOpDispute, revealStates, takeTurn, timeoutOpDispute, type OpJudgeClient, type OpJudgeDeployment, type Party,
} from '../src/chain/op-judge.ts';
import { createTestClient, http } from 'viem';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { OpProver, elementValue, encodeOp, isCompare, partOf, type Fault } from '../src/verify/ops/index.ts';
import { sameResult } from '../src/verify/scalar.ts';
import { cases, type OpCase } from './op-judge-cases.ts';

let anvil: Anvil;
let dep: OpJudgeDeployment;
let D: OpJudgeClient, C: OpJudgeClient, X: OpJudgeClient;

before(async () => {
  anvil = await startAnvil();
  dep = await deployOpJudge(anvil.url);
  [D, C, X] = await Promise.all([1, 2, 3].map((i) => opJudgeClient(dep, devAccount(i))));
});
after(async () => {
  await anvil?.stop();
});

/** One case per kind (the first), plus the variants whose programs differ (decay flags, first step). */
function gameCases(): OpCase[] {
  const seen = new Set<string>();
  return cases().filter((c) => {
    const key = `${c.d.kind}/${c.d.kind === 'adamwW' || c.d.kind === 'sgdBuf' ? c.name : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const CASES = gameCases();

const parties = () => ({ challenger: C.account!.address, defender: D.account!.address });

/** A lie at element `e`: its written value differs in the lowest bit (the output element is wrong). */
function wrongOutput(honest: OpProver, e: number): Uint32Array {
  const out = honest.output.slice();
  out[e] ^= 1;
  return out;
}

/**
 * A lie inside element e's program: after the first executed slot at or after `slot` that writes
 * a register and whose flipped lowest bit changes the element's value (so the defender's claimed
 * output is wrong, as a disputed one is), that register's bit flips and the run continues from the
 * wrong value. Null when no slot qualifies (movement kinds have no program).
 */
function faultAt(p: OpProver, e: number, slot: number): Fault | null {
  const S = p.c.S;
  for (let k = 0; k < S - 1; k++) {
    const s = (slot + k) % (S - 1);
    const st = p.state(e * S + s); // the state before slot s on the honest run
    const ins = st.pc === 0xffffffff ? null : p.c.fetch(e, st.pc);
    if (!ins || (ins.jump !== -1 && isCompare(ins.op))) continue;
    const dst = ins.dst;
    const fault: Fault = { element: e, slot: s, mutate: (r, pcNow) => ((r[dst] ^= 1), pcNow) };
    if (!sameResult(elementValue(p.c, p.inputs, e, fault), p.output[e])) return fault;
  }
  return null;
}

async function play(id: bigint, defender: OpProver, challenger: OpProver) {
  return playOpDispute(id, { client: D, prover: defender } as Party, { client: C, prover: challenger } as Party);
}

test('every kind: the honest side wins against a wrong output element, a wrong scalar step and a lying challenger', async () => {
  const rows: string[] = [];
  for (const [i, oc] of CASES.entries()) {
    const honest = new OpProver(oc.d, oc.inputs);
    const S = honest.c.S, E = honest.c.E;
    const rnd = randomU32s(rngStream(21, `game/${oc.name}`), 0, 4);
    const e = rnd[0] % E;
    // (1) the defender lies about one output element: decided at that element's write slot
    const liar = new OpProver(oc.d, oc.inputs, { output: wrongOutput(honest, e) });
    let { id } = await openOpDispute(D, opCaseOf(liar, parties()));
    let r = await play(id, liar, honest);
    assert.equal(r.phase, 'challenger-won', `${oc.name}: wrong output element`);
    assert.equal(r.judgedStep, e * S + S - 1, `${oc.name}: judged at the write slot of element ${e}`);
    const rounds = r.moves;
    // (2) the defender lies at a scalar step inside element e's program (kinds with a program)
    const fault = S > 1 ? faultAt(honest, e, rnd[1] % (S - 1)) : null;
    let faultNote = S > 1 ? 'no value-changing step fault (NaN/Inf data)' : 'no program (movement)';
    if (fault) {
      const faulty = new OpProver(oc.d, oc.inputs, { fault });
      ({ id } = await openOpDispute(D, opCaseOf(faulty, parties())));
      r = await play(id, faulty, honest);
      assert.equal(r.phase, 'challenger-won', `${oc.name}: wrong scalar step`);
      assert.equal(r.judgedStep, e * S + fault.slot, `${oc.name}: judged at the faulty slot`);
      faultNote = `step ${fault.slot} of ${S - 1}`;
    }
    // (3) an honest defender against a challenger that lies (wrong element, or a faulty step)
    const lyingChallenger = i % 2 === 0 || !fault ? new OpProver(oc.d, oc.inputs, { output: wrongOutput(honest, rnd[2] % E) }) : new OpProver(oc.d, oc.inputs, { fault });
    ({ id } = await openOpDispute(D, opCaseOf(honest, parties())));
    r = await play(id, honest, lyingChallenger);
    assert.equal(r.phase, 'defender-won', `${oc.name}: lying challenger`);
    rows.push(`${oc.name.padEnd(36)} E ${String(E).padStart(5)} S ${String(S).padStart(5)} T ${String(honest.steps).padStart(7)} moves ${rounds}  ${faultNote}`);
  }
  console.log(rows.map((x) => `# ${x}`).join('\n'));
});

test('a third party may make the judge call; drivers acting through actOnOpDispute end the same', async () => {
  const oc = CASES.find((c) => c.d.kind === 'matmul')!;
  const honest = new OpProver(oc.d, oc.inputs);
  const liar = new OpProver(oc.d, oc.inputs, { output: wrongOutput(honest, 3) });
  let { id } = await openOpDispute(D, opCaseOf(liar, parties()));
  const dp: Party = { client: D, prover: liar }, cp: Party = { client: C, prover: honest };
  for (let g = await getOpDispute(D, id); g.phase !== 'judging'; g = await getOpDispute(D, id)) {
    await takeTurn(id, g.phase === 'defender-moves' ? dp : cp, g.revealed === `0x${'00'.repeat(32)}` ? null : await lastRevealed(D, id));
  }
  await judgeOpStep(X, id, honest); // a third party, with the honest side's proof data
  assert.equal(await opOutcome(D, id), 'challenger-won');
  // both sides as drivers that only call actOnOpDispute whenever they look
  ({ id } = await openOpDispute(D, opCaseOf(liar, parties())));
  const seen: string[] = [];
  for (let i = 0; i < 40; i++) {
    const a = await actOnOpDispute(id, dp, 'defender');
    const b = await actOnOpDispute(id, cp, 'challenger');
    seen.push(a.action, b.action);
    if (a.action === 'over' && b.action === 'over') break;
  }
  assert.equal(await opOutcome(D, id), 'challenger-won');
  assert.ok(seen.includes('judged'));
});

async function rejects(p: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ContractRevertError, `expected ${name}, got ${String(e)}`);
    assert.equal(e.errorName, name);
    return true;
  });
}

test('timeouts: a silent defender, a silent challenger, a judge call nobody makes', async () => {
  const oc = CASES.find((c) => c.d.kind === 'sum')!;
  const honest = new OpProver(oc.d, oc.inputs);
  const k = dep.arity;
  const testClient = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  const wait = async (s: number) => {
    await testClient.increaseTime({ seconds: s });
    await testClient.mine({ blocks: 1 });
  };
  const open = async () => (await openOpDispute(D, opCaseOf(honest, { ...parties(), moveTimeout: 100 }))).id;
  const dp: Party = { client: D, prover: honest }, cp: Party = { client: C, prover: honest };
  // silent defender at the first reveal
  let id = await open();
  await rejects(timeoutOpDispute(X, id), 'NotTimedOut');
  await wait(101);
  await rejects(revealStates(D, id, honest.reveal(0, honest.steps, k).map((b) => bytesToHex(b))), 'MoveTooLate');
  assert.equal((await actOnOpDispute(id, cp, 'challenger')).action, 'timed-out');
  assert.equal(await opOutcome(D, id), 'challenger-won');
  // silent challenger
  id = await open();
  await takeTurn(id, dp, null);
  await wait(101);
  assert.equal((await actOnOpDispute(id, cp, 'challenger')).action, 'waiting'); // its own turn is late: nothing to do
  assert.equal((await actOnOpDispute(id, dp, 'defender')).action, 'timed-out');
  assert.equal(await opOutcome(D, id), 'defender-won');
  // silent defender at a later turn
  id = await open();
  await takeTurn(id, dp, null);
  await takeTurn(id, cp, await lastRevealed(C, id));
  await wait(101);
  await timeoutOpDispute(X, id);
  assert.equal(await opOutcome(D, id), 'challenger-won');
  // nobody calls the judge: the post-state's claimant loses
  for (const lastPart of [true, false]) {
    id = await open();
    let shown: Hex[] | null = null;
    for (let g = await getOpDispute(D, id); g.phase !== 'judging'; g = await getOpDispute(D, id)) {
      const me = g.phase === 'defender-moves' ? D : C;
      if (shown === null) {
        shown = honest.reveal(g.lo, g.hi, k).map((b) => bytesToHex(b));
        await revealStates(me, id, shown);
        continue;
      }
      // always the last part (keeps the defender's claim) or the first (the other's point becomes the post)
      const prev: Hex[] = shown;
      const choice: number = lastPart ? prev.length : 0;
      const [lo, hi] = partOf(g.lo, g.hi, prev.length, choice);
      const mine: Hex[] = hi - lo > 1 ? honest.reveal(lo, hi, k).map((b) => bytesToHex(b)) : [];
      await moveStates(me, id, prev, choice, mine);
      shown = mine;
    }
    const g = await getOpDispute(D, id);
    await wait(101);
    await rejects(judgeOpStep(D, id, honest), 'MoveTooLate');
    await timeoutOpDispute(X, id);
    assert.equal(await opOutcome(D, id), g.postByChallenger ? 'defender-won' : 'challenger-won', `claimant ${g.postByChallenger ? 'challenger' : 'defender'}`);
    if (lastPart) assert.equal(g.postByChallenger, false);
    await rejects(timeoutOpDispute(X, id), 'WrongPhase');
  }
});

test('refused moves revert and change nothing', async () => {
  const oc = CASES.find((c) => c.d.kind === 'tanh')!;
  const honest = new OpProver(oc.d, oc.inputs);
  const k = dep.arity;
  const base = opCaseOf(honest, parties());
  // open
  await rejects(openOpDispute(D, { ...base, outputRoot: base.inputs[0] }), 'BadOutputRoot');
  await rejects(openOpDispute(D, { ...base, inputs: [] }), 'BadInputCount');
  await rejects(openOpDispute(D, { ...base, challenger: base.defender }), 'BadParams');
  await rejects(openOpDispute(D, { ...base, moveTimeout: 0 }), 'BadParams');
  await rejects(openOpDispute(D, { ...base, op: (base.op + '00') as Hex }), 'BadDescriptor');
  const badKind = encodeOp(oc.d);
  badKind[3] = 99;
  await rejects(openOpDispute(D, { ...base, op: bytesToHex(badKind) }), 'UnknownKind');
  const { id } = await openOpDispute(D, base);
  const before = await getOpDispute(D, id);
  const leaves = honest.reveal(0, honest.steps, k).map((b) => bytesToHex(b));
  // the first reveal: wrong mover, wrong count; no move before it
  await rejects(revealStates(C, id, leaves), 'NotYourMove');
  await rejects(revealStates(D, id, leaves.slice(1)), 'BadLeafCount');
  await rejects(moveStates(D, id, [], 0, leaves), 'NotRevealed');
  await rejects(moveStates(C, id, leaves, 0, leaves), 'NotYourMove');
  assert.deepEqual(await getOpDispute(D, id), before);
  await revealStates(D, id, leaves);
  await rejects(revealStates(D, id, leaves), 'WrongPhase');
  // a move: wrong mover, other leaves than revealed, a choice past the parts, a wrong count of its own
  const mine = honest.reveal(...partOf(0, honest.steps, leaves.length, 0), k).map((b) => bytesToHex(b));
  await rejects(moveStates(D, id, leaves, 0, mine), 'NotYourMove');
  const other = [...leaves];
  other[2] = leaves[3];
  await rejects(moveStates(C, id, other, 0, mine), 'NotRevealed');
  await rejects(moveStates(C, id, leaves, leaves.length + 1, mine), 'BadChoice');
  await rejects(moveStates(C, id, leaves, 0, mine.slice(1)), 'BadLeafCount');
  // the defender's second turn may not reveal again as a first reveal
  await moveStates(C, id, leaves, 0, mine);
  await rejects(revealStates(D, id, mine), 'AlreadyRevealed');
  // play down to the judge with the last part each time (a one-step part takes no leaves)
  let shown = mine;
  for (let g = await getOpDispute(D, id); g.phase !== 'judging'; g = await getOpDispute(D, id)) {
    const me = g.phase === 'defender-moves' ? D : C;
    const m = shown.length;
    const [nlo] = partOf(g.lo, g.hi, m, m);
    const next = g.hi - nlo > 1 ? honest.reveal(nlo, g.hi, k).map((b) => bytesToHex(b)) : [];
    if (next.length === 0) await rejects(moveStates(me, id, shown, m, [leaves[0]]), 'BadLeafCount');
    await moveStates(me, id, shown, m, next);
    shown = next;
  }
  const g = await getOpDispute(D, id);
  assert.equal(g.phase, 'judging');
  assert.equal(g.hi, Math.floor(honest.steps / (leaves.length + 1)));
  const [op, inputs, pre, openings] = judgeCallArgs(honest, g.lo);
  const judge = async (args: unknown[]) => {
    try {
      const hash = await D.wallet!.writeContract({ address: dep.opJudge, abi: dep.abi, functionName: 'judge', args, account: D.account!, chain: D.wallet!.chain });
      await D.public.waitForTransactionReceipt({ hash });
    } catch (e) {
      throw toRevert(e);
    }
  };
  await rejects(judge([id, op, [pre.outRoot], pre, openings]), 'NotThisOp');
  await rejects(judge([id, op, inputs, { ...pre, regs: pre.regs.map((r, i) => (i === 15 ? r ^ 1 : r)) }, openings]), 'NotThePreState');
  if (openings.length > 0) {
    const bad = openings.map((o) => ({ ...o, siblings: [...o.siblings] }));
    bad[0].chunk = (bad[0].chunk.slice(0, -2) + (bad[0].chunk.endsWith('00') ? '01' : '00')) as Hex;
    await rejects(judge([id, op, inputs, pre, bad]), 'NotCommitted');
  }
  assert.equal((await getOpDispute(D, id)).phase, 'judging');
  await judge([id, op, inputs, pre, openings]);
  assert.equal(await opOutcome(D, id), 'defender-won');
  await rejects(judgeOpStep(D, id, honest), 'WrongPhase');
});

function toRevert(e: unknown): unknown {
  // viem's writeContract error → our ContractRevertError, as src/chain/op-judge.ts does it
  const err = e as { walk?: (f: (x: unknown) => boolean) => unknown };
  let name: string | undefined;
  err.walk?.((x) => {
    const d = (x as { data?: { errorName?: string } }).data;
    if (d?.errorName) name = d.errorName;
    return false;
  });
  return name ? new ContractRevertError(name, []) : e;
}

test('fast-check: random kind, lie, position and arity — the honest side always wins', async () => {
  const arities = [2, 3, 16];
  const deps: OpJudgeDeployment[] = [];
  for (const a of arities) deps.push(await deployOpJudge(anvil.url, { arity: a }));
  const clients = await Promise.all(deps.map(async (d) => ({ D: await opJudgeClient(d, devAccount(1)), C: await opJudgeClient(d, devAccount(2)) })));
  const claimants = new Set<string>();
  const small = CASES.filter((c) => c.d.kind !== 'sumSquares' && c.d.kind !== 'matmul' || c.name.startsWith('matmul tA'));
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: small.length - 1 }),
      fc.integer({ min: 0, max: arities.length - 1 }),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      async (ci, ai, defenderLies, stepLie, w1, w2) => {
        const oc = small[ci];
        const honest = new OpProver(oc.d, oc.inputs);
        const e = w1 % honest.c.E;
        const fault = stepLie && honest.c.S > 1 ? faultAt(honest, e, w2 % (honest.c.S - 1)) : null;
        const liar = fault ? new OpProver(oc.d, oc.inputs, { fault }) : new OpProver(oc.d, oc.inputs, { output: wrongOutput(honest, e) });
        const { D: d, C: c } = clients[ai];
        const [def, cha] = defenderLies ? [liar, honest] : [honest, liar];
        const { id } = await openOpDispute(d, opCaseOf(def, parties()));
        const r = await playOpDispute(id, { client: d, prover: def }, { client: c, prover: cha });
        assert.equal(r.phase, defenderLies ? 'challenger-won' : 'defender-won', `${oc.name} arity ${arities[ai]}`);
        if (defenderLies) assert.equal(r.judgedStep, e * honest.c.S + (fault ? fault.slot : honest.c.S - 1));
        const g = await getOpDispute(d, id);
        claimants.add(g.postByChallenger ? 'challenger' : 'defender');
        assert.ok(r.moves <= Math.ceil(Math.log2(honest.steps) / Math.log2(arities[ai])) + 1, `${r.moves} moves for ${honest.steps} steps`);
      },
    ),
    { numRuns: 24, seed: 7 },
  );
  assert.deepEqual([...claimants].sort(), ['challenger', 'defender'], 'disputes ended on claims of both sides');
});
