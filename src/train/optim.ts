// Optimizers, gradient clipping and the learning-rate schedule. Every update is a per-element
// scalar program in binary32 (written beside each), applied in place to the parameters.
import { Tensor } from '../engine/tensor.ts';
import type { AdamwConstants, SgdConstants } from '../engine/kernels/backend.ts';
import { getBackend } from '../engine/kernels/current.ts';
import { traceInput, traceOp, tracing } from '../engine/trace.ts';

const f = Math.fround;

export type OptimizerConfig =
  | { type: 'sgd'; lr: number; momentum: number; weightDecay: number }
  | { type: 'adamw'; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };

export interface ScheduleConfig {
  warmupSteps: number;
  decay: 'none' | 'cosine';
  minLrRatio: number;
}

/** Optimizer state: named buffers (checkpointed as tensors) and a step counter. */
export interface OptimizerState {
  t: number;
  buffers: Record<string, Float32Array>;
}

export interface Optimizer {
  readonly state: OptimizerState;
  step(params: Tensor[], lr: number): void;
}

export function createOptimizer(cfg: OptimizerConfig, params: Tensor[]): Optimizer {
  const buffers: Record<string, Float32Array> = {};
  const names = cfg.type === 'sgd' ? ['momentum'] : ['m', 'v'];
  const alloc = getBackend().alloc;
  for (const p of params) {
    p.relocate(alloc(p.size)); // parameters and their state live where the update kernel runs in place
    for (const n of names) buffers[`optim.${n}.${p.name}`] = alloc(p.size);
  }
  const state: OptimizerState = { t: 0, buffers };
  return cfg.type === 'sgd' ? sgd(cfg, state) : adamw(cfg, state);
}

/** SGD with momentum (PyTorch form, no dampening); per-element program: SgdConstants in kernels/backend.ts. */
function sgd(cfg: Extract<OptimizerConfig, { type: 'sgd' }>, state: OptimizerState): Optimizer {
  const mu = f(cfg.momentum), wd = f(cfg.weightDecay);
  return {
    state,
    step(params, lrIn) {
      const c: SgdConstants = { mu, wd, lr: f(lrIn), first: state.t === 0 };
      const lr = tracing ? stepInput('step.lr', c.lr) : null;
      const first = tracing ? stepInput('step.first', c.first ? 1 : 0) : null;
      for (const p of params) {
        const buf = state.buffers[`optim.momentum.${p.name}`];
        const bufIn = tracing ? new Tensor(buf, p.shape) : null;
        getBackend().sgd(p.data, p.grad!.data, buf, c);
        if (tracing) {
          const bufOut = new Tensor(buf, p.shape);
          traceOp('sgdBuf', { mu, wd }, [bufIn!, p.grad!, p, first!], bufOut);
          traceOp('sgdW', undefined, [p, bufOut, lr!], new Tensor(p.data, p.shape));
        }
      }
      state.t++;
    },
  };
}

/**
 * AdamW (decoupled weight decay, PyTorch's update order); per-element program: AdamwConstants in
 * kernels/backend.ts, with t counted from 1, b1t = b1^t by repeated binary32 multiplication (no
 * pow), c1 = f32(1-b1), c2 = f32(1-b2), stepSize = f32(lr / f32(1-b1t)), sbc2 = f32(sqrt(f32(1-b2t))),
 * decay = f32(lr·wd).
 */
function adamw(cfg: Extract<OptimizerConfig, { type: 'adamw' }>, state: OptimizerState): Optimizer {
  const b1 = f(cfg.beta1), b2 = f(cfg.beta2), eps = f(cfg.eps), wd = f(cfg.weightDecay);
  const c1 = f(1 - b1), c2 = f(1 - b2);
  return {
    state,
    step(params, lrIn) {
      const t = state.t + 1;
      const c = adamwConstants(cfg, t, lrIn);
      const k = tracing
        ? { stepSize: stepInput('step.stepSize', c.stepSize), sbc2: stepInput('step.sbc2', c.sbc2), decay: stepInput('step.decay', c.decay) }
        : null;
      for (const p of params) {
        const m = state.buffers[`optim.m.${p.name}`], v = state.buffers[`optim.v.${p.name}`];
        const mIn = tracing ? new Tensor(m, p.shape) : null, vIn = tracing ? new Tensor(v, p.shape) : null;
        getBackend().adamw(p.data, p.grad!.data, m, v, c);
        if (k) {
          // Reported after the in-place kernel; the inputs name the values before it (trace.ts).
          const mOut = new Tensor(m, p.shape), vOut = new Tensor(v, p.shape);
          traceOp('adamwM', { b1, c1 }, [mIn!, p.grad!], mOut);
          traceOp('adamwV', { b2, c2 }, [vIn!, p.grad!], vOut);
          traceOp('adamwW', { eps, weightDecay: wd }, [p, mOut, vOut, k.stepSize, k.sbc2, k.decay], new Tensor(p.data, p.shape));
        }
      }
      state.t = t;
    },
  };
}

// β1^t and β2^t as t binary32 multiplications from 1 (p_k = f32(p_{k-1}·β)), never Math.pow.
// The last answer is kept: the next step's powers are one multiplication on from it (the same
// sequence of products, so the same bits), which keeps a pass over all steps (a run, a manifest)
// linear instead of quadratic in t.
let lastPowers = { b1: NaN, b2: NaN, t: 0, b1t: 1, b2t: 1 };
function betaPowers(b1: number, b2: number, t: number): { b1t: number; b2t: number } {
  const c = lastPowers;
  let k = 0, b1t = 1, b2t = 1;
  if (Object.is(c.b1, b1) && Object.is(c.b2, b2) && c.t <= t) ({ t: k, b1t, b2t } = c);
  for (; k < t; k++) {
    b1t = f(b1t * b1);
    b2t = f(b2t * b2);
  }
  lastPowers = { b1, b2, t, b1t, b2t };
  return { b1t, b2t };
}

