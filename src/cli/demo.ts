// The README's first command: a whole network on this machine (devnet chain, 3 solver and 2
// verifier node processes), an MNIST job posted through the SDK, trained by a solver, checked by
// the drawn verifiers, finalized, and its model downloaded and checked against the chain — every
// stage shown as it happens. Ends with the verified model on disk.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { parseSpec } from '../train/spec.ts';
import type { CliContext } from './main.ts';
import { createUpdatePrinter } from './job.ts';
import { lossPlot } from './plot.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/mnist-mlp.json', import.meta.url));

export const DEMO_OPTIONS = { keep: { type: 'boolean' } } as const;

export async function cmdDemo(ctx: CliContext, v: { keep?: boolean } = {}): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const { startLocalNetwork } = await import('../node/localnet.ts');
  const { DEVNET_PASSPHRASE, DEVNET_SCRYPT_N } = await import('../node/cluster.ts');
  const { createClient } = await import('../sdk/index.ts');
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  // The built-in MNIST job, shortened so the whole demo takes a minute or two on 2 cores.
  const spec = parseSpec({ ...example, name: 'mnist-mlp-demo', steps: ctx.steps ?? 400, checkpointInterval: 50 });
  const runDir = ctx.out ?? resolve('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(runDir, { recursive: true });
  const modelPath = join(runDir, 'model.safetensors');
  const netDir = mkdtempSync(join(tmpdir(), 'veritrain-demo-'));
  ctx.say(`veritrain demo: a devnet chain and 5 nodes on this machine (3 solvers, 2 verifiers), one MNIST job through the network`);
  ctx.say(`  job: MLP 784-${spec.model.type === 'mlp' ? spec.model.hidden.join('-') : '?'}-10, ${spec.steps} steps of batch ${spec.batchSize}, a checkpoint every ${spec.checkpointInterval} steps`);
  let ok = false;
  const net = await startLocalNetwork({ dataDir: netDir, port: 0, spec: { solvers: 3, verifiers: 2 }, log: (l) => ctx.say(`  ${l}`) });
  const vt = createClient({
    deployment: net.devnet.deployment,
    dataDir: net.clientDir,
    passphrase: DEVNET_PASSPHRASE,
    scryptN: DEVNET_SCRYPT_N,
    bootstrap: net.cluster.bootstrap(),
  });
  try {
    const setupSec = (performance.now() - t0) / 1000;
    ctx.say(`network up in ${setupSec.toFixed(1)} s; submitting the job (spec published to the nodes, price escrowed)`);
    const submitted = await vt.submitJob({ spec, baseDir: resolve('.') }, { verifiers: 2, duration: 600 });
    const printer = createUpdatePrinter(ctx, { name: spec.name });
    const stages: Record<string, number> = {};
    const tJob = performance.now();
    for await (const u of vt.watchJob(submitted.jobId)) {
      printer.print(u, { checkpoints: submitted.checkpoints });
      if (u.type === 'stage' && stages[u.stage] === undefined) stages[u.stage] = Number(((performance.now() - tJob) / 1000).toFixed(2));
    }
    const result = await vt.fetchResult(submitted.jobId, modelPath);
    ctx.say(`downloaded ${result.bytes} bytes to ${result.modelPath}`);
    ctx.say(`its state hash ${result.modelHash.slice(2)} is the model hash on chain: ${result.verified ? 'verified' : 'NOT verified'}`);
    if (printer.losses.length > 1) ctx.say(lossPlot(printer.losses, { title: 'training loss (as the solver reported it)' }));
    const evaluation = await evaluateModel(spec, modelPath);
    if (evaluation.testAccuracy !== undefined) ctx.say(`held-out accuracy of the downloaded model: ${(evaluation.testAccuracy * 100).toFixed(2)}%`);
    ok = result.verified;
    return {
      jobId: submitted.jobId.toString(),
      finalHash: result.modelHash.slice(2),
      verified: result.verified,
      modelPath: result.modelPath,
      testAccuracy: evaluation.testAccuracy,
      steps: spec.steps,
      specHash: submitted.specHash,
      stagesSec: stages,
      setupSec: Number(setupSec.toFixed(2)),
      wallSec: Number(((performance.now() - t0) / 1000).toFixed(2)),
      nodes: net.cluster.nodes.length,
    };
  } finally {
    await vt.close();
    await net.stop();
    if (ok && !v.keep) rmSync(netDir, { recursive: true, force: true });
    else ctx.say(`network data (node logs, databases, blobs) kept in ${netDir}`);
  }
}

/** Held-out accuracy of a downloaded checkpoint (this process, the engine's reference backend is fine). */
async function evaluateModel(spec: ReturnType<typeof parseSpec>, path: string): Promise<{ testAccuracy?: number; testLoss: number }> {
  const { setBackend } = await import('../engine/kernels/current.ts');
  const { createWasmBackend } = await import('../engine/kernels/wasm/index.ts');
  const { loadCheckpoint } = await import('../train/checkpoint.ts');
  const { evaluate, prepareJob, restoreState } = await import('../train/train.ts');
  const backend = await createWasmBackend({ threads: 1 });
  setBackend(backend);
  const job = prepareJob(spec, resolve('.'));
  const ck = loadCheckpoint(path);
  restoreState(job, ck.tensors, ck.optimizerSteps);
  return evaluate(job);
}
