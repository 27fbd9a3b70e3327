// One training run, from a job spec to a chain of checkpoint hashes. Read top to bottom: load the
// data, build the model, resume from the last checkpoint if there is one, then for each step take
// the batch that is a pure function of (seed, dataset, step), forward, backward, clip, update, and
// every `checkpointInterval` steps write a checkpoint and extend the hash chain.
import { NumericError, InputError } from '../errors.ts';
import { crossEntropy } from '../engine/nn.ts';
import { getBackend } from '../engine/kernels/current.ts';
import { newData, noGrad, withArena, withFiniteChecks, Tensor } from '../engine/tensor.ts';
import { traceInput, traceOp, tracing } from '../engine/trace.ts';
import { classificationBatch, dataCursor, textBatch } from './data/batch.ts';
import type { Dataset } from './data/dataset.ts';
import { loadDataset } from './data/load.ts';
import { splitDataset } from './data/split.ts';
import { buildModel } from './models/index.ts';
import type { Batch, Model } from './models/types.ts';
import { clipGradNorm, createOptimizer, learningRate, type Optimizer } from './optim.ts';
import { specHash, type JobSpec } from './spec.ts';
import { genesisLink, latestCheckpoint, loadCheckpoint, saveCheckpoint, stateHash } from './checkpoint.ts';
import { prepareCommits } from './commit.ts';

export interface StepInfo {
  step: number; // steps done so far (1-based after the update)
  steps: number;
  loss: number;
  lr: number;
  epoch: number;
}

export interface TrainOptions {
  /** Run directory: checkpoints and chain.json. Resumed from when it holds checkpoints. */
  outDir: string;
  /** Directory relative dataset paths are resolved against (the spec file's folder). */
  baseDir: string;
  /** Stop after this many steps in total (default: the spec's steps). */
  steps?: number;
  onStep?: (s: StepInfo) => void;
  onCheckpoint?: (c: { step: number; stateHash: string; link: string; path: string }) => void;
  /** Evaluate on the held-out split at the end (default true). */
  evaluate?: boolean;
}

export interface Evaluation {
  testAccuracy?: number;
  testLoss: number;
  /** Text: the unigram entropy of the training characters, in nats (the baseline to beat). */
  unigramLoss?: number;
}

export interface TrainResult extends Evaluation {
  finalHash: string;
  chainHead: string;
  steps: number;
  resumedFrom: number;
  lastLoss: number;
  specHash: string;
}

export interface Job {
  spec: JobSpec;
  specHash: string;
  train: Dataset;
  test: Dataset;
  model: Model;
  optimizer: Optimizer;
}

/** Everything a run needs, built from the spec alone (no checkpoint yet). */
export function prepareJob(spec: JobSpec, baseDir: string): Job {
  const ds = loadDataset(spec.dataset, { baseDir });
  const { train, test } = splitDataset(ds, spec.testFraction);
  const model = buildModel(spec.model, ds, spec.seed);
  const optimizer = createOptimizer(spec.optimizer, model.params);
  const job: Job = { spec, specHash: specHash(spec), train, test, model, optimizer };
  prepareCommits(Object.values(stateTensors(job))); // checkpoints' hashing threads start now
  return job;
}

/** Batch `step`; `alloc` gives the features' array (default: a fresh one). */
export function batchAt(job: Job, step: number, alloc?: (n: number) => Float32Array): Batch {
  const { spec, train } = job;
  if (train.kind === 'classification') {
    const b = classificationBatch(train, { seed: spec.seed, batchSize: spec.batchSize, step }, alloc);
    return { kind: 'classification', x: b.x, y: b.y, batchSize: spec.batchSize };
  }
  if (spec.model.type !== 'gpt') throw new InputError('text datasets need a gpt model');
  const context = spec.model.context;
  const b = textBatch(train, { seed: spec.seed, batchSize: spec.batchSize, context, step });
  return { kind: 'text', x: b.x, y: b.y, batchSize: spec.batchSize, context };
}

function lossOf(model: Model, batch: Batch, step: number, training: boolean): Tensor {
  return crossEntropy(model.logits(batch, { training, step }), batch.y);
}

function allFinite(loss: number, params: Tensor[]): boolean {
  return Number.isFinite(loss) && params.every((p) => getBackend().allFinite(p.grad!.data));
}

/**
 * One optimisation step (0-based `step`): forward, backward, clip, update. When the loss or a
 * gradient is NaN/Inf, the step is replayed with every op checked and the error names the op.
 * The step's tensors live in the backend's arena and are gone afterwards (so are the gradients).
 */
export function trainStep(job: Job, step: number): { loss: number; lr: number } {
  return withArena(() => {
    try {
      return stepInArena(job, step);
    } finally {
      for (const p of job.model.params) p.grad = null; // their memory is the arena's again
    }
  });
}

