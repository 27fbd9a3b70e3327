// The README's first command: train the built-in MNIST job locally, end to end, and show it.
// (Until the network exists the demo is local; it will grow into devnet + solvers + verifiers.)
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { loadSpecFile } from '../train/spec.ts';
import type { CliContext } from './main.ts';
import { printResult, runTraining, summary } from './train.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/mnist-mlp.json', import.meta.url));

export async function cmdDemo(ctx: CliContext): Promise<Record<string, unknown>> {
  const spec = loadSpecFile(EXAMPLE);
  // A fresh run directory each time (a directory that exists would be resumed).
  const outDir = ctx.out ?? resolve('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(outDir, { recursive: true });
  ctx.say(
    `veritrain demo: ${spec.name} — MLP ${spec.model.type === 'mlp' ? `784-${spec.model.hidden.join('-')}-10` : spec.model.type}, ` +
      `${ctx.steps ?? spec.steps} steps of batch ${spec.batchSize} on the built-in MNIST digits (80/20 split), ` +
      `${ctx.workers} worker thread(s), checkpoint every ${spec.checkpointInterval} steps`,
  );
  const { result, losses } = runTraining(ctx, spec, EXAMPLE, outDir);
  printResult(ctx, result, losses, outDir);
  ctx.say(`replay any segment: veritrain replay examples/mnist-mlp.json --from ${join(outDir, '<checkpoint>')} --steps ${spec.checkpointInterval}`);
  return { ...summary(result), outDir };
}
