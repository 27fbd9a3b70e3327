// The compute worker in its own process: a job inspected (manifest recomputed, a wrong one refused,
// one step measured), trained with its progress lines, and replayed by segments: the replay of any
// segment ends on the trained checkpoint, and its probe is the state one step before.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSpec } from '../train/spec.ts';
import { tempDir } from '../../test/cli.ts';
import { runTask, startTask, WorkerError, type Inspection, type WorkerLine } from './work.ts';

const example = JSON.parse(readFileSync(new URL('../../examples/mnist-mlp.json', import.meta.url), 'utf8'));
const spec = parseSpec({ ...example, name: 'worker-test', steps: 30, checkpointInterval: 10 });
const of = <T extends WorkerLine['type']>(lines: WorkerLine[], type: T) => lines.filter((l) => l.type === type) as Extract<WorkerLine, { type: T }>[];

test('inspect: the manifest is recomputed and compared; one step is timed; the memory it took is measured', async () => {
  const [ins] = of(await runTask({ kind: 'inspect', spec, baseDir: '/' }), 'inspected') as Inspection[];
  assert.match(ins.manifestHash, /^0x[0-9a-f]{64}$/);
  assert.equal(ins.manifestOk, true);
  assert.equal(ins.params, 784 * 256 + 256 + 256 * 10 + 10);
  assert.ok(ins.stepMs > 0 && ins.peakRssMiB > 50);
  const [wrong] = of(await runTask({ kind: 'inspect', spec, baseDir: '/', manifestHash: `0x${'0'.repeat(64)}` }), 'inspected') as Inspection[];
  assert.equal(wrong.manifestOk, false);
  assert.equal(wrong.manifestHash, ins.manifestHash);
});

test('train reports steps (with every loss) and checkpoints; replaying a segment ends on its checkpoint, its probe one step before', async () => {
  const out = join(tempDir(), 'run');
  const lines: WorkerLine[] = [];
  await runTask({ kind: 'train', spec, baseDir: '/', outDir: out, progressMs: 0 }, { onLine: (l) => lines.push(l) });
  const steps = of(lines, 'step');
  assert.equal(steps.at(-1)!.step, 30);
  assert.equal(steps.flatMap((s) => s.losses).length, 30, 'every step loss reported once');
  const cks = of(lines, 'checkpoint');
  assert.deepEqual(cks.map((c) => c.step), [10, 20, 30]);
  const replays = of(
    await runTask({
      kind: 'replay',
      spec,
      baseDir: '/',
      segments: [
        { index: 0, fromPath: null, probeStep: 9, toStep: 10 },
        { index: 2, fromPath: cks[1].path, probeStep: 29, toStep: 30 },
        { index: 1, fromPath: cks[0].path, toStep: 19 },
      ],
    }),
    'replayed',
  );
  assert.equal(replays[0].endHash, cks[0].stateHash, 'segment 0 from the derived initial state');
  assert.equal(replays[1].endHash, cks[2].stateHash);
  assert.equal(replays[1].fromHash, cks[1].stateHash);
  // The probe of segment 2 is the state after step 29: replaying segment 1 to step 19 gives segment 1's probe.
  assert.match(replays[0].probeHash!, /^[0-9a-f]{64}$/);
  assert.notEqual(replays[1].probeHash, replays[1].endHash);
  const [again] = of(await runTask({ kind: 'replay', spec, baseDir: '/', segments: [{ index: 2, fromPath: cks[1].path, toStep: 29 }] }), 'replayed');
  assert.equal(again.endHash, replays[1].probeHash, 'a probe is the state at its step, however it is reached');
  // Segment 0 after another segment in the same task starts from the initial state, not from where
  // the earlier segment left the job.
  const later = of(await runTask({ kind: 'replay', spec, baseDir: '/', segments: [{ index: 2, fromPath: cks[1].path, toStep: 30 }, { index: 0, fromPath: null, toStep: 10 }] }), 'replayed');
  assert.deepEqual(later.map((r) => r.endHash), [cks[2].stateHash, cks[0].stateHash]);

  // A cheating solver's training (fault tests): skipping steps 18 and 19 leaves the first
  // checkpoint as it is and every later one different; its checkpoints replay like any other.
  const cheatOut = join(tempDir(), 'cheat');
  const cheat = of(await runTask({ kind: 'train', spec, baseDir: '/', outDir: cheatOut, cheat: 'skip' }), 'checkpoint');
  assert.deepEqual(cheat.map((c) => c.step), [10, 20, 30]);
  assert.equal(cheat[0].stateHash, cks[0].stateHash);
  assert.notEqual(cheat[1].stateHash, cks[1].stateHash);
  assert.notEqual(cheat[2].stateHash, cks[2].stateHash);
  const [fromCheat] = of(await runTask({ kind: 'replay', spec, baseDir: '/', segments: [{ index: 1, fromPath: cheat[0].path, toStep: 20 }] }), 'replayed');
  assert.equal(fromCheat.endHash, cks[1].stateHash, 'an honest replay of the cheated segment is the honest state');
});

test('a failing task rejects with the worker error; a killed worker rejects too', async () => {
  await assert.rejects(runTask({ kind: 'replay', spec, baseDir: '/', segments: [{ index: 1, fromPath: '/nonexistent', toStep: 20 }] }), (e: unknown) => e instanceof WorkerError && /cannot read checkpoint/.test((e as Error).message));
  const t = startTask({ kind: 'train', spec: { ...spec, steps: 100000 }, baseDir: '/', outDir: join(tempDir(), 'run') });
  await new Promise((r) => setTimeout(r, 300));
  t.kill();
  await assert.rejects(t.done, WorkerError);
});