function stepInArena(job: Job, step: number): { loss: number; lr: number } {
  const { spec, model, optimizer } = job;
  // The features in the step's arena (gone with the step); a traced step keeps them in plain memory.
  const batch = batchAt(job, step, tracing ? undefined : newData);
  if (tracing) traceStepInputs(job, step, batch);
  for (const p of model.params) p.grad = null;
  const loss = lossOf(model, batch, step, true);
  loss.backward();
  const l = loss.item();
  if (!allFinite(l, model.params)) {
    for (const p of model.params) p.grad = null;
    try {
      withFiniteChecks(() => lossOf(model, batch, step, true).backward());
    } catch (e) {
      if (e instanceof NumericError) {
        throw new NumericError(`step ${step + 1}: ${e.shortMessage}`, { details: e.details, hint: e.hint });
      }
      throw e;
    }
    throw new NumericError(`step ${step + 1}: a gradient became NaN or Inf in the backward pass`, {
      hint: 'lower the learning rate or enable gradient clipping',
    });
  }
  if (spec.gradClip !== null && spec.gradClip !== undefined) clipGradNorm(model.params, spec.gradClip);
  const lr = learningRate(spec.optimizer.lr, spec.schedule, step, spec.steps);
  noGrad(() => optimizer.step(model.params, lr));
  return { loss: l, lr };
}

// Job inputs wrapped once per job, so every traced step names the same objects.
const dataInputs = new WeakMap<Job, { x?: Tensor; y: Int32Array }>();

/**
 * For the op observer (engine/trace.ts): the state tensors, the job's training data and this
 * step's batch indices are declared as inputs, and the batch is reported as computed from them.
 */
function traceStepInputs(job: Job, step: number, batch: Batch): void {
  for (const p of job.model.params) traceInput(`state.${p.name}`, p);
  for (const [name, t] of Object.entries(stateTensors(job))) {
    if (name.startsWith('optim.')) traceInput(`state.${name}`, new Tensor(t.data, t.shape));
  }
  const { train, spec } = job;
  let d = dataInputs.get(job);
  if (train.kind === 'classification' && batch.kind === 'classification') {
    if (!d) dataInputs.set(job, (d = { x: new Tensor(train.x, [train.n, ...train.inputShape]), y: train.y }));
    traceInput('data.x', d.x!);
    traceInput('data.y', d.y);
    const b = classificationBatch(train, { seed: spec.seed, batchSize: spec.batchSize, step });
    const indices = new Int32Array(b.indices);
    traceInput('step.indices', indices);
    traceOp('gather', undefined, [d.x!, indices], new Tensor(batch.x, [batch.batchSize, ...train.inputShape]));
    traceOp('gather', undefined, [d.y, indices], batch.y);
  } else if (train.kind === 'text' && batch.kind === 'text') {
    if (!d) dataInputs.set(job, (d = { y: train.tokens }));
    traceInput('data.tokens', d.y);
    const b = textBatch(train, { seed: spec.seed, batchSize: spec.batchSize, context: batch.context, step });
    const starts = new Int32Array(b.starts);
    traceInput('step.starts', starts);
    traceOp('windows', { length: batch.context, shift: 0 }, [d.y, starts], batch.x);
    traceOp('windows', { length: batch.context, shift: 1 }, [d.y, starts], batch.y);
  }
}

/** Parameters and optimizer buffers by name: what a checkpoint holds. */
export function stateTensors(job: Job): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const p of job.model.params) out[p.name!] = { shape: [...p.shape], data: p.data };
  for (const p of job.model.params) {
    for (const [prefix, shape] of [['m', p.shape], ['v', p.shape], ['momentum', p.shape]] as const) {
      const buf = job.optimizer.state.buffers[`optim.${prefix}.${p.name}`];
      if (buf) out[`optim.${prefix}.${p.name}`] = { shape: [...shape], data: buf };
    }
  }
  return out;
}

/** Load a checkpoint's tensors into the job (names and shapes must match exactly). */
export function restoreState(job: Job, tensors: Record<string, { shape: number[]; data: Float32Array }>, optimizerSteps: number): void {
  const want = stateTensors(job);
  const names = Object.keys(want).sort();
  const have = Object.keys(tensors).sort();
  if (names.join('\n') !== have.join('\n')) {
    throw new InputError('checkpoint does not fit this job: its tensors differ from the model and optimizer', {
      details: `expected ${names.length} tensors, found ${have.length}`,
      hint: 'use a checkpoint written by this job spec',
    });
  }
  for (const n of names) {
    if (want[n].data.length !== tensors[n].data.length) throw new InputError(`checkpoint tensor ${n} has the wrong size`);
    want[n].data.set(tensors[n].data);
  }
  job.optimizer.state.t = optimizerSteps;
}

function cursorAt(job: Job, step: number) {
  return dataCursor(job.train, {
    batchSize: job.spec.batchSize,
    step,
    context: job.spec.model.type === 'gpt' ? job.spec.model.context : undefined,
  });
}

