// The whole benchmark in one run: matmul throughput against peers, training steps/s against the
// TensorFlow.js peer, peak memory during training, and what the state hash costs per checkpoint.
//
//   npm run bench [-- --json] [-- --quick]
//   node_modules/.bin/node bench/run.ts [--json] [--quick]
//
// Human-readable table: to stdout, or to stderr with --json, where the last stdout line is one JSON
// object (BenchResult) with every figure. --quick: tiny sizes and 1–2 steps (for the test).
//
// Every training row (ours at 1 and 2 workers, the tfjs peer) runs in its own child process, so its
// peak RSS is its own and no other row's buffers or JIT state are in it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, getPriority, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMatmulBench, type MatmulBenchResult } from './matmul.bench.ts';
import { measureCeiling, type CeilingFigure } from './ceiling.ts';
import { setBackend } from '../src/engine/kernels/current.ts';
import { createWasmBackend } from '../src/engine/kernels/wasm/index.ts';
import { loadSpecFile } from '../src/train/spec.ts';
import { prepareJob, stateHashOf, trainStep } from '../src/train/train.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const TFJS = join(ROOT, 'bench/peers/tfjs-train.ts');

type ModelKey = 'mlp' | 'gpt';
const EXAMPLES: Record<ModelKey, string> = { mlp: 'examples/mnist-mlp.json', gpt: 'examples/tiny-gpt.json' };

/** One training row of our engine, measured in a child process. */
export interface OursTrainFigure {
  model: ModelKey;
  spec: string;
  workers: number;
  warmupSteps: number;
  timedSteps: number;
  stepsPerSec: number;
  msPerStep: number;
  /** Fastest single timed step, ms: on a shared machine the closest to an idle one. */
  bestMsPerStep: number;
  /** Median timed step, ms. */
  medianMsPerStep: number;
  /** CPU time of the calling thread per timed step, ms (the workers' shares not counted). */
  cpuMsPerStep: number;
  /** Max of process.memoryUsage().rss sampled after every step (MB). */
  peakRssSampledMB: number;
  /** process.resourceUsage().maxRSS at the end (MB): the process-wide high-water mark. */
  maxRssMB: number;
  /**
   * stateHashOf(job, step) as training meets it: `hashSamples` rounds of `hashEvery` training steps,
   * then one hash. Median, mean and the first (the process's first state hash) of those, ms.
   */
  stateHashMs: number;
  stateHashMeanMs: number;
  stateHashFirstMs: number;
  hashSamples: number;
  hashEvery: number;
  checkpointInterval: number;
  /** stateHashMeanMs / (checkpointInterval · msPerStep) · 100. */
  stateHashPctOfInterval: number;
  lastLoss: number;
}

export interface PeerTrainFigure {
  model: ModelKey;
  impl: 'tfjs-wasm';
  variant: string;
  threads: number;
  timedSteps: number;
  stepsPerSec: number;
  msPerStep: number;
  bestMsPerStep: number;
  cpuMsPerStep: number;
  maxRssMB: number;
}

export interface BenchResult {
  bench: 'veritrain';
  date: string;
  node: string;
  cpu: string;
  cores: number;
  quick: boolean;
  loadavg: { start: number; end: number };
  /** The bench's nice value, and its autogroup's (Linux; null where there is none): see ownSession(). */
  priority: { nice: number; autogroup: string | null };
  matmul: {
    sizes: number[];
    /** Per square size: GFLOP/s of each implementation (ours*Copied: operands copied into kernel memory per call). */
    gflops: Record<string, { ours1: number; ours2: number; tfjs: number; ort1: number; ort2: number; ours1Copied: number; ours2Copied: number }>;
    /** Per square size: ours/peer. */
    ratios: Record<string, { 'ours1/tfjs': number; 'ours2/tfjs': number; 'ours1/ort1': number; 'ours2/ort2': number; 'ours2/ours1': number }>;
    tfjsThreads: number;
    skipped: string[];
    full: MatmulBenchResult;
    /** What one thread of this machine does with SIMD128 (ceiling.ts): best of a run before and one after the matmul. */
    ceiling: CeilingFigure;
    /** ours 1t / ceiling.tile per size. */
    ofTile: Record<string, number>;
  };
  training: Record<ModelKey, {
    ours1: OursTrainFigure;
    ours2: OursTrainFigure;
    tfjs: PeerTrainFigure;
    ratios: { 'ours1/tfjs': number; 'ours2/tfjs': number; 'ours2/ours1': number };
    /** The same ratios from the fastest single steps (less sensitive to other work on the machine). */
    bestRatios: { 'ours1/tfjs': number; 'ours2/tfjs': number; 'ours2/ours1': number };
  }>;
  /** Largest peak RSS (MB) over our training rows (each its own process). */
  peakTrainRssMB: number;
  /** Worst state-hash share over our training rows (%), target < 2. */
  maxStateHashPct: number;
  seconds: number;
}

