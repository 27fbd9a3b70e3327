// Peer benchmark: training throughput of TensorFlow.js (tfjs-core 4.22) on the WASM backend
// (reference: the pure-JS cpu backend), for the two workloads our own engine is benchmarked on:
//
//   - MLP 784-256-10, ReLU, softmax cross-entropy, Adam lr 1e-3, batch 64.
//   - Char-level GPT: 2 layers, d_model 128, 4 heads, context 64, batch 16, vocab 65, learned
//     positions, pre-LN blocks, causal attention, GELU MLP (4·d), final LN, untied output head,
//     mean cross-entropy over all positions, AdamW (lr 1e-3, wd 0.01 on matrices).
//
// A "step" is a full training step: forward, backward, optimizer update, and the loss read back
// with dataSync(). On wasm and cpu every kernel runs synchronously, so after dataSync() no work
// is left pending; we also check that the step leaks no tensors.
//
// Usage:
//   node_modules/.bin/node bench/peers/tfjs-train.ts [--json] [--seconds S] [--backend wasm|cpu|all]
//                                                    [--model mlp|gpt|all] [--in-process]
// By default each (model, backend) pair is measured in its own child process so that its peak
// RSS is its own.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { registerTfjsGradients } from './tfjs-gradients.ts';

export type PeerBackend = 'wasm' | 'cpu';
/**
 * 'tuned' (default): every matmul the model and its backward pass issue is a plain A·B; operands
 * that need transposing are transposed first with tf.transpose. tfjs-backend-wasm 4.22 is fast
 * only for non-transposed BatchMatMul (about 12–20 GFLOP/s here); with transposeA or transposeB
 * it falls to about 1 GFLOP/s, and tfjs's own BatchMatMul gradient uses exactly those. So
 * 'tuned' swaps in an equivalent BatchMatMul gradient (explicit transpose, then plain matmul).
 * 'stock': tfjs's own gradients and tf.matMul(q, k, false, true) in attention, as shipped.
 */
export type PeerVariant = 'tuned' | 'stock';

export interface PeerOpts {
  /** Length of the timed loop in seconds (default 5). At least `minSteps` steps are timed. */
  seconds?: number;
  /** Backend: 'wasm' (default) or 'cpu' (pure JS, reference only). */
  backend?: PeerBackend;
  /** 'tuned' (default) or 'stock', see PeerVariant. */
  variant?: PeerVariant;
  /** Minimum number of timed steps (default 1: one cpu-backend GPT step takes ~8 s). */
  minSteps?: number;
  /** Warmup: at least this many steps and at least `warmupSeconds` (defaults 3 steps (GPT: 1), 1 s). */
  warmupSteps?: number;
  warmupSeconds?: number;
  /** Seed for data and initialization (default 1234). */
  seed?: number;
  /** Print progress/details to stderr. */
  verbose?: boolean;
}

export interface PeerResult {
  stepsPerSec: number;
  backend: string;
  threads: number;
  peakRssMB: number;
}

export interface PeerDetail extends PeerResult {
  model: 'mlp' | 'gpt';
  variant: PeerVariant;
  params: number;
  timedSteps: number;
  timedSeconds: number;
  msPerStep: number;
  /** Approximate training FLOPs per step (matmuls only, 2·m·n·k forward, ×3 forward+backward). */
  gflopPerStep: number;
  achievedGflops: number;
  firstLoss: number;
  lastLoss: number;
  simd: boolean;
  wasmBinary: string | null;
  tensorsAfter: number;
  node: string;
}

// ---------------------------------------------------------------------------------------------
// Backend setup

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