/** What a checkpoint after `step` steps holds (tensors are live views of the job's state). */
export function stateAt(job: Job, step: number) {
  return { step, specHash: job.specHash, tensors: stateTensors(job), optimizerSteps: job.optimizer.state.t, cursor: cursorAt(job, step) };
}

/** The canonical state hash of the job as it stands after `step` steps. */
export function stateHashOf(job: Job, step: number): string {
  return stateHash(stateAt(job, step));
}

export function checkpointAt(job: Job, outDir: string, step: number, prevLink: string) {
  return saveCheckpoint(outDir, { ...stateAt(job, step), prevLink });
}

/** Train (or resume) a job to `steps`; returns the final state hash and evaluation. */
export function train(spec: JobSpec, opts: TrainOptions): TrainResult {
  const job = prepareJob(spec, opts.baseDir);
  const steps = opts.steps ?? spec.steps;
  let start = 0;
  let link = genesisLink(job.specHash);
  let finalHash = '';
  const last = latestCheckpoint(opts.outDir);
  if (last) {
    const ck = loadCheckpoint(last);
    if (ck.specHash !== job.specHash) {
      throw new InputError(`${opts.outDir} holds checkpoints of another job spec`, {
        details: `checkpoint spec ${ck.specHash}, this spec ${job.specHash}`,
        hint: 'use a fresh --out directory',
      });
    }
    restoreState(job, ck.tensors, ck.optimizerSteps);
    start = ck.step;
    link = ck.link;
    finalHash = ck.stateHash;
  }
  if (start > steps) throw new InputError(`${opts.outDir} is already at step ${start}, past the requested ${steps}`);
  let lastLoss = NaN;
  const every = spec.checkpointInterval;
  for (let step = start; step < steps; step++) {
    const { loss, lr } = trainStep(job, step);
    lastLoss = loss;
    const done = step + 1;
    opts.onStep?.({ step: done, steps, loss, lr, epoch: cursorAt(job, done).epoch });
    if (done % every === 0 || done === steps) {
      const c = checkpointAt(job, opts.outDir, done, link);
      link = c.link;
      finalHash = c.stateHash;
      opts.onCheckpoint?.({ step: done, stateHash: c.stateHash, link: c.link, path: c.path });
    }
  }
  if (!finalHash) {
    // Zero steps: the hash of the initial state.
    const c = checkpointAt(job, opts.outDir, start, link);
    finalHash = c.stateHash;
    link = c.link;
  }
  const ev = opts.evaluate === false ? { testLoss: NaN } : evaluate(job);
  return { finalHash, chainHead: link, steps, resumedFrom: start, lastLoss, specHash: job.specHash, ...ev };
}

/** Held-out evaluation: accuracy and mean loss (classification), mean loss and baseline (text). */
export function evaluate(job: Job): Evaluation {
  return noGrad(() => {
    const { test, model, spec } = job;
    if (test.kind === 'classification') {
      const f = test.inputShape.reduce((a, b) => a * b, 1);
      const B = 500;
      let correct = 0, lossSum = 0;
      for (let s = 0; s < test.n; s += B) {
        const n = Math.min(B, test.n - s);
        const batch: Batch = { kind: 'classification', x: test.x.subarray(s * f, (s + n) * f), y: test.y.subarray(s, s + n), batchSize: n };
        withArena(() => {
          const logits = model.logits(batch, { training: false, step: 0 });
          lossSum += crossEntropy(logits, batch.y).item() * n;
          const C = logits.shape[1], d = logits.data;
          for (let i = 0; i < n; i++) {
            let best = 0;
            for (let c = 1; c < C; c++) if (d[i * C + c] > d[i * C + best]) best = c;
            if (best === batch.y[i]) correct++;
          }
        });
      }
      return { testAccuracy: correct / test.n, testLoss: lossSum / test.n };
    }
    if (spec.model.type !== 'gpt') throw new InputError('text datasets need a gpt model');
    // Fixed windows of the test text: 8 batches at positions drawn from a separate seed stream.
    const context = spec.model.context;
    let lossSum = 0;
    const batches = 8;
    for (let s = 0; s < batches; s++) {
      const b = textBatch(test, { seed: spec.seed + 1, batchSize: spec.batchSize, context, step: s });
      lossSum += withArena(() => lossOf(model, { kind: 'text', x: b.x, y: b.y, batchSize: spec.batchSize, context }, s, false).item());
    }
    return { testLoss: lossSum / batches, unigramLoss: unigramEntropy(job.train) };
  });
}

/** Entropy (nats) of the training text's character frequencies: a model that ignores context. */
function unigramEntropy(ds: Dataset): number {
  if (ds.kind !== 'text') return NaN;
  const counts = new Float64Array(ds.vocab.length);
  for (const t of ds.tokens) counts[t]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / ds.tokens.length) * Math.log(c / ds.tokens.length);
  return h;
}
