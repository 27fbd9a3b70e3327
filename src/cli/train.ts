// veritrain train | replay | eval
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { loadCheckpoint, readChainFromCheckpoints } from '../train/checkpoint.ts';
import { loadSpecFile, type JobSpec } from '../train/spec.ts';
import { evaluate, prepareJob, restoreState, train, type TrainResult } from '../train/train.ts';
import { replaySegment } from '../verify/replay.ts';
import type { CliContext } from './main.ts';
import { lossPlot } from './plot.ts';
import { createProgress } from './progress.ts';

function specArg(ctx: CliContext): { spec: JobSpec; path: string } {
  const p = ctx.positionals[0];
  if (!p) throw new InputError('missing the job spec file', { hint: 'e.g. veritrain train examples/mnist-mlp.json' });
  const path = resolve(p);
  return { spec: loadSpecFile(path), path };
}

/** Train with a progress bar; returns the result and the loss of every step run. */
export function runTraining(
  ctx: CliContext,
  spec: JobSpec,
  specPath: string,
  outDir: string,
): { result: TrainResult; losses: number[] } {
  const steps = ctx.steps ?? spec.steps;
  const losses: number[] = [];
  let bar: ReturnType<typeof createProgress> | undefined;
  const result = train(spec, {
    outDir,
    baseDir: dirname(specPath),
    steps,
    onStep: (s) => {
      if (!bar) {
        bar = createProgress(`train ${spec.name}`, s.steps - (s.step - 1), { quiet: ctx.quiet });
        if (s.step > 1) ctx.say(`resumed from step ${s.step - 1} (checkpoint in ${outDir})`);
      }
      losses.push(s.loss);
      bar.update(losses.length, `loss ${s.loss.toFixed(4)} epoch ${s.epoch}`);
    },
  });
  bar?.finish(`loss ${result.lastLoss.toFixed(4)}`);
  return { result, losses };
}

export function summary(result: TrainResult): Record<string, unknown> {
  const out: Record<string, unknown> = { finalHash: result.finalHash, steps: result.steps };
  if (result.testAccuracy !== undefined) out.testAccuracy = result.testAccuracy;
  else out.loss = result.testLoss;
  return {
    ...out,
    testLoss: result.testLoss,
    unigramLoss: result.unigramLoss,
    chainHead: result.chainHead,
    resumedFrom: result.resumedFrom,
    specHash: result.specHash,
  };
}

export function printResult(ctx: CliContext, result: TrainResult, losses: number[], outDir: string): void {
  if (losses.length > 1) ctx.say(lossPlot(losses, { title: `training loss (steps ${result.resumedFrom + 1}..${result.steps})` }));
  if (result.testAccuracy !== undefined) {
    ctx.say(`test accuracy ${(result.testAccuracy * 100).toFixed(2)}%  test loss ${result.testLoss.toFixed(4)}`);
  } else {
    ctx.say(`test loss ${result.testLoss.toFixed(4)} nats/char (unigram baseline ${result.unigramLoss?.toFixed(4)})`);
  }
  ctx.say(`final state hash ${result.finalHash}\nhash-chain head  ${result.chainHead}\ncheckpoints in   ${outDir}`);
}

export async function cmdTrain(ctx: CliContext): Promise<Record<string, unknown>> {
  const { spec, path } = specArg(ctx);
  const outDir = ctx.out ?? resolve('runs', spec.name);
  // Check the run directory's chain (every checkpoint header) before spending any training on it.
  readChainFromCheckpoints(outDir);
  const { result, losses } = runTraining(ctx, spec, path, outDir);
  printResult(ctx, result, losses, outDir);
  return { ...summary(result), outDir };
}

export async function cmdReplay(ctx: CliContext): Promise<Record<string, unknown>> {
  const { spec, path } = specArg(ctx);
  if (!ctx.from) throw new InputError('replay needs --from <checkpoint>');
  if (ctx.steps === undefined) throw new InputError('replay needs --steps N (how many steps to recompute)');
  const job = prepareJob(spec, dirname(path));
  const ck = loadCheckpoint(ctx.from);
  const bar = createProgress('replay', ctx.steps, { quiet: ctx.quiet });
  const r = replaySegment(job, ck, ctx.steps, { onStep: (done) => bar.update(done) });
  bar.finish();
  const step = r.toStep;
  const hash = r.endHash;
  ctx.say(`state hash after step ${step}: ${hash}`);
  return { fromStep: ck.step, steps: ctx.steps, step, stateHash: hash };
}

export async function cmdEval(ctx: CliContext): Promise<Record<string, unknown>> {
  const { spec, path } = specArg(ctx);
  const ckPath = ctx.positionals[1];
  if (!ckPath) throw new InputError('eval needs a checkpoint: veritrain eval <spec> <checkpoint>');
  const job = prepareJob(spec, dirname(path));
  const ck = loadCheckpoint(resolve(ckPath));
  if (ck.specHash !== job.specHash) {
    throw new InputError('the checkpoint belongs to another job spec', { details: `checkpoint ${ck.specHash}, spec ${job.specHash}` });
  }
  restoreState(job, ck.tensors, ck.optimizerSteps);
  const ev = evaluate(job);
  if (ev.testAccuracy !== undefined) ctx.say(`step ${ck.step}: test accuracy ${(ev.testAccuracy * 100).toFixed(2)}%, loss ${ev.testLoss.toFixed(4)}`);
  else ctx.say(`step ${ck.step}: test loss ${ev.testLoss.toFixed(4)} (unigram ${ev.unigramLoss?.toFixed(4)})`);
  return { step: ck.step, stateHash: ck.stateHash, ...ev };
}