// ---- child: one training row of ours -------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** CPU ms of the calling thread (process.threadCpuUsage, Node >= 23.9; else the process's). */
function threadCpu(): number {
  const f = (process as unknown as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  const u = f ? f.call(process) : process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function oursChild(model: ModelKey, workers: number, warmup: number, timed: number, hashSamples: number, hashEvery: number): Promise<OursTrainFigure> {
  const backend = await createWasmBackend({ threads: workers });
  setBackend(backend);
  const rss = process.memoryUsage.rss; // the RSS alone: cheap enough to sample after every step
  let peak = rss();
  try {
    const specPath = join(ROOT, EXAMPLES[model]);
    const spec = loadSpecFile(specPath);
    const job = prepareJob(spec, dirname(specPath));
    let step = 0;
    let lastLoss = NaN;
    for (let i = 0; i < warmup; i++) {
      lastLoss = trainStep(job, step++).loss;
      peak = Math.max(peak, rss());
    }
    const t0 = performance.now();
    const c0 = threadCpu();
    const times: number[] = [];
    for (let i = 0; i < timed; i++) {
      const t = performance.now();
      lastLoss = trainStep(job, step++).loss;
      times.push(performance.now() - t);
      peak = Math.max(peak, rss());
    }
    const best = Math.min(...times);
    const cpuMs = (threadCpu() - c0) / timed;
    const ms = (performance.now() - t0) / timed;
    if (!Number.isFinite(lastLoss)) throw new Error(`${model}: non-finite loss ${lastLoss}`);
    // State hashes as a training run meets them: after `hashEvery` steps each (the kernel threads
    // have just worked, the state was just written), the first one the process's first.
    const hs: number[] = [];
    for (let i = 0; i < hashSamples; i++) {
      for (let k = 0; k < hashEvery; k++) trainStep(job, step++);
      const t = performance.now();
      stateHashOf(job, step);
      hs.push(performance.now() - t);
      peak = Math.max(peak, rss());
    }
    const stateHashMs = median(hs);
    const stateHashMeanMs = hs.reduce((a, b) => a + b, 0) / hs.length;
    const every = spec.checkpointInterval;
    return {
      model, spec: EXAMPLES[model], workers, warmupSteps: warmup, timedSteps: timed,
      stepsPerSec: 1000 / ms, msPerStep: ms, bestMsPerStep: best, medianMsPerStep: median(times), cpuMsPerStep: cpuMs,
      peakRssSampledMB: peak / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024,
      stateHashMs, stateHashMeanMs, stateHashFirstMs: hs[0], hashSamples, hashEvery, checkpointInterval: every,
      stateHashPctOfInterval: (100 * stateHashMeanMs) / (every * ms),
      lastLoss,
    };
  } finally {
    await backend.close();
  }
}

// ---- parent ------------------------------------------------------------------------------

function lastJsonLine(stdout: string, what: string): any {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${what}: no JSON on the last stdout line: ${line.slice(0, 200)}`);
  }
}

function runChild(args: string[], what: string, log: (l: string) => void): any {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
  log(`  ${what}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return lastJsonLine(r.stdout, what);
}

interface Plan {
  sizes: number[];
  matmulSamples: number;
  matmulSampleMs: number;
  matmulTrainingShapes: boolean;
  /** hashSamples rounds of hashEvery steps and a state hash (the MLP's interval is 125 steps). */
  steps: Record<ModelKey, { warmup: number; timed: number; hashSamples: number; hashEvery: number }>;
  /** tfjs peer: timed seconds (at least one step; its warmup is ≥ 1 s and ≥ 3 steps (GPT: 1)). */
  peerSeconds: Record<ModelKey, number>;
}

const FULL: Plan = {
  sizes: [256, 512, 1024],
  matmulSamples: 7,
  matmulSampleMs: 25,
  matmulTrainingShapes: true,
  steps: { mlp: { warmup: 100, timed: 300, hashSamples: 10, hashEvery: 125 }, gpt: { warmup: 2, timed: 10, hashSamples: 5, hashEvery: 2 } },
  peerSeconds: { mlp: 5, gpt: 5 },
};

const QUICK: Plan = {
  sizes: [128],
  matmulSamples: 2,
  matmulSampleMs: 5,
  matmulTrainingShapes: false,
  steps: { mlp: { warmup: 1, timed: 2, hashSamples: 2, hashEvery: 1 }, gpt: { warmup: 1, timed: 1, hashSamples: 1, hashEvery: 1 } },
  peerSeconds: { mlp: 0.1, gpt: 0.1 },
};

export async function runBench(opts: { quick?: boolean; log?: (l: string) => void } = {}): Promise<BenchResult> {
  const t0 = performance.now();
  const quick = opts.quick ?? false;
  const log = opts.log ?? (() => {});
  const plan = quick ? QUICK : FULL;
  const load0 = loadavg()[0];

  // 1. matmul, in this process.
  log('matmul:');
  // The ceiling before and after the matmul samples, best of both: this VM's speed moves by tens of
  // percent over seconds, and the matmul figures are bests over their own window too.
  const before = await measureCeiling({ quick });
  const mm = await runMatmulBench({
    sizes: plan.sizes, threads: [1, 2], peers: true, training: plan.matmulTrainingShapes,
    samples: plan.matmulSamples, sampleMs: plan.matmulSampleMs, log,
  });
  const after = await measureCeiling({ quick });
  const ceiling: CeilingFigure = { mulAdd: Math.max(before.mulAdd, after.mulAdd), tile: Math.max(before.tile, after.tile) };
  log(`  SIMD128 ceiling (before / after the matmul): mul+add ${before.mulAdd.toFixed(1)} / ${after.mulAdd.toFixed(1)}, 4×8 tile in L1 ${before.tile.toFixed(1)} / ${after.tile.toFixed(1)} GFLOP/s`);
  const g = (c: string, impl: string, threads?: number, operands: 'resident' | 'copied' = 'resident'): number =>
    mm.figures.find((f) => f.case === c && f.impl === impl && (threads === undefined || f.threads === threads) && (f.operands ?? 'resident') === operands)?.gflops ?? NaN;
  const gflops: BenchResult['matmul']['gflops'] = {};
  const mmRatios: BenchResult['matmul']['ratios'] = {};
  for (const n of plan.sizes) {
    const c = `${n}x${n}x${n}`;
    const x = {
      ours1: g(c, 'veritrain-wasm', 1), ours2: g(c, 'veritrain-wasm', 2), tfjs: g(c, 'tfjs-wasm'), ort1: g(c, 'onnxruntime', 1), ort2: g(c, 'onnxruntime', 2),
      ours1Copied: g(c, 'veritrain-wasm', 1, 'copied'), ours2Copied: g(c, 'veritrain-wasm', 2, 'copied'),
    };
    gflops[String(n)] = x;
    mmRatios[String(n)] = { 'ours1/tfjs': x.ours1 / x.tfjs, 'ours2/tfjs': x.ours2 / x.tfjs, 'ours1/ort1': x.ours1 / x.ort1, 'ours2/ort2': x.ours2 / x.ort2, 'ours2/ours1': x.ours2 / x.ours1 };
  }
  const tfjsThreads = mm.figures.find((f) => f.impl === 'tfjs-wasm')?.threads ?? NaN;

  // 2–4. training, one child process per row.
  const training = {} as BenchResult['training'];
  for (const model of ['mlp', 'gpt'] as const) {
    log(`training ${model}:`);
    const s = plan.steps[model];
    const ours = (workers: number): OursTrainFigure =>
      runChild([SELF, '--child', model, String(workers), String(s.warmup), String(s.timed), String(s.hashSamples), String(s.hashEvery)], `ours ${model} ${workers} worker(s)`, log);
    const ours1 = ours(1);
    const ours2 = ours(2);
    const p = runChild([TFJS, '--child', '--model', model, '--backend', 'wasm', '--variant', 'tuned', '--seconds', String(plan.peerSeconds[model])], `tfjs-wasm ${model}`, log);
    const tfjs: PeerTrainFigure = {
      model, impl: 'tfjs-wasm', variant: p.variant, threads: p.threads, timedSteps: p.timedSteps,
      stepsPerSec: p.stepsPerSec, msPerStep: p.msPerStep, bestMsPerStep: p.bestMsPerStep, cpuMsPerStep: p.cpuMsPerStep, maxRssMB: p.peakRssMB,
    };
    training[model] = {
      ours1, ours2, tfjs,
      ratios: { 'ours1/tfjs': ours1.stepsPerSec / tfjs.stepsPerSec, 'ours2/tfjs': ours2.stepsPerSec / tfjs.stepsPerSec, 'ours2/ours1': ours2.stepsPerSec / ours1.stepsPerSec },
      bestRatios: { 'ours1/tfjs': tfjs.bestMsPerStep / ours1.bestMsPerStep, 'ours2/tfjs': tfjs.bestMsPerStep / ours2.bestMsPerStep, 'ours2/ours1': ours1.bestMsPerStep / ours2.bestMsPerStep },
    };
  }
  const oursRows = Object.values(training).flatMap((t) => [t.ours1, t.ours2]);
  return {
    bench: 'veritrain',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    quick,
    loadavg: { start: load0, end: loadavg()[0] },
    priority: { nice: getPriority(), autogroup: autogroupOf() },
    matmul: {
      sizes: plan.sizes, gflops, ratios: mmRatios, tfjsThreads, skipped: mm.skipped, full: mm,
      ceiling, ofTile: Object.fromEntries(plan.sizes.map((n) => [n, gflops[n].ours1 / ceiling.tile])),
    },
    training,
    peakTrainRssMB: Math.max(...oursRows.map((r) => Math.max(r.maxRssMB, r.peakRssSampledMB))),
    maxStateHashPct: Math.max(...oursRows.map((r) => r.stateHashPctOfInterval)),
    seconds: (performance.now() - t0) / 1000,
  };
}

// ---- table ---------------------------------------------------------------------------------

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const sig = (x: number): string => (!Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
}

export function formatBench(r: BenchResult): string {
  const out: string[] = [
    `veritrain bench${r.quick ? ' (--quick)' : ''} — ${r.date.slice(0, 10)}, ${r.cpu}, ${r.cores} cores, Node ${r.node}, load ${r.loadavg.start.toFixed(2)} at start (${r.loadavg.end.toFixed(2)} at end, the bench's own work included), ${r.seconds.toFixed(0)} s`,
    `priority: nice ${r.priority.nice}${r.priority.autogroup ? `, ${r.priority.autogroup.trim()}` : ''}`,
    '',
    `matmul n×n·n×n, GFLOP/s (best of samples; tfjs-wasm runs on ${r.matmul.tfjsThreads} thread in Node)`,
  ];
  out.push(...table(
    ['n', 'ours 1t', 'ours 2t', 'tfjs-wasm', 'ort 1t', 'ort 2t', 'ours1/tfjs', 'ours2/tfjs', 'ours2/ours1', 'ours1/ort1', 'ours2/ort2', 'ours 1t/2t, copied in'],
    r.matmul.sizes.map((n) => {
      const x = r.matmul.gflops[n], q = r.matmul.ratios[n];
      return [String(n), f(x.ours1), f(x.ours2), f(x.tfjs), f(x.ort1), f(x.ort2), f(q['ours1/tfjs'], 2), f(q['ours2/tfjs'], 2), f(q['ours2/ours1'], 2),
        f(q['ours1/ort1'], 2), f(q['ours2/ort2'], 2), `${f(x.ours1Copied)} / ${f(x.ours2Copied)}`];
    }),
  ));
  out.push('(ours: operands in kernel memory, as in training, result copied out; tfjs: tensors in its memory, dataSync; ort: input tensors, output read back)');
  const c = r.matmul.ceiling;
  out.push(`SIMD128 on one thread of this machine (bench/ceiling.ts): f32x4 mul+add chains ${f(c.mulAdd)} GFLOP/s, the 4×8 tile on L1-resident operands ${f(c.tile)};`,
    `ours 1t is ${r.matmul.sizes.map((n) => `${(100 * r.matmul.ofTile[n]).toFixed(0)} %`).join(' / ')} of the tile (n = ${r.matmul.sizes.join(' / ')})`);
  if (r.matmul.skipped.length) out.push(...r.matmul.skipped.map((s) => `skipped: ${s}`));
  out.push('', 'training steps/s (full step: forward, backward, optimizer; ours on 1 and 2 workers, tfjs-wasm tuned variant on 1 thread)');
  out.push(...table(
    ['model', 'ours 1w', 'ours 2w', 'tfjs-wasm', 'ours1/tfjs', 'ours2/tfjs', '2w/1w', 'timed steps (ours/tfjs)'],
    (['mlp', 'gpt'] as const).map((m) => {
      const t = r.training[m];
      return [m === 'mlp' ? 'MNIST MLP b64' : 'tiny GPT b16', sig(t.ours1.stepsPerSec), sig(t.ours2.stepsPerSec), sig(t.tfjs.stepsPerSec),
        f(t.ratios['ours1/tfjs'], 2), f(t.ratios['ours2/tfjs'], 2), f(t.ratios['ours2/ours1'], 2), `${t.ours1.timedSteps}/${t.tfjs.timedSteps}`];
    }),
  ));
  out.push('', 'the same from the fastest single step of each row (steps/s = 1000 / best ms), the median step (ms), and CPU ms per step of the calling thread');
  out.push(...table(
    ['model', 'ours 1w', 'ours 2w', 'tfjs-wasm', 'ours1/tfjs', 'ours2/tfjs', '2w/1w', 'median ms 1w', 'median ms 2w', 'cpu ms 1w', 'cpu ms 2w', 'cpu ms tfjs'],
    (['mlp', 'gpt'] as const).map((m) => {
      const t = r.training[m], q = t.bestRatios;
      const best = (x: { bestMsPerStep: number }) => sig(1000 / x.bestMsPerStep);
      return [m === 'mlp' ? 'MNIST MLP b64' : 'tiny GPT b16', best(t.ours1), best(t.ours2), best(t.tfjs), f(q['ours1/tfjs'], 2), f(q['ours2/tfjs'], 2), f(q['ours2/ours1'], 2),
        f(t.ours1.medianMsPerStep, 2), f(t.ours2.medianMsPerStep, 2), f(t.ours1.cpuMsPerStep, 1), f(t.ours2.cpuMsPerStep, 1), f(t.tfjs.cpuMsPerStep, 1)];
    }),
  ));
  out.push('', 'peak memory during training, MB (each row its own process; maxRSS = resourceUsage high-water mark, rss = max sampled per step)');
  out.push(...table(
    ['model', 'ours 1w maxRSS', 'ours 1w rss', 'ours 2w maxRSS', 'ours 2w rss', 'tfjs maxRSS'],
    (['mlp', 'gpt'] as const).map((m) => {
      const t = r.training[m];
      return [m, f(t.ours1.maxRssMB, 0), f(t.ours1.peakRssSampledMB, 0), f(t.ours2.maxRssMB, 0), f(t.ours2.peakRssSampledMB, 0), f(t.tfjs.maxRssMB, 0)];
    }),
  ));
  out.push('', 'state hash per checkpoint during training (a hash after every `after` steps; the first is the process\'s first) vs training time between checkpoints (mean; target < 2 %)');
  out.push(...table(
    ['model', 'interval', 'after', 'hash ms 1w med/mean/first', 'hash ms 2w med/mean/first', 'ms/step 1w', 'ms/step 2w', '% of interval 1w', '% of interval 2w'],
    (['mlp', 'gpt'] as const).map((m) => {
      const t = r.training[m];
      const h = (o: OursTrainFigure) => `${f(o.stateHashMs, 2)} / ${f(o.stateHashMeanMs, 2)} / ${f(o.stateHashFirstMs, 2)}`;
      return [m, String(t.ours1.checkpointInterval), String(t.ours1.hashEvery), h(t.ours1), h(t.ours2), f(t.ours1.msPerStep, 1), f(t.ours2.msPerStep, 1),
        f(t.ours1.stateHashPctOfInterval, 3), f(t.ours2.stateHashPctOfInterval, 3)];
    }),
  ));
  // The end load includes this bench's own 2-thread runs; only the start load says the machine was busy.
  if (r.loadavg.start > r.cores / 2)
    out.push('', `note: the machine was busy at the start (1-min load ${r.loadavg.start.toFixed(2)} on ${r.cores} cores): figures are lower bounds`);
  return out.join('\n');
}

// ---- main ----------------------------------------------------------------------------------

/** This process's scheduler autogroup as /proc reports it ("/autogroup-7 nice -15"), or null. */
function autogroupOf(): string | null {
  try {
    return readFileSync('/proc/self/autogroup', 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * With Linux's autogroup scheduling (the default on desktops and on this project's VMs) the CPU is
 * shared between sessions first, and a nice value only orders the processes of one session, so
 * `nice -n -15 npm run bench` gets no more of a busy machine than any other session's work. A bench
 * started with a negative nice value therefore runs in a session of its own (a new autogroup, which
 * ends with it) and gives that autogroup the same nice value. Returns the exit code when it did.
 */
async function inOwnSession(args: string[]): Promise<number | null> {
  const nice = getPriority();
  let enabled = false;
  try {
    enabled = readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch { /* not Linux, or no autogroups */ }
  if (nice >= 0 || !enabled || args.includes('--own-session')) return null;
  const child = spawn(process.execPath, [...process.execArgv, SELF, ...args, '--own-session'], { stdio: 'inherit', detached: true });
  const forward = (sig: NodeJS.Signals) => () => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return await new Promise<number>((res) => child.on('exit', (code, sig) => res(code ?? (sig ? 1 : 0))));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const code = args[0] === '--child' ? null : await inOwnSession(args);
  if (code !== null) process.exit(code);
  if (args.includes('--own-session')) {
    try {
      writeFileSync('/proc/self/autogroup', String(getPriority()));
    } catch (e) {
      console.error(`bench: could not set this session's autogroup nice value (${e instanceof Error ? e.message : e}); running with nice only`);
    }
  }
  try {
    if (args[0] === '--child') {
      const [, model, workers, warmup, timed, hashSamples, hashEvery] = args;
      if (model !== 'mlp' && model !== 'gpt') throw new Error(`--child: unknown model ${model}`);
      const r = await oursChild(model, Number(workers), Number(warmup), Number(timed), Number(hashSamples), Number(hashEvery));
      console.log(JSON.stringify(r));
    } else {
      const json = args.includes('--json');
      const quick = args.includes('--quick');
      const r = await runBench({ quick, log: (l) => console.error(l) });
      const text = formatBench(r);
      if (json) {
        console.error(text);
        console.log(JSON.stringify(r));
      } else {
        console.log(text);
      }
    }
  } catch (e) {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    if (args.includes('--json')) console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    process.exit(1);
  }
}
