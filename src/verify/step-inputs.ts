// What a training step reads besides its state: the job's data (`data.*`) and the step's own inputs
// (`step.*`): the batch's example indices or window starts, and the schedule's binary32 constants
// and random keys. They are pure functions of (spec, dataset, step), so the manifest commits them
// for every step without training (docs/verification.md §1), and the op trace of a step
// (trace.ts) checks that the values the engine declares are exactly these.
//
// This file restates what train.ts / optim.ts / models/gpt.ts compute; src/verify/trace.test.ts
// fails if a declared input ever differs from it.
import { InputError } from '../errors.ts';
import { rngStream, subStream } from '../engine/rng.ts';
import { tensorCommit } from '../train/commit.ts';
import { classificationIndices, dataCursor, textBatch } from '../train/data/batch.ts';
import { adamwConstants, learningRate } from '../train/optim.ts';
import type { Job } from '../train/train.ts';

/** A value of a slot: binary32 data or integer data (committed as u32 words). */
export interface SlotValue {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

const scalar = (v: number): SlotValue => ({ shape: [], data: new Float32Array([v]) });

/** The job inputs in slot order (by name). */
export function dataInputs(job: Job): { name: string; value: SlotValue }[] {
  const t = job.train;
  if (t.kind === 'classification') {
    return [
      { name: 'data.x', value: { shape: [t.n, ...t.inputShape], data: t.x } },
      { name: 'data.y', value: { shape: [t.y.length], data: t.y } },
    ];
  }
  return [{ name: 'data.tokens', value: { shape: [t.tokens.length], data: t.tokens } }];
}

/** The batch input of a step: the example indices (classification) or window starts (text). */
export function batchInput(job: Job, step: number): { name: string; value: SlotValue } {
  const { spec, train } = job;
  if (train.kind === 'classification') {
    const b = classificationIndices(train, { seed: spec.seed, batchSize: spec.batchSize, step });
    return { name: 'step.indices', value: { shape: [b.indices.length], data: new Int32Array(b.indices) } };
  }
  if (spec.model.type !== 'gpt') throw new InputError('text datasets need a gpt model');
  const b = textBatch(train, { seed: spec.seed, batchSize: spec.batchSize, context: spec.model.context, step });
  return { name: 'step.starts', value: { shape: [b.starts.length], data: new Int32Array(b.starts) } };
}

/**
 * The schedule inputs of a step, by name: the optimizer's step constants, the dropout key. `t` is
 * the optimizer step (AdamW's t counts from 1: t = step + 1 on a run that never skipped a step).
 */
export function scheduleInputs(job: Job, step: number): { name: string; value: SlotValue }[] {
  const { spec } = job;
  const out: { name: string; value: SlotValue }[] = [];
  const lr = learningRate(spec.optimizer.lr, spec.schedule, step, spec.steps);
  if (spec.optimizer.type === 'adamw') {
    const c = adamwConstants(spec.optimizer, step + 1, lr);
    out.push({ name: 'step.decay', value: scalar(c.decay) }, { name: 'step.sbc2', value: scalar(c.sbc2) }, { name: 'step.stepSize', value: scalar(c.stepSize) });
  } else {
    out.push({ name: 'step.first', value: scalar(step === 0 ? 1 : 0) }, { name: 'step.lr', value: scalar(Math.fround(lr)) });
  }
  if (spec.model.type === 'gpt' && spec.model.dropout > 0) {
    const key = subStream(rngStream(spec.seed, 'dropout'), step).key;
    out.push({ name: 'step.rngKey', value: { shape: [2], data: new Int32Array(key) } });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Every input slot of a step, in slot order: data, the batch input, the schedule inputs. */
export function stepInputs(job: Job, step: number): { name: string; value: SlotValue }[] {
  return [...dataInputs(job), batchInput(job, step), ...scheduleInputs(job, step)];
}

/** The data cursor's epoch after `step + 1` steps (the post-state header field the schedule fixes). */
export function epochAfter(job: Job, step: number): number {
  const context = job.spec.model.type === 'gpt' ? job.spec.model.context : undefined;
  return dataCursor(job.train, { batchSize: job.spec.batchSize, step: step + 1, context }).epoch;
}

// Job data is large and constant: its commitments are computed once per array.
const dataCommits = new WeakMap<object, Uint8Array>();

/** tensorCommit of a slot value; job data arrays are cached. */
export function commitOf(v: SlotValue, cache = false): Uint8Array {
  if (cache) {
    const c = dataCommits.get(v.data);
    if (c) return c;
  }
  const c = tensorCommit(v.shape, v.data);
  if (cache) dataCommits.set(v.data, c);
  return c;
}
