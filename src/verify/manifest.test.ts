// The manifest (manifest.ts) on real tiny jobs and the bundled MLP: deterministic, each field
// sensitive to what it commits to, refused with a clear error when it does not match, and its
// per-step leaves are exactly what traced steps read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { equalBytes } from '../train/commit.ts';
import { loadSpecFile, parseSpec } from '../train/spec.ts';
import { prepareJob } from '../train/train.ts';
import { checkManifest, computeManifest, manifestHash, scheduleLeaf, MANIFEST_FIELDS } from './manifest.ts';
import { rootFromProof } from './merkle.ts';
import { tinyJob } from './testing.ts';
import { traceStep } from './trace.ts';

test('deterministic, and every field follows what it commits to', () => {
  const tj = tinyJob({ kind: 'gpt', dropout: 0.1 });
  const a = computeManifest(tj.spec, tj.baseDir);
  const b = computeManifest(tj.spec, tj.baseDir);
  assert.deepEqual(a.manifest, b.manifest);
  assert.equal(a.hash, manifestHash(a.manifest));
  const differs = (o: ReturnType<typeof computeManifest>) => MANIFEST_FIELDS.filter((k) => o.manifest[k] !== a.manifest[k]);
  // Another seed: other weights, order, dropout keys (the dataset is the same file).
  const reseeded = parseSpec({ ...tj.spec, seed: 9 });
  assert.deepEqual(differs(computeManifest(reseeded, tj.baseDir)), ['specHash', 'initState', 'dataOrder', 'schedule']);
  // Another learning rate: only the schedule (and the spec, which every state hash names).
  const lr = parseSpec({ ...tj.spec, optimizer: { ...tj.spec.optimizer, lr: 0.02 } });
  assert.deepEqual(differs(computeManifest(lr, tj.baseDir)), ['specHash', 'initState', 'schedule']);
  // One character of the data changed: the dataset (and with the windows the same, nothing else).
  const other = tinyJob({ kind: 'gpt', dropout: 0.1 });
  writeFileSync(join(other.baseDir, 'data.txt'), 'the cat sat on a mat and ran off '.repeat(14) + 'x\n');
  assert.ok(differs(computeManifest(tj.spec, other.baseDir)).includes('datasetRoot'));
  // Another architecture: the program.
  const wide = parseSpec({ ...tj.spec, model: { ...tj.spec.model, layers: 2 } });
  assert.ok(differs(computeManifest(wide, tj.baseDir)).includes('program'));
});

test('checkManifest refuses a posted manifest or hash that the spec and data do not give, naming the fields', () => {
  const tj = tinyJob({ kind: 'mlp' });
  const d = computeManifest(tj.spec, tj.baseDir);
  assert.equal(checkManifest(d.manifest, tj.spec, tj.baseDir).hash, d.hash);
  assert.equal(checkManifest(d.hash, tj.spec, tj.baseDir).hash, d.hash);
  const forged = { ...d.manifest, dataOrder: d.manifest.program, schedule: d.manifest.initState };
  assert.throws(() => checkManifest(forged, tj.spec, tj.baseDir), (e: unknown) =>
    e instanceof InputError && /dataOrder, schedule differ/.test(e.message) && /recomputed/.test(e.message) && !!e.hint);
  assert.throws(() => checkManifest(manifestHash(forged), tj.spec, tj.baseDir), (e: unknown) => e instanceof InputError && /manifest hash/.test(e.message));
});

test('the per-step leaves are what traced steps read (batch indices, schedule constants, dropout keys)', () => {
  for (const tj of [tinyJob({ kind: 'mlp', optimizer: 'sgd', seed: 4 }), tinyJob({ kind: 'gpt', dropout: 0.3, seed: 5 })]) {
    const d = computeManifest(tj.spec, tj.baseDir);
    const job = prepareJob(tj.spec, tj.baseDir);
    const names = d.program.inputNames;
    for (let s = 0; s < 5; s++) {
      const t = traceStep(job, s, { program: d.program });
      const batch = names.findIndex((n) => n === 'step.indices' || n === 'step.starts');
      assert.ok(equalBytes(d.dataOrder.leaf(s), t.inputCommits[batch]));
      assert.ok(equalBytes(rootFromProof(s, d.dataOrder.leaf(s), d.dataOrder.proof(s)), d.dataOrder.root));
      const e = d.scheduleEntry(s);
      const sched = t.inputCommits.slice(batch + 1);
      assert.equal(sched.length, e.commits.length);
      assert.ok(sched.every((c, i) => equalBytes(c, e.commits[i])));
      assert.ok(equalBytes(scheduleLeaf(s, e.epochAfter, e.commits), d.schedule.leaf(s)));
      assert.ok(d.dataCommits.every((c, i) => equalBytes(c, t.inputCommits[i])));
    }
  }
});

test('the bundled MLP job: a manifest with 1250 steps of leaves (its time printed)', () => {
  const spec = loadSpecFile('examples/mnist-mlp.json');
  const t0 = performance.now();
  const d = computeManifest(spec, 'examples');
  const ms = performance.now() - t0;
  assert.equal(d.dataOrder.n, 1250);
  console.log(`# manifest of ${d.steps} steps: ${ms.toFixed(0)} ms`);
});