async function useBackend(name: PeerBackend): Promise<{ backend: string; threads: number; simd: boolean; wasmBinary: string | null }> {
  if (name === 'wasm' && !wasmPathsSet) {
    // The package's "main" is dist/tf-backend-wasm.node.js; the .wasm binaries sit next to it.
    const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    setWasmPaths(distDir + '/');
    wasmPathsSet = true;
  }
  await registerTfjsGradients();
  tf.enableProdMode(); // skip debug-mode checks: the fastest configuration tfjs offers.
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialize`);
  await tf.ready();
  const backend = tf.getBackend();
  if (backend !== name) throw new Error(`asked for tfjs backend '${name}', got '${backend}'`);
  if (name === 'wasm') {
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    const mt = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
    const wasmBinary = simd && mt ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
    return { backend, threads: getThreadsCount(), simd, wasmBinary };
  }
  return { backend, threads: 1, simd: false, wasmBinary: null };
}

function peakRssMB(): number {
  // maxRSS is in kilobytes (process-wide high-water mark).
  return process.resourceUsage().maxRSS / 1024;
}

// ---------------------------------------------------------------------------------------------
// Variant: which matmul forms are used (see PeerVariant).

let currentVariant: PeerVariant = 'tuned';
let stockBatchMatMulGrad: tf.GradConfig | null = null;

/** Swaps the last two axes. */
function tr(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

/** matMul(a, b, transposeA, transposeB) written with explicit transposes in the 'tuned' variant. */
function mm(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (currentVariant === 'stock') return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? tr(a) : a, transposeB ? tr(b) : b);
}

// Same algebra as tfjs-core's gradients/BatchMatMul_grad.js, with matMul replaced by mm.
const tunedBatchMatMulGrad: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const g = dy as tf.Tensor;
    if (!transposeA && !transposeB) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
    if (!transposeA && transposeB) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
    if (transposeA && !transposeB) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
    return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
  },
};

function setVariant(v: PeerVariant): void {
  stockBatchMatMulGrad ??= tf.getGradient('BatchMatMul');
  tf.registerGradient(v === 'stock' ? stockBatchMatMulGrad : tunedBatchMatMulGrad);
  currentVariant = v;
}

// ---------------------------------------------------------------------------------------------
// Deterministic data (mulberry32), independent of tfjs.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countParams(vars: tf.Variable[]): number {
  return vars.reduce((s, v) => s + v.size, 0);
}

// ---------------------------------------------------------------------------------------------
// Timing harness

interface StepModel {
  /** Runs one full training step and returns the loss, already read back (dataSync). */
  step(i: number): number;
  dispose(): void;
}

interface Timing {
  timedSteps: number;
  timedSeconds: number;
  /** Fastest single timed step, ms (on a shared machine: the closest to an idle one). */
  bestMsPerStep: number;
  /** CPU time of this (the only computing) thread per timed step, ms. */
  cpuMsPerStep: number;
  firstLoss: number;
  lastLoss: number;
  tensorsAfter: number;
}

function timeSteps(m: StepModel, o: Required<Pick<PeerOpts, 'seconds' | 'minSteps' | 'warmupSteps' | 'warmupSeconds'>>, verbose: boolean): Timing {
  let i = 0;
  let firstLoss = NaN;
  // Warmup: compiles wasm/JIT paths, allocates the buffer pool, builds Adam moments.
  const w0 = performance.now();
  while (i < o.warmupSteps || performance.now() - w0 < o.warmupSeconds * 1000) {
    const l = m.step(i++);
    if (i === 1) firstLoss = l;
    if (!Number.isFinite(l)) throw new Error(`non-finite loss ${l} at warmup step ${i}`);
  }
  const tensorsBefore = tf.memory().numTensors;
  let n = 0;
  let lastLoss = NaN;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let t = t0;
  let best = Infinity;
  while (n < o.minSteps || t - t0 < o.seconds * 1000) {
    const s = t;
    lastLoss = m.step(i++); // dataSync() inside: the step's work is complete when this returns
    n++;
    t = performance.now();
    best = Math.min(best, t - s);
  }
  const timedSeconds = (t - t0) / 1000;
  const c = process.cpuUsage(c0);
  const tensorsAfter = tf.memory().numTensors;
  if (tensorsAfter !== tensorsBefore) throw new Error(`tensor leak: ${tensorsBefore} -> ${tensorsAfter} tensors`);
  if (!Number.isFinite(lastLoss)) throw new Error(`non-finite loss ${lastLoss}`);
  if (verbose) console.error(`  warmup ${i - n} steps, timed ${n} steps in ${timedSeconds.toFixed(2)} s, loss ${firstLoss.toFixed(4)} -> ${lastLoss.toFixed(4)}`);
  return { timedSteps: n, timedSeconds, bestMsPerStep: best, cpuMsPerStep: (c.user + c.system) / 1000 / n, firstLoss, lastLoss, tensorsAfter };
}

function resolveOpts(opts: PeerOpts) {
  return {
    seconds: opts.seconds ?? 5,
    minSteps: opts.minSteps ?? 1,
    warmupSteps: opts.warmupSteps ?? 3,
    warmupSeconds: opts.warmupSeconds ?? 1,
    backend: opts.backend ?? 'wasm',
    variant: opts.variant ?? 'tuned',
    seed: opts.seed ?? 1234,
    verbose: opts.verbose ?? false,
  } as const;
}

// ---------------------------------------------------------------------------------------------
// MLP 784-256-10

const MLP = { inDim: 784, hidden: 256, outDim: 10, batch: 64, lr: 1e-3, nBatches: 8 } as const;

function buildMlp(seed: number): StepModel & { vars: tf.Variable[] } {
  const { inDim, hidden, outDim, batch, nBatches } = MLP;
  // He-uniform init for W1 (ReLU), Glorot-uniform for W2, zero biases; seeded.
  const w1 = tf.variable(tf.randomUniform([inDim, hidden], -Math.sqrt(6 / inDim), Math.sqrt(6 / inDim), 'float32', seed + 1), true, 'w1');
  const b1 = tf.variable(tf.zeros([hidden]), true, 'b1');
  const g2 = Math.sqrt(6 / (hidden + outDim));
  const w2 = tf.variable(tf.randomUniform([hidden, outDim], -g2, g2, 'float32', seed + 2), true, 'w2');
  const b2 = tf.variable(tf.zeros([outDim]), true, 'b2');
  const vars = [w1, b1, w2, b2];

  // A few fixed random batches (inputs in [0,1) like MNIST pixels, random labels), cycled.
  const rnd = mulberry32(seed);
  const xs: tf.Tensor2D[] = [];
  const ys: tf.Tensor2D[] = [];
  for (let j = 0; j < nBatches; j++) {
    const x = new Float32Array(batch * inDim);
    for (let k = 0; k < x.length; k++) x[k] = rnd();
    const lab = new Int32Array(batch);
    for (let k = 0; k < batch; k++) lab[k] = Math.floor(rnd() * outDim);
    xs.push(tf.tensor2d(x, [batch, inDim]));
    ys.push(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(lab, 'int32'), outDim), 'float32')) as tf.Tensor2D);
  }

  const opt = tf.train.adam(MLP.lr, 0.9, 0.999, 1e-8);

  return {
    vars,
    step(i: number): number {
      const x = xs[i % nBatches];
      const y = ys[i % nBatches];
      const loss = opt.minimize(() => {
        const h = tf.relu(tf.add(mm(x, w1), b1));
        const logits = tf.add(mm(h, w2), b2);
        const logp = tf.logSoftmax(logits);
        return tf.neg(tf.mean(tf.sum(tf.mul(y, logp), -1))) as tf.Scalar;
      }, true, vars);
      const l = loss!.dataSync()[0];
      loss!.dispose();
      return l;
    },
    dispose() {
      opt.dispose();
      tf.dispose([...vars, ...xs, ...ys]);
    },
  };
}

function mlpGflopPerStep(): number {
  const { inDim, hidden, outDim, batch } = MLP;
  return (3 * 2 * batch * (inDim * hidden + hidden * outDim)) / 1e9;
}

export async function tfjsMlpDetail(opts: PeerOpts = {}): Promise<PeerDetail> {
  const o = resolveOpts(opts);
  const be = await useBackend(o.backend);
  setVariant(o.variant);
  const m = buildMlp(o.seed);
  const params = countParams(m.vars);
  if (o.verbose) console.error(`tfjs MLP 784-256-10 on ${be.backend}/${o.variant} (threads ${be.threads}), ${params} params`);
  let tm: Timing;
  try {
    tm = timeSteps(m, o, o.verbose);
  } finally {
    m.dispose();
  }
  const stepsPerSec = tm.timedSteps / tm.timedSeconds;
  const gf = mlpGflopPerStep();
  return {
    model: 'mlp', variant: o.variant, stepsPerSec, backend: be.backend, threads: be.threads, peakRssMB: peakRssMB(),
    params, ...tm, msPerStep: 1000 / stepsPerSec, gflopPerStep: gf, achievedGflops: gf * stepsPerSec,
    simd: be.simd, wasmBinary: be.wasmBinary, node: process.version,
  };
}

export async function tfjsMlpStepsPerSec(opts: { seconds?: number; backend?: PeerBackend; variant?: PeerVariant } = {}): Promise<PeerResult> {
  const d = await tfjsMlpDetail(opts);
  return { stepsPerSec: d.stepsPerSec, backend: d.backend, threads: d.threads, peakRssMB: d.peakRssMB };
}

// ---------------------------------------------------------------------------------------------
// Char-level GPT

const GPT = {
  nLayer: 2, dModel: 128, nHead: 4, ctx: 64, batch: 16, vocab: 65,
  lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, lnEps: 1e-5, initStd: 0.02,
  nBatches: 8,
} as const;

interface GptBlock {
  ln1g: tf.Variable; ln1b: tf.Variable;
  wq: tf.Variable; bq: tf.Variable;
  wk: tf.Variable; bk: tf.Variable;
  wv: tf.Variable; bv: tf.Variable;
  wo: tf.Variable; bo: tf.Variable;
  ln2g: tf.Variable; ln2b: tf.Variable;
  wfc: tf.Variable; bfc: tf.Variable;
  wproj: tf.Variable; bproj: tf.Variable;
}

function layerNorm(x: tf.Tensor2D, g: tf.Variable, b: tf.Variable, eps: number): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), g), b) as tf.Tensor2D;
}

function gelu(x: tf.Tensor): tf.Tensor {
  // tanh approximation (as in GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  const c = Math.sqrt(2 / Math.PI);
  if (currentVariant === 'stock') {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  }
  // Same function, written with the kernels that are fast on tfjs-wasm: x·x·x instead of
  // pow(x, 3) (~12× faster), and 0.5·(1 + tanh(z)) = sigmoid(2z) (~7× faster than Tanh).
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 2 * c);
  return tf.mul(x, tf.sigmoid(inner));
}

function buildGpt(seed: number): StepModel & { vars: tf.Variable[] } {
  const { nLayer, dModel: d, nHead, ctx: T, batch: B, vocab: V, initStd, nBatches } = GPT;
  const hd = d / nHead;
  let s = seed;
  const normal = (shape: number[], name: string, std: number = initStd) =>
    tf.variable(tf.randomNormal(shape, 0, std, 'float32', ++s), true, name);
  const zeros = (shape: number[], name: string) => tf.variable(tf.zeros(shape), true, name);
  const ones = (shape: number[], name: string) => tf.variable(tf.ones(shape), true, name);

  const wte = normal([V, d], 'wte');
  const wpe = normal([T, d], 'wpe');
  const blocks: GptBlock[] = [];
  const projStd = initStd / Math.sqrt(2 * nLayer); // GPT-2 scaled init of residual projections
  for (let l = 0; l < nLayer; l++) {
    blocks.push({
      ln1g: ones([d], `h${l}.ln1.g`), ln1b: zeros([d], `h${l}.ln1.b`),
      wq: normal([d, d], `h${l}.attn.wq`), bq: zeros([d], `h${l}.attn.bq`),
      wk: normal([d, d], `h${l}.attn.wk`), bk: zeros([d], `h${l}.attn.bk`),
      wv: normal([d, d], `h${l}.attn.wv`), bv: zeros([d], `h${l}.attn.bv`),
      wo: normal([d, d], `h${l}.attn.wo`, projStd), bo: zeros([d], `h${l}.attn.bo`),
      ln2g: ones([d], `h${l}.ln2.g`), ln2b: zeros([d], `h${l}.ln2.b`),
      wfc: normal([d, 4 * d], `h${l}.mlp.wfc`), bfc: zeros([4 * d], `h${l}.mlp.bfc`),
      wproj: normal([4 * d, d], `h${l}.mlp.wproj`, projStd), bproj: zeros([d], `h${l}.mlp.bproj`),
    });
  }
  const lnfg = ones([d], 'lnf.g');
  const lnfb = zeros([d], 'lnf.b');
  const whead = normal([d, V], 'head.w');
  const bhead = zeros([V], 'head.b');
  const vars: tf.Variable[] = [wte, wpe];
  for (const b of blocks) vars.push(b.ln1g, b.ln1b, b.wq, b.bq, b.wk, b.bk, b.wv, b.bv, b.wo, b.bo, b.ln2g, b.ln2b, b.wfc, b.bfc, b.wproj, b.bproj);
  vars.push(lnfg, lnfb, whead, bhead);
  // AdamW: decoupled weight decay on matrices (embeddings and linear weights), not on biases/LN.
  const decayed = vars.filter((v) => v.rank === 2);

  // Causal mask: 0 on and below the diagonal, -1e9 above; broadcast over (batch·head).
  const maskData = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskData[i * T + j] = -1e9;
  const mask = tf.tensor2d(maskData, [T, T]);

  // Fixed random token batches: inputs are one-hot [B·T, V] (embedding lookup as a matmul, see
  // README: the wasm backend has no UnsortedSegmentSum, so tf.gather cannot be differentiated),
  // targets one-hot [B·T, V] of the next token.
  const rnd = mulberry32(seed);
  const xs: tf.Tensor2D[] = [];
  const ys: tf.Tensor2D[] = [];
  for (let j = 0; j < nBatches; j++) {
    const seq = new Int32Array(B * (T + 1));
    for (let k = 0; k < seq.length; k++) seq[k] = Math.floor(rnd() * V);
    const inp = new Int32Array(B * T);
    const tgt = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      inp[b * T + t] = seq[b * (T + 1) + t];
      tgt[b * T + t] = seq[b * (T + 1) + t + 1];
    }
    xs.push(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(inp, 'int32'), V), 'float32')) as tf.Tensor2D);
    ys.push(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(tgt, 'int32'), V), 'float32')) as tf.Tensor2D);
  }

  const scale = 1 / Math.sqrt(hd);
  const splitHeads = (t: tf.Tensor2D) => // [B·T, d] -> [B·H, T, hd]
    tf.reshape(tf.transpose(tf.reshape(t, [B, T, nHead, hd]), [0, 2, 1, 3]), [B * nHead, T, hd]) as tf.Tensor3D;

  const forwardLoss = (x1h: tf.Tensor2D, y1h: tf.Tensor2D): tf.Scalar => {
    // Embeddings: token (one-hot matmul) + learned position, residual stream kept as [B·T, d].
    const tok = tf.reshape(mm(x1h, wte), [B, T, d]);
    let h = tf.reshape(tf.add(tok, wpe), [B * T, d]) as tf.Tensor2D;
    for (const blk of blocks) {
      // Causal self-attention.
      const a = layerNorm(h, blk.ln1g, blk.ln1b, GPT.lnEps);
      // Separate q/k/v projections (same parameters as one fused [d, 3d] matrix; on tfjs-wasm
      // tf.split of the fused output costs more than the three matmuls).
      const q = tf.add(mm(a, blk.wq), blk.bq) as tf.Tensor2D;
      const k = tf.add(mm(a, blk.wk), blk.bk) as tf.Tensor2D;
      const v = tf.add(mm(a, blk.wv), blk.bv) as tf.Tensor2D;
      const att = tf.add(tf.mul(mm(splitHeads(q), splitHeads(k), false, true), scale), mask);
      const p = tf.softmax(att, -1);
      const o = mm(p, splitHeads(v)); // [B·H, T, hd]
      const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, nHead, T, hd]), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
      h = tf.add(h, tf.add(mm(merged, blk.wo), blk.bo)) as tf.Tensor2D;
      // MLP.
      const m = layerNorm(h, blk.ln2g, blk.ln2b, GPT.lnEps);
      const f = gelu(tf.add(mm(m, blk.wfc), blk.bfc)) as tf.Tensor2D;
      h = tf.add(h, tf.add(mm(f, blk.wproj), blk.bproj)) as tf.Tensor2D;
    }
    const hf = layerNorm(h, lnfg, lnfb, GPT.lnEps);
    const logits = tf.add(mm(hf, whead), bhead);
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(y1h, logp), -1))) as tf.Scalar;
  };

  const opt = tf.train.adam(GPT.lr, GPT.beta1, GPT.beta2, GPT.eps);
  const decayFactor = 1 - GPT.lr * GPT.weightDecay;

  return {
    vars,
    step(i: number): number {
      const x = xs[i % nBatches];
      const y = ys[i % nBatches];
      const { value, grads } = tf.variableGrads(() => forwardLoss(x, y), vars);
      // AdamW (as torch.optim.AdamW): p ← p·(1 − lr·wd), then the Adam update.
      tf.tidy(() => {
        for (const v of decayed) v.assign(tf.mul(v, decayFactor));
      });
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      const l = value.dataSync()[0];
      value.dispose();
      tf.dispose(Object.values(grads));
      return l;
    },
    dispose() {
      opt.dispose();
      tf.dispose([...vars, ...xs, ...ys, mask]);
    },
  };
}

function gptGflopPerStep(): number {
  const { nLayer, dModel: d, ctx: T, batch: B, vocab: V } = GPT;
  const N = B * T;
  let f = 2 * N * V * d; // one-hot embedding matmul
  f += nLayer * (3 * 2 * N * d * d + 2 * N * d * d + 2 * N * d * 4 * d * 2); // qkv, out proj, MLP
  f += nLayer * 2 * (2 * B * T * T * d); // QK^T and PV (full T×T, as computed)
  f += 2 * N * d * V; // head
  return (3 * f) / 1e9;
}

export async function tfjsGptDetail(opts: PeerOpts = {}): Promise<PeerDetail> {
  const o = resolveOpts(opts);
  const be = await useBackend(o.backend);
  setVariant(o.variant);
  const m = buildGpt(o.seed);
  const params = countParams(m.vars);
  if (o.verbose) console.error(`tfjs GPT (2L, d128, 4H, ctx64, B16, V65) on ${be.backend}/${o.variant} (threads ${be.threads}), ${params} params`);
  let tm: Timing;
  try {
    tm = timeSteps(m, { ...o, warmupSteps: opts.warmupSteps ?? 1 }, o.verbose);
  } finally {
    m.dispose();
  }
  const stepsPerSec = tm.timedSteps / tm.timedSeconds;
  const gf = gptGflopPerStep();
  return {
    model: 'gpt', variant: o.variant, stepsPerSec, backend: be.backend, threads: be.threads, peakRssMB: peakRssMB(),
    params, ...tm, msPerStep: 1000 / stepsPerSec, gflopPerStep: gf, achievedGflops: gf * stepsPerSec,
    simd: be.simd, wasmBinary: be.wasmBinary, node: process.version,
  };
}

export async function tfjsGptStepsPerSec(opts: { seconds?: number; backend?: PeerBackend; variant?: PeerVariant } = {}): Promise<PeerResult> {
  const d = await tfjsGptDetail(opts);
  return { stepsPerSec: d.stepsPerSec, backend: d.backend, threads: d.threads, peakRssMB: d.peakRssMB };
}

/**
 * Loss after each of `steps` training steps from the fixed seed (no timing). Used to check that
 * the variants train the same model, and whether a backend is run-to-run reproducible.
 */
export async function tfjsLossTrajectory(model: 'mlp' | 'gpt', steps: number, opts: PeerOpts = {}): Promise<{ losses: number[]; paramsHash: string }> {
  const o = resolveOpts(opts);
  await useBackend(o.backend);
  setVariant(o.variant);
  const m = model === 'mlp' ? buildMlp(o.seed) : buildGpt(o.seed);
  try {
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push(m.step(i));
    const h = createHash('sha256');
    for (const v of m.vars) h.update(v.dataSync() as Float32Array);
    return { losses, paramsHash: h.digest('hex').slice(0, 16) };
  } finally {
    m.dispose();
  }
}

/** Parameter count of the GPT peer model (built on the current backend, then disposed). */
export function tfjsGptParamCount(): number {
  const m = buildGpt(1);
  const n = countParams(m.vars);
  m.dispose();
  return n;
}

// ---------------------------------------------------------------------------------------------
// CLI

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

type Row = { model: 'mlp' | 'gpt'; backend: PeerBackend; variant: PeerVariant };

async function runOne(r: Row, seconds: number, verbose: boolean): Promise<PeerDetail> {
  const o = { backend: r.backend, variant: r.variant, seconds, verbose };
  return r.model === 'mlp' ? tfjsMlpDetail(o) : tfjsGptDetail(o);
}

function listArg<T extends string>(args: string[], name: string, all: readonly T[], dflt: readonly T[]): T[] {
  const v = argValue(args, name);
  if (v == null) return [...dflt];
  if (v === 'all') return [...all];
  const xs = v.split(',') as T[];
  for (const x of xs) if (!all.includes(x)) throw new Error(`${name}: unknown value '${x}' (expected ${all.join('|')}|all)`);
  return xs;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const seconds = Number(argValue(args, '--seconds') ?? 5);
  const models = listArg(args, '--model', ['mlp', 'gpt'] as const, ['mlp', 'gpt']);
  const backends = listArg(args, '--backend', ['wasm', 'cpu'] as const, ['wasm', 'cpu']);
  const variants = listArg(args, '--variant', ['tuned', 'stock'] as const, ['tuned', 'stock']);
  const rowsToRun: Row[] = [];
  for (const model of models) for (const backend of backends) for (const variant of variants) {
    // On the cpu backend transposed matmuls are not a slow path: one variant (tuned) is enough
    // unless asked for explicitly.
    if (backend === 'cpu' && variant === 'stock' && argValue(args, '--variant') == null) continue;
    rowsToRun.push({ model, backend, variant });
  }

  // --check: same model, same seed, a few steps: do the variants and backends agree, and does
  // a repeated run give the same bits?
  if (args.includes('--check')) {
    const steps = Number(argValue(args, '--steps') ?? 5);
    const out: Record<string, { losses: number[]; paramsHash: string }> = {};
    for (const model of models) for (const backend of backends) for (const variant of variants) {
      for (const rep of [1, 2]) {
        const r = await tfjsLossTrajectory(model, steps, { backend, variant });
        out[`${model}/${backend}/${variant}#${rep}`] = r;
        if (!json) console.log(`${model} ${backend} ${variant} run${rep}  params ${r.paramsHash}  losses ${r.losses.map((l) => l.toPrecision(9)).join(' ')}`);
      }
    }
    if (json) console.log(JSON.stringify(out));
    return;
  }

  // --profile: tfjs's per-kernel timings (tf.profile) for a few steps of the first row.
  if (args.includes('--profile')) {
    const row = rowsToRun[0];
    const steps = Number(argValue(args, '--steps') ?? 3);
    const f = row.model === 'mlp' ? tfjsMlpDetail : tfjsGptDetail;
    const o = { backend: row.backend, variant: row.variant, seconds: 0, minSteps: steps, warmupSeconds: 0 };
    await f({ ...o, warmupSteps: 1 });
    let d: PeerDetail | undefined;
    const p = await tf.profile(async () => {
      d = await f({ ...o, warmupSteps: 1 }); // 1 warmup step (creates Adam's moments) + `steps` timed
      return tf.scalar(0);
    });
    const agg = new Map<string, { n: number; ms: number }>();
    for (const k of p.kernels) {
      const key = k.name === 'BatchMatMul' ? `BatchMatMul ${JSON.stringify(k.inputShapes)}` : k.name;
      const a = agg.get(key) ?? { n: 0, ms: 0 };
      a.n++;
      a.ms += Number(k.kernelTimeMs);
      agg.set(key, a);
    }
    const n = steps + 1;
    const tot = [...agg.values()].reduce((x, v) => x + v.ms, 0);
    console.log(`${row.model}/${row.backend}/${row.variant}: kernels ${(tot / n).toFixed(1)} ms/step of ${d!.msPerStep.toFixed(1)} ms/step measured (profiling adds overhead)`);
    for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
      console.log(`${(v.ms / n).toFixed(2).padStart(9)} ms  ×${(v.n / n).toFixed(0).padEnd(4)} ${k}`);
    }
    return;
  }

  // --child: measure exactly one row in this process and print its JSON (used by the parent).
  if (args.includes('--child')) {
    const d = await runOne(rowsToRun[0], seconds, true);
    console.log(JSON.stringify(d));
    return;
  }

  const inProcess = args.includes('--in-process');
  const results: PeerDetail[] = [];
  for (const row of rowsToRun) {
    {
      const { model: m, backend: b, variant: v } = row;
      if (inProcess) {
        results.push(await runOne(row, seconds, !json));
      } else {
        const self = fileURLToPath(import.meta.url);
        const r = spawnSync(process.execPath, [self, '--child', '--model', m, '--backend', b, '--variant', v, '--seconds', String(seconds)], {
          encoding: 'utf8', stdio: ['ignore', 'pipe', json ? 'pipe' : 'inherit'], maxBuffer: 1 << 24,
        });
        if (r.status !== 0) throw new Error(`child ${m}/${b}/${v} failed (${r.status}): ${r.stderr ?? ''}`);
        const last = r.stdout.trim().split('\n').pop()!;
        results.push(JSON.parse(last) as PeerDetail);
      }
    }
  }

  if (!json) {
    const rows = results.map((r) => [
      r.model, r.backend, r.variant, String(r.threads), r.simd ? 'yes' : 'no', String(r.params),
      r.stepsPerSec.toFixed(r.stepsPerSec < 10 ? 2 : 1), r.msPerStep.toFixed(1),
      r.achievedGflops.toFixed(1), r.peakRssMB.toFixed(0), `${r.firstLoss.toFixed(3)}→${r.lastLoss.toFixed(3)}`,
    ]);
    const head = ['model', 'backend', 'variant', 'threads', 'simd', 'params', 'steps/s', 'ms/step', 'GFLOP/s', 'peakRSS MB', 'loss'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (c: string[]) => c.map((x, i) => x.padStart(w[i])).join('  ');
    console.log(`tfjs-core ${tf.version_core}, ${process.version}, ${inProcess ? 'one process' : 'one process per row'}, ~${seconds} s per row, load average ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  }
  const out = {
    peer: 'tfjs', tfjsVersion: tf.version_core, node: process.version, seconds,
    cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', loadavg1: loadavg()[0],
    results: results.map((r) => ({ ...r })),
  };
  if (json) console.log(JSON.stringify(out));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
