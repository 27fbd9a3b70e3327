// The daemon's compute process: training, replay and job inspection run here, outside the
// daemon's event loop (libp2p stays responsive), in a process of their own (the engine's kernel
// memory goes back to the OS when it exits). One task per process:
//
//   node src/node/worker.ts '<task JSON>'      reports on fd 3, one JSON object per line
//
// Lines are written with writeSync, so they leave while the training loop holds the thread. The
// worker stops by itself when its daemon dies (its parent pid changes), so a kill -9 of the
// daemon never leaves a second trainer writing into a run directory.
import { writeSync } from 'node:fs';
import { VeritrainError } from '../errors.ts';
import { setBackend, getBackend } from '../engine/kernels/current.ts';
import { createWasmBackend } from '../engine/kernels/wasm/index.ts';
import { loadCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import { parseSpec, type JobSpec } from '../train/spec.ts';
import { prepareJob, stateHashOf, stateTensors, train, trainStep, type Job } from '../train/train.ts';
import { replaySegment } from '../verify/replay.ts';
import type { WorkerLine, WorkerTask } from './work.ts';

const parent = process.ppid;

function emit(line: WorkerLine): void {
  writeSync(3, JSON.stringify(line) + '\n');
}

function checkParent(): void {
  if (process.ppid !== parent) process.exit(70);
}

/**
 * The initial state (step 0) as a checkpoint to replay from: nobody publishes it, everyone derives
 * it. Taken from a job that has not trained yet, as a copy: the replay of an earlier segment in the
 * same task moves the job on.
 */
function initialCheckpoint(job: Job): Checkpoint {
  const tensors: Checkpoint['tensors'] = {};
  for (const [n, t] of Object.entries(stateTensors(job))) tensors[n] = { shape: [...t.shape], data: t.data.slice() };
  return {
    specHash: job.specHash,
    step: 0,
    tensors,
    optimizerSteps: 0,
    cursor: { step: 0, epoch: 0 } as Checkpoint['cursor'],
    prevLink: '',
    link: '',
    stateHash: stateHashOf(job, 0),
  };
}

function elements(job: Job): number {
  return job.model.params.reduce((n, p) => n + p.data.length, 0);
}

async function run(task: WorkerTask): Promise<void> {
  setBackend(await createWasmBackend({ threads: task.threads ?? 1 }));
  const spec: JobSpec = parseSpec(task.spec);
  if (task.kind === 'inspect') {
    const job = prepareJob(spec, task.baseDir);
    const params = elements(job);
    const optimizerBuffers = Object.values(job.optimizer.state.buffers).reduce((n, b) => n + b.length, 0);
    const datasetBytes = job.train.kind === 'classification' ? job.train.x.byteLength + job.train.y.byteLength : job.train.tokens.byteLength;
    const initStateHash = stateHashOf(job, 0);
    // Two real steps in this throwaway process: the second one's time and the peak memory are
    // what the job will need (the first warms the JIT up).
    const t0 = performance.now();
    trainStep(job, 0);
    const t1 = performance.now();
    if (spec.steps > 1) trainStep(job, 1);
    const t2 = performance.now();
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    // The manifest (docs/verification.md §1), recomputed from the spec and the data this node holds.
    const { computeManifest } = await import('../verify/manifest.ts');
    const manifest = computeManifest(spec, task.baseDir);
    emit({
      type: 'inspected',
      specHash: job.specHash,
      params,
      stateBytes: 4 * (2 * params + optimizerBuffers),
      datasetBytes,
      initStateHash,
      stepMs: spec.steps > 1 ? t2 - t1 : t1 - t0,
      peakRssMiB,
      manifest: manifest.manifest,
      manifestHash: manifest.hash,
      manifestOk: task.manifestHash === undefined || task.manifestHash.toLowerCase() === manifest.hash,
    });
    return;
  }
  if (task.kind === 'train' && task.cheat) {
    // A cheating solver (fault tests only): its checkpoints are the states of its cheat's run.
    const { cheatFor, trainAsCheat } = await import('../verify/dispute/adversary.ts');
    const { computeManifest } = await import('../verify/manifest.ts');
    const details = computeManifest(spec, task.baseDir);
    const cheat = cheatFor(task.cheat, spec, task.baseDir, details);
    const r = trainAsCheat(spec, task.baseDir, task.outDir, cheat, (c) => emit({ type: 'checkpoint', ...c }), details);
    emit({ type: 'trained', finalHash: r.finalHash, steps: r.steps, resumedFrom: 0, testLoss: NaN });
    return;
  }
  if (task.kind === 'train') {
    let lastReport = 0;
    let losses: number[] = [];
    const result = train(spec, {
      outDir: task.outDir,
      baseDir: task.baseDir,
      evaluate: true,
      onStep: (s) => {
        checkParent();
        losses.push(s.loss);
        const now = performance.now();
        if (now - lastReport >= (task.progressMs ?? 250) || s.step === s.steps) {
          lastReport = now;
          emit({ type: 'step', step: s.step, steps: s.steps, loss: s.loss, losses });
          losses = [];
        }
      },
      onCheckpoint: (c) => emit({ type: 'checkpoint', step: c.step, stateHash: c.stateHash, path: c.path }),
    });
    emit({ type: 'trained', finalHash: result.finalHash, steps: result.steps, resumedFrom: result.resumedFrom, testAccuracy: result.testAccuracy, testLoss: result.testLoss });
    return;
  }
  if (task.kind === 'replay') {
    const job = prepareJob(spec, task.baseDir);
    const initial = task.segments.some((seg) => seg.fromPath === null) ? initialCheckpoint(job) : undefined;
    for (const seg of task.segments) {
      const start = seg.fromPath === null ? initial! : loadCheckpoint(seg.fromPath);
      const upTo = seg.probeStep ?? seg.toStep;
      if (upTo < start.step || seg.toStep < upTo) throw new Error(`bad replay bounds: from ${start.step}, probe ${seg.probeStep}, to ${seg.toStep}`);
      const r = replaySegment(job, start, upTo - start.step, { onStep: checkParent });
      let endHash = r.endHash;
      // On from the probe to the segment's end, in the same job (no second restore).
      for (let s = upTo; s < seg.toStep; s++) {
        checkParent();
        trainStep(job, s);
      }
      if (seg.toStep > upTo) endHash = stateHashOf(job, seg.toStep);
      emit({
        type: 'replayed',
        index: seg.index,
        fromStep: r.fromStep,
        toStep: seg.toStep,
        fromHash: start.stateHash,
        endHash,
        ...(seg.probeStep !== undefined ? { probeHash: r.endHash } : {}),
      });
    }
    return;
  }
}

try {
  const task = JSON.parse(process.argv[2]) as WorkerTask;
  await run(task);
  emit({ type: 'end' });
} catch (e) {
  const err = e instanceof VeritrainError ? e : undefined;
  emit({ type: 'error', name: (e as Error)?.name ?? 'Error', message: err?.shortMessage ?? (e as Error)?.message ?? String(e), details: err?.details, hint: err?.hint });
  process.exitCode = 1;
} finally {
  await getBackend().close?.();
}