/**
 * AdamW's binary32 constants of optimizer step t (counted from 1) at learning rate lr: see adamw
 * above. The step-dependent ones (stepSize, sbc2, decay) are the schedule's step constants.
 */
export function adamwConstants(cfg: Extract<OptimizerConfig, { type: 'adamw' }>, t: number, lrIn: number): AdamwConstants {
  const b1 = f(cfg.beta1), b2 = f(cfg.beta2), eps = f(cfg.eps), wd = f(cfg.weightDecay);
  const lr = f(lrIn);
  const { b1t, b2t } = betaPowers(b1, b2, t);
  const stepSize = f(lr / f(1 - b1t));
  const sbc2 = f(Math.sqrt(f(1 - b2t)));
  return { b1, c1: f(1 - b1), b2, c2: f(1 - b2), sbc2, eps, stepSize, decay: f(lr * wd), weightDecay: wd };
}

function stepInput(name: string, value: number): Tensor {
  const t = new Tensor(new Float32Array([value]), []);
  traceInput(name, t);
  return t;
}

function constant(value: number): Tensor {
  const t = new Tensor(new Float32Array([value]), []);
  traceOp('const', { value: t.data[0] }, [], t);
  return t;
}

const CLIP_EPS = f(1e-6);

/**
 * Global-norm clipping (PyTorch's clip_grad_norm_): norm = f32(sqrt(sum of g² over parameters in
 * name order, elements ascending, one binary32 accumulator: acc = f32(acc + f32(g*g)))); scale =
 * norm > f32(maxNorm) ? f32(f32(maxNorm) / f32(norm + f32(1e-6))) : 1, and every gradient is
 * multiplied by scale, always (branch-free, so the op trace of a step does not depend on the data;
 * g·1 is g to the bit). Returns the norm before clipping.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const be = getBackend();
  let acc = 0;
  for (const p of params) acc = be.sumSquares(p.grad!.data, acc);
  const norm = f(Math.sqrt(acc));
  const max = f(maxNorm);
  const clipped = f(max / f(norm + CLIP_EPS));
  const scale = norm > max ? clipped : 1;
  let scaleT: Tensor | null = null;
  if (tracing) {
    const sq = new Tensor(new Float32Array([acc]), []);
    traceOp('sumSquares', undefined, params.map((p) => p.grad!), sq);
    const normT = new Tensor(new Float32Array([norm]), []);
    traceOp('sqrt', undefined, [sq], normT);
    const maxT = constant(max);
    const over = new Tensor(new Float32Array([norm > max ? 1 : 0]), []);
    traceOp('greater', undefined, [normT, maxT], over);
    const epsT = constant(CLIP_EPS);
    const den = new Tensor(new Float32Array([norm + CLIP_EPS]), []);
    traceOp('add', undefined, [normT, epsT], den);
    const q = new Tensor(new Float32Array([clipped]), []);
    traceOp('div', undefined, [maxT, den], q);
    const one = constant(1);
    scaleT = new Tensor(new Float32Array([scale]), []);
    traceOp('select', undefined, [over, q, one], scaleT);
  }
  // g·1 is g to the bit (the gradients are finite here): unobserved, an unclipped step skips it.
  if (scale === 1 && !scaleT) return norm;
  const s = new Float32Array([scale]);
  for (const p of params) {
    const g = p.grad!.data;
    be.binary('mul', g, { mid: g.length, inner: 1 }, s, { mid: 1, inner: 1 }, g);
    if (scaleT) {
      const gIn = p.grad!;
      p.grad = new Tensor(g, p.shape);
      traceOp('mul', undefined, [gIn, scaleT], p.grad);
    }
  }
  return norm;
}

/**
 * Learning rate at `step` (0-based): linear warmup lr·(step+1)/warmup, then constant or cosine
 * decay to lr·minLrRatio over the remaining steps. binary32 throughout; the cosine is cosPi below.
 */
export function learningRate(base: number, s: ScheduleConfig, step: number, totalSteps: number): number {
  const lr = f(base);
  if (step < s.warmupSteps) return f(f(lr * (step + 1)) / s.warmupSteps);
  if (s.decay === 'none') return lr;
  const span = Math.max(1, totalSteps - s.warmupSteps);
  const progress = f(Math.min(step - s.warmupSteps, span) / span);
  const minLr = f(lr * f(s.minLrRatio));
  // minLr + (lr - minLr) · (1 + cos(π·progress)) / 2
  return f(minLr + f(f(lr - minLr) * f(f(1 + cosPi(progress)) * 0.5)));
}

/**
 * cos(π·x) for x in [0, 1] from + - * / only: reflect to [0, 1/2], then the Taylor series of
 * cos(π·y) up to y^12 (error < 1e-7 on [0, 1/2]) evaluated by Horner in binary32.
 */
const COS_PI = [1, -4.934802200544679, 4.058712126416768, -1.3352627688545893, 0.2353306303588932,
  -0.02580689139001406, 0.0019295743094039231].map(f);

export function cosPi(x: number): number {
  const flip = x > 0.5;
  const y = flip ? f(1 - x) : f(x);
  const z = f(y * y);
  // Coefficients of cos(πy) = Σ (-1)^k π^(2k) y^(2k) / (2k)!, rounded to binary32.
  const C = COS_PI;
  let r = C[6];
  for (let k = 5; k >= 0; k--) r = f(f(r * z) + C[k]);
  return flip ? -r : r;
}
