// The op trace of a step with memory roots (trace.ts) on real tiny jobs: the program is the same
// at every step, the final state slots are the post-state's commitments, every declared input is
// what step-inputs.ts computes (the trace refuses otherwise), captured op values are the slot
// contents and recompute through the op table, and a wrong commitment shows from its op on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateCommits } from '../train/checkpoint.ts';
import { prepareJob, stateAt, trainStep } from '../train/train.ts';
import { equalBytes, tensorCommit } from '../train/commit.ts';
import { MerkleTree } from './merkle.ts';
import { decodeOp, evaluateOp } from './ops/index.ts';
import { commitOf } from './step-inputs.ts';
import { tinyJob } from './testing.ts';
import { memoryBefore, memRoot, traceStep } from './trace.ts';

const JOBS = [
  { name: 'mlp, adamw', job: tinyJob({ kind: 'mlp' }) },
  { name: 'mlp, sgd, clipped', job: tinyJob({ kind: 'mlp', optimizer: 'sgd', gradClip: 0.01, seed: 2 }) },
  { name: 'gpt with dropout, adamw, clipped', job: tinyJob({ kind: 'gpt', dropout: 0.2, seed: 3 }) },
];

for (const { name, job: tj } of JOBS) {
  test(`${name}: the program is the same at every step; the memory ends on the post-state`, () => {
    const job = prepareJob(tj.spec, tj.baseDir);
    const plain = prepareJob(tj.spec, tj.baseDir);
    const first = traceStep(job, 0);
    trainStep(plain, 0);
    const p = first.program;
    assert.equal(p.ops.length, first.memRoots.length);
    assert.ok(p.ops.every((o, i) => o.index === i && o.inSlots.every((s) => s < p.stateNames.length + p.inputNames.length + i)));
    for (let s = 1; s < 4; s++) {
      const preCommits = stateCommits(stateAt(plain, s)).map((c) => c.commit);
      const t = traceStep(job, s, { program: p });
      trainStep(plain, s);
      assert.ok(preCommits.every((c, i) => equalBytes(c, t.stateCommits[i])));
      // The state slots after the last op are the post-state, and mem0 is computed from the pre-state alone.
      const post = new MerkleTree(stateCommits(stateAt(job, s + 1)).map((c) => c.commit)).root;
      const last = memoryBefore(t, p.ops.length);
      assert.ok(equalBytes(last.state.root, post));
      assert.ok(equalBytes(memRoot(last.state.root, last.ops.root), t.memRoots[p.ops.length - 1]));
      assert.equal(t.inputCommits.length, p.inputNames.length);
    }
    // Tracing changes no bit of training.
    assert.deepEqual(stateCommits(stateAt(job, 4)).map((c) => Buffer.from(c.commit).toString('hex')), stateCommits(stateAt(plain, 4)).map((c) => Buffer.from(c.commit).toString('hex')));
  });
}

test('captured ops hold their slots\' values and recompute through the op table', () => {
  const tj = JOBS[2].job;
  const job = prepareJob(tj.spec, tj.baseDir);
  const { program } = traceStep(job, 0, { commits: false });
  // The first small op of each kind.
  const seen = new Set<string>();
  const pick = program.ops.filter((o) => o.output.shape.reduce((a, b) => a * b, 1) <= 1024 && !seen.has(o.kind) && seen.add(o.kind)).map((o) => o.index);
  const kinds = new Set(pick.map((j) => program.ops[j].kind));
  assert.ok(['dropoutMask', 'adamwW', 'windows', 'matmul', 'select'].every((k) => kinds.has(k)), [...kinds].join());
  const t = traceStep(job, 1, { program, capture: pick });
  for (const j of pick) {
    const op = program.ops[j];
    const got = t.captured.get(j)!;
    const m = memoryBefore(t, j);
    const S = program.stateNames.length;
    got.inputs.forEach((v, k) => {
      const slot = op.inSlots[k];
      const leaf = slot < S ? m.state.leaf(slot) : m.ops.leaf(slot - S);
      assert.ok(equalBytes(commitOf(v), leaf), `op ${j} (${op.kind}) input ${k}`);
    });
    assert.ok(equalBytes(tensorCommit(got.output.shape, got.output.data), t.outCommits[j]));
    const y = evaluateOp(decodeOp(op.descriptor), got.inputs.map((v) => v.data));
    assert.deepEqual(y, new Uint32Array(got.output.data.buffer, got.output.data.byteOffset, got.output.data.length), `op ${j} (${op.kind})`);
  }
});

test('a wrong commitment at op j changes the memory roots from j on, not before', () => {
  const tj = JOBS[0].job;
  const a = prepareJob(tj.spec, tj.baseDir), b = prepareJob(tj.spec, tj.baseDir);
  const { program } = traceStep(a, 0, { commits: false });
  trainStep(b, 0);
  const honest = traceStep(a, 1, { program });
  const j = 17;
  const bad = traceStep(b, 1, { program, tamper: (i, c) => (i === j ? c.map((x, k) => (k === 0 ? x ^ 1 : x)) : c) });
  assert.ok(equalBytes(honest.mem0, bad.mem0));
  honest.memRoots.forEach((r, i) => assert.equal(equalBytes(r, bad.memRoots[i]), i < j, `root after op ${i}`));
});
