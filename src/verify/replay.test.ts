// Replay checks on real training runs: an honest solver's segments replay to its committed hashes;
// a solver that nudged one weight mid-segment is caught by the segment's replay, and bisection over
// per-step state hashes finds the step it cheated at in ceil(log2 steps) questions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { InputError, IntegrityError } from '../errors.ts';
import { loadSpecFile, type JobSpec } from '../train/spec.ts';
import { decodeCheckpoint, encodeCheckpoint, genesisLink, type Checkpoint } from '../train/checkpoint.ts';
import { prepareJob, stateAt, stateHashOf, trainStep } from '../train/train.ts';
import { drawSegments, replayCommitment, replaySegment } from './replay.ts';
import { firstDivergence } from './bisect.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/mnist-mlp.json', import.meta.url));
const INTERVAL = 4;
const STEPS = 12;
const spec: JobSpec = { ...loadSpecFile(EXAMPLE), batchSize: 16, steps: STEPS, checkpointInterval: INTERVAL };
const baseDir = dirname(EXAMPLE);

interface Run {
  checkpoints: Checkpoint[]; // at steps 0, 4, 8, 12
  stepHashes: string[]; // after steps 1..12
}

/** A solver's run, in memory. `cheatAfter`: add 1e-3 to the first weight after that step. */
function solve(cheatAfter?: number): Run {
  const job = prepareJob(spec, baseDir);
  const checkpoints: Checkpoint[] = [];
  const stepHashes: string[] = [];
  let link = genesisLink(job.specHash);
  const snapshot = (step: number): void => {
    const enc = encodeCheckpoint({ ...stateAt(job, step), prevLink: link });
    const ck = decodeCheckpoint(enc.bytes);
    link = ck.link;
    checkpoints.push(ck);
  };
  snapshot(0);
  for (let s = 0; s < STEPS; s++) {
    trainStep(job, s);
    if (s + 1 === cheatAfter) job.model.params[0].data[0] += 1e-3;
    stepHashes.push(stateHashOf(job, s + 1));
    if ((s + 1) % INTERVAL === 0) snapshot(s + 1);
  }
  return { checkpoints, stepHashes };
}

const honest = solve();

test('every segment of an honest run replays to the next committed checkpoint hash', () => {
  const job = prepareJob(spec, baseDir);
  for (let i = 0; i + 1 < honest.checkpoints.length; i++) {
    const r = replaySegment(job, honest.checkpoints[i], INTERVAL);
    assert.equal(r.endHash, honest.checkpoints[i + 1].stateHash, `segment ${i}`);
    assert.equal(r.toStep, (i + 1) * INTERVAL);
  }
});

test('a weight nudged after step 6 is caught by segment 1 and located at step 6 by bisection', () => {
  const cheat = solve(6);
  // Segments 0 agrees; segment 1 (steps 4 -> 8) starts from an agreed state and ends elsewhere.
  assert.equal(cheat.checkpoints[1].stateHash, honest.checkpoints[1].stateHash);
  const job = prepareJob(spec, baseDir);
  const r = replaySegment(job, cheat.checkpoints[1], INTERVAL, { perStep: true });
  assert.notEqual(r.endHash, cheat.checkpoints[2].stateHash, 'the replay must disagree with the cheater');
  assert.deepEqual(r.stepHashes, honest.stepHashes.slice(4, 8), 'the replay is the honest trajectory');
  const claimed = cheat.stepHashes.slice(4, 8);
  const { index, questions } = firstDivergence(INTERVAL, (i) => r.stepHashes![i] !== claimed[i]);
  assert.equal(4 + index + 1, 6, 'the first state that differs is the one after step 6');
  assert.ok(questions <= Math.ceil(Math.log2(INTERVAL)));
});

test('a start checkpoint whose tensors do not hash to its recorded state hash is refused', () => {
  const ck = structuredClone(honest.checkpoints[1]);
  const first = Object.keys(ck.tensors).sort()[0];
  ck.tensors[first].data[0] += 1;
  assert.throws(() => replaySegment(prepareJob(spec, baseDir), ck, 1), IntegrityError);
  const other = prepareJob({ ...spec, seed: 2 }, baseDir);
  assert.throws(() => replaySegment(other, honest.checkpoints[1], 1), /another job spec/);
});

test('drawSegments is a pure, uniform draw of distinct sorted indices', () => {
  const r = '0x' + 'ab'.repeat(32);
  const a = drawSegments(r, 'job1/0xverifier', 100, 5);
  assert.deepEqual(a, drawSegments(r, 'job1/0xverifier', 100, 5));
  assert.equal(new Set(a).size, 5);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.ok(a.every((i) => Number.isInteger(i) && i >= 0 && i < 100));
  assert.notDeepEqual(a, drawSegments(r, 'job1/0xother', 100, 5));
  assert.deepEqual(drawSegments(r, 's', 3, 10), [0, 1, 2], 'count is clamped to the number of segments');
  // Uniform: 20,000 single draws over 10 segments, every bucket within 10% of 2,000.
  const counts = new Array(10).fill(0);
  for (let k = 0; k < 20000; k++) counts[drawSegments(r, `salt${k}`, 10, 1)[0]]++;
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket counts ${counts}`);
  assert.throws(() => drawSegments('xyz', 's', 10, 1), InputError);
  assert.throws(() => drawSegments(r, 's', 0, 1), InputError);
});

test('a replay commitment binds the result and the verifier, and needs a real salt', () => {
  const base = { jobId: '7', segment: 1, endHash: honest.checkpoints[2].stateHash, verifier: '0xAbC0000000000000000000000000000000000001', salt: new Uint8Array(16).fill(9) };
  const c = replayCommitment(base);
  assert.match(c, /^[0-9a-f]{64}$/);
  assert.equal(c, replayCommitment({ ...base, verifier: base.verifier.toLowerCase() }));
  assert.notEqual(c, replayCommitment({ ...base, verifier: '0xabc0000000000000000000000000000000000002' }));
  assert.notEqual(c, replayCommitment({ ...base, endHash: honest.checkpoints[1].stateHash }));
  assert.throws(() => replayCommitment({ ...base, salt: new Uint8Array(8) }), InputError);
});
