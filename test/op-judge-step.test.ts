// The on-chain interpreter (OpJudge.stepLeaf: one step of an element program with its operands
// opened against their commitments, SoftFloat32 doing the binary32 op) equals the TypeScript
// machine (src/verify/ops) on every kind: for each case, every slot of its focus elements (every
// branch of exp/log/tanh, NaN/Inf/subnormal operands) and random steps, the contract's leaf after
// step t is the prover's leaf t+1. Also the op table itself: slots, instructions and write
// sources, compared entry by entry, the generated tables file, and Philox's uniform.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bytesToHex, type Hex } from 'viem';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { devAccount } from '../src/chain/client.ts';
import { deployOpJudge, opJudgeClient, stepLeafOnChain, type OpJudgeClient } from '../src/chain/op-judge.ts';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { OpProver, compile, encodeOp, uniformWord, KIND_NAMES, type Src } from '../src/verify/ops/index.ts';
import { TABLES_PATH, tablesSource } from '../src/verify/ops/solidity.ts';
import { cases, kindsCovered } from './op-judge-cases.ts';

let anvil: Anvil;
let c: OpJudgeClient;

before(async () => {
  anvil = await startAnvil();
  c = await opJudgeClient(await deployOpJudge(anvil.url), devAccount(0));
});
after(async () => {
  await anvil?.stop();
});

const CASES = cases();

test('every kind of the op table has a case', () => {
  const have = kindsCovered(CASES);
  assert.deepEqual(KIND_NAMES.filter((k) => !have.has(k)), []);
});

test('contracts/verify/OpJudgeTables.sol is generated from the current templates', () => {
  assert.equal(readFileSync(TABLES_PATH, 'utf8'), tablesSource(), 'run: node src/verify/ops/solidity.ts --write');
});

const progCall = <T>(functionName: string, args: unknown[]) =>
  c.public.readContract({ address: c.d.programs, abi: c.d.programsAbi, functionName, args }) as Promise<T>;

function srcKey(s: Src | undefined): string {
  if (!s) return 'none';
  switch (s.t) {
    case 'reg': return `reg ${s.r}`;
    case 'const': return `const ${s.v >>> 0}`;
    case 'in': return `in ${s.j} ${s.i}`;
    case 'ind': return `ind ${s.j} ${s.k} ${s.p} ${s.mul} ${s.add} ${s.limit}`;
  }
}

function solSrcKey(s: Record<string, bigint>): string {
  const n = (x: bigint) => Number(x);
  switch (n(s.t)) {
    case 0: return 'none';
    case 1: return `reg ${n(s.i)}`;
    case 2: return `const ${n(s.i)}`;
    case 3: return `in ${n(s.j)} ${n(s.i)}`;
    default: return `ind ${n(s.j)} ${n(s.k)} ${n(s.i)} ${n(s.mul)} ${n(s.add)} ${n(s.limit)}`;
  }
}

test('the op table on chain equals programs.ts: slots, instructions, write sources', async () => {
  for (const oc of CASES) {
    const comp = compile(oc.d);
    const op = bytesToHex(encodeOp(oc.d));
    const [E, S] = await progCall<[bigint, bigint]>('dims', [op]);
    assert.deepEqual([Number(E), Number(S)], [comp.E, comp.S], `${oc.name}: dims`);
    const rng = randomU32s(rngStream(3, `table/${oc.name}`), 0, 64);
    const elements = [...new Set([0, comp.E - 1, ...(oc.focus ?? []), rng[0] % Math.max(1, comp.E)])].filter((e) => e >= 0 && e < comp.E);
    const calls: Promise<void>[] = [];
    for (const e of elements) {
      const pcs = new Set<number>([0, comp.S - 2, comp.S - 1, comp.S, 0xffffffff]);
      for (let i = 1; i < 6; i++) pcs.add(rng[i + e % 7] % (comp.S + 1));
      if (comp.S < 80) for (let pc = 0; pc <= comp.S; pc++) pcs.add(pc);
      for (const pc of pcs) {
        if (pc < 0) continue;
        calls.push((async () => {
          const ins = await progCall<Record<string, any>>('fetch', [op, BigInt(e), BigInt(pc)]);
          const want = comp.fetch(e, pc);
          const label = `${oc.name}: element ${e} pc ${pc}`;
          assert.equal(ins.valid, want !== null, `${label}: valid`);
          if (!want) return;
          assert.equal(Number(ins.op), want.op, `${label}: op`);
          if (!(want.jump !== -1 && [5, 9, 10, 11, 12, 13, 65, 66].includes(want.op))) assert.equal(Number(ins.dst), want.dst, `${label}: dst`);
          assert.equal(solSrcKey(ins.a), srcKey(want.a), `${label}: a`);
          assert.equal(solSrcKey(ins.b), srcKey(want.b), `${label}: b`);
          const jump = ins.jump === 2n ** 256n - 1n ? -1 : Number(ins.jump);
          assert.equal(jump, want.jump, `${label}: jump`);
          if (want.counter !== undefined) assert.equal(Number(ins.counter), want.counter, `${label}: counter`);
        })());
      }
      calls.push((async () => {
        const r = await progCall<Record<string, bigint>>('result', [op, BigInt(e)]);
        assert.equal(solSrcKey(r), srcKey(comp.result(e)), `${oc.name}: result of ${e}`);
      })());
    }
    await Promise.all(calls);
  }
});

test('Philox uniform on chain equals rng.ts', async () => {
  const N = 1000;
  const w = randomU32s(rngStream(5, 'philox'), 0, 3 * N);
  const calls = [];
  for (let i = 0; i < N; i++) {
    // small counters, every word of a block, and counters past 2^32 (block high word) up to 2^52
    const counter = i < 100 ? i : w[3 * i + 2] * (i % 3 === 0 ? 2 ** 20 : 1);
    calls.push((async () => {
      const got = await c.public.readContract({ address: c.d.opJudge, abi: c.d.abi, functionName: 'uniform', args: [BigInt(w[3 * i]), BigInt(w[3 * i + 1]), BigInt(counter)] });
      assert.equal(Number(got), uniformWord(w[3 * i], w[3 * i + 1], counter), `key ${w[3 * i]},${w[3 * i + 1]} counter ${counter}`);
    })());
  }
  await Promise.all(calls);
});

test('stepLeaf on chain equals the TypeScript machine on every kind', async () => {
  let checked = 0;
  for (const oc of CASES) {
    const p = new OpProver(oc.d, oc.inputs);
    const S = p.c.S;
    const ts = new Set<number>();
    for (const e of oc.focus ?? [0]) for (let s = 0; s < S; s++) if (e < p.c.E) ts.add(e * S + s);
    const rng = randomU32s(rngStream(9, `steps/${oc.name}`), 0, 24);
    for (const r of rng) ts.add(r % p.steps);
    ts.add(p.steps - 1);
    const list = [...ts];
    for (let i = 0; i < list.length; i += 64) {
      await Promise.all(list.slice(i, i + 64).map(async (t) => {
        const onChain: Hex = await stepLeafOnChain(c, p, t);
        assert.equal(onChain, bytesToHex(p.leaf(t + 1)), `${oc.name}: step ${t} (element ${Math.floor(t / S)}, slot ${t % S})`);
      }));
    }
    checked += list.length;
  }
  console.log(`# ${checked} steps of ${CASES.length} cases checked on chain`);
});
