// contracts/verify/TensorCommit.sol against src/train/commit.ts on a real anvil: commitments,
// zero roots, element openings (u32 and binary32 elements) and element replacement on random
// tensors of every size class (no chunk, one chunk, a partial last chunk, many chunks), and the
// refusals of tampered openings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { bytesToHex, type Hex } from 'viem';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { deployOpJudgeContract } from '../src/chain/op-judge.ts';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { CHUNK_ELEMENTS, openElement, tensorTree } from '../src/train/commit.ts';

let anvil: Anvil;
let tc: Awaited<ReturnType<typeof deployOpJudgeContract>>;

before(async () => {
  anvil = await startAnvil();
  tc = await deployOpJudgeContract(anvil.url, 'TensorCommitTester');
});
after(async () => {
  await anvil?.stop();
});

const call = <T>(functionName: string, args: unknown[]) =>
  tc.client.readContract({ address: tc.address, abi: tc.abi, functionName, args }) as Promise<T>;
const hex = (b: Uint8Array): Hex => bytesToHex(b);

function tensor(seed: number, n: number): Uint32Array {
  return randomU32s(rngStream(seed, 'tensor-commit'), 0, n);
}

/** Shapes with the given element count: [n], [a, n/a], [1, n], [] for n = 1. */
function shapesOf(n: number): number[][] {
  const out = [[n]];
  for (const a of [2, 3, 4, 7]) if (n % a === 0 && n > a) out.push([a, n / a]);
  if (n === 1) out.push([]);
  out.push([1, n, 1]);
  return out;
}

const SIZES = [0, 1, 2, 255, 256, 257, 511, 512, 513, 1000, 1024, 3 * 256 + 5, 4096, 9001];

test('commitOf and zeroRoot equal the TypeScript tree for every size class', async () => {
  for (const n of SIZES) {
    for (const shape of shapesOf(n)) {
      const data = tensor(n, n);
      const t = tensorTree(shape, data);
      assert.equal(await call<Hex>('commitOf', [shape.map(BigInt), hex(t.root)]), hex(t.commit), `commit [${shape}]`);
    }
    const z = tensorTree([n], new Uint32Array(n));
    assert.equal(await call<Hex>('zeroRoot', [BigInt(n)]), hex(z.root), `zero root of ${n}`);
  }
});

test('openings of random elements return their words; f32 elements are their bit patterns', async () => {
  for (const n of SIZES.filter((s) => s > 0)) {
    const shape = shapesOf(n)[shapesOf(n).length > 1 ? 1 : 0];
    const data = tensor(1000 + n, n);
    const t = tensorTree(shape, data);
    for (const i of new Set([0, n - 1, Math.floor(n / 2), 257 % n, 102947 % n])) {
      const o = openElement(t, data, i);
      const w = await call<bigint>('openElement', [hex(t.commit), shape.map(BigInt), BigInt(i), hex(o.chunk), o.siblings.map(hex)]);
      assert.equal(Number(w), data[i], `element ${i} of [${shape}]`);
    }
  }
  const f = new Float32Array([1.5, -0, NaN, -Infinity, 1e-45, 3.4e38]);
  const t = tensorTree([2, 3], f);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < f.length; i++) {
    const o = openElement(t, f, i);
    assert.equal(Number(await call<bigint>('openElement', [hex(t.commit), [2n, 3n], BigInt(i), hex(o.chunk), o.siblings.map(hex)])), u[i]);
  }
});

async function reverts(p: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.match(e.message, new RegExp(name));
    return true;
  });
}

test('tampered openings are refused', async () => {
  const n = 3000, shape = [30, 100];
  const data = tensor(5, n);
  const t = tensorTree(shape, data);
  const i = 1234;
  const o = openElement(t, data, i);
  const args = (commit: Uint8Array, sh: number[], idx: number, chunk: Uint8Array, sibs: Uint8Array[]) => [
    hex(commit), sh.map(BigInt), BigInt(idx), hex(chunk), sibs.map(hex),
  ];
  const flipped = o.chunk.slice();
  flipped[(i % CHUNK_ELEMENTS) * 4] ^= 1;
  await reverts(call('openElement', args(t.commit, shape, i, flipped, o.siblings)), 'NotCommitted');
  const sib = o.siblings.map((s) => s.slice());
  sib[2][5] ^= 0x80;
  await reverts(call('openElement', args(t.commit, shape, i, o.chunk, sib)), 'NotCommitted');
  await reverts(call('openElement', args(t.commit, shape, i + CHUNK_ELEMENTS, o.chunk, o.siblings)), 'NotCommitted');
  await reverts(call('openElement', args(t.commit, [100, 30], i, o.chunk, o.siblings)), 'NotCommitted');
  await reverts(call('openElement', args(t.commit, shape, i, o.chunk, o.siblings.slice(1))), 'BadSiblings');
  await reverts(call('openElement', args(t.commit, shape, n, o.chunk, o.siblings)), 'IndexOutOfRange');
  await reverts(call('openElement', args(t.commit, shape, i, o.chunk.subarray(0, 1020), o.siblings)), 'BadChunk');
});

test('replaceElement: the partial output root after one write (fast-check over sizes and positions)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), async (n, at, word) => {
      const e = Math.min(n - 1, Math.floor(at * n));
      // elements < e written, the rest zero (as in a dispute's partial output roots)
      const full = tensor(n, n);
      const before = new Uint32Array(n);
      before.set(full.subarray(0, e));
      const after = before.slice();
      after[e] = word;
      const tb = tensorTree([n], before), ta = tensorTree([n], after);
      const o = openElement(tb, before, e);
      const root = await call<Hex>('replaceElement', [hex(tb.root), BigInt(n), BigInt(e), hex(o.chunk), o.siblings.map(hex), BigInt(word)]);
      assert.equal(root, hex(ta.root));
    }),
    { numRuns: 40, seed: 42 },
  );
});
