// binary32 tensors and tape-based reverse-mode autograd.
//
// A Tensor is an immutable row-major Float32Array plus a shape. Ops (ops.ts) create new tensors;
// when an input needs a gradient they record a backward closure. `backward()` walks the graph in
// one deterministic order (reverse of a depth-first topological order that follows inputs in
// argument order), so gradient accumulation order depends only on the program, never on timing.
import { NumericError, ShapeError } from '../errors.ts';
import { getBackend } from './kernels/current.ts';
import { traceOp, tracing, type Attrs, type TraceValue } from './trace.ts';

export type Shape = readonly number[];

export interface GradFn {
  op: string;
  inputs: Tensor[];
  /** Gradients for each input (null where an input needs none), computed from the output's gradient. */
  backward: (g: Tensor) => (Tensor | null)[];
  /**
   * A fused composite (makeFused): given the gradient each input already holds (null if none),
   * the gradient each input holds afterwards, accumulated exactly as autograd accumulates it
   * through the composite's primitives.
   */
  accumulate?: Accumulate;
}

export type Accumulate = (g: Tensor, prev: readonly (Tensor | null)[]) => (Tensor | null)[];

let gradEnabled = true;
let checkFinite = false;
let opCounter = 0;
let arenaDepth = 0;

/**
 * Run fn with the data of every tensor it creates in the backend's temporary arena (a training
 * step): no garbage, and the same memory again next time. Nothing made inside may be used after
 * fn returns (return plain numbers, or copy).
 */
export function withArena<T>(fn: () => T): T {
  const be = getBackend();
  const mark = be.mark();
  arenaDepth++;
  try {
    return fn();
  } finally {
    arenaDepth--;
    be.release(mark);
  }
}

/** Storage for an op's result: arena memory inside withArena, else a fresh array. Zeroed only when asked. */
export function newData(n: number, zero = false): Float32Array {
  return arenaDepth > 0 ? getBackend().temp(n, zero) : new Float32Array(n);
}

/** Fused composites may replace their primitives only when nothing observes the primitives. */
export function fusionAllowed(): boolean {
  return !tracing && !checkFinite;
}

/** Run fn without recording the graph (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * With checking on, every op output is scanned for NaN/Inf and the first bad op throws a
 * NumericError naming the op and its index in this pass. Training turns it on only to replay a
 * step that went non-finite, so the happy path pays nothing.
 */
export function withFiniteChecks<T>(fn: () => T): T {
  const prev = checkFinite;
  checkFinite = true;
  opCounter = 0;
  try {
    return fn();
  } finally {
    checkFinite = prev;
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export class Tensor {
  readonly shape: Shape;
  // Only relocate() replaces it, and only with a copy of the same values.
  #data: Float32Array;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;
  /** Optional name (parameters), used in error messages and checkpoints. */
  name: string | undefined;

  constructor(data: Float32Array, shape: Shape, requiresGrad = false) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`bad dimension ${d} in shape [${shape}]`);
    }
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`data length ${data.length} does not match shape [${shape}]`);
    }
    this.#data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  get data(): Float32Array {
    return this.#data;
  }

  /** Copies the values into `storage` (same length) and keeps them there from now on. */
  relocate(storage: Float32Array): void {
    if (storage.length !== this.#data.length) throw new ShapeError(`relocate: length ${storage.length}, tensor has ${this.#data.length}`);
    storage.set(this.#data);
    this.#data = storage;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  item(): number {
    if (this.size !== 1) throw new ShapeError(`item() needs a 1-element tensor, got shape [${this.shape}]`);
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Same data, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  /** Compute gradients of this scalar with respect to every tensor that requires them. */
  backward(seed?: Tensor): void {
    if (!seed && this.size !== 1) throw new ShapeError('backward() without a seed needs a scalar');
    const order = topoOrder(this);
    const grads = new Map<Tensor, Tensor>();
    const start = seed ?? new Tensor(new Float32Array([1]), this.shape);
    if (!seed && tracing) traceOp('const', { value: 1 }, [], start);
    grads.set(this, start);
    // How many tensors were handed each gradient array (backward functions pass one on unchanged:
    // add to both inputs, reshape). A leaf handed an array no other tensor holds keeps it: nothing
    // can write into it afterwards (accumulations only write into arrays their inputs hold).
    const holders = new Map<Float32Array, number>([[start.data, 2]]); // the seed is the caller's
    const hand = (x: Tensor, gi: Tensor): void => {
      grads.set(x, gi);
      holders.set(gi.data, (holders.get(gi.data) ?? 0) + 1);
    };
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      if (!t.gradFn) {
        // A leaf gets its own buffer unless `g` is its alone: optimizers and clipping update .grad
        // in place. A traced step always copies (the trace's op sequence is the dispute's).
        if (t.requiresGrad) {
          if (t.grad) t.grad = addInto(t.grad, g);
          else t.grad = !tracing && holders.get(g.data) === 1 ? new Tensor(g.data, t.shape) : leafCopy(g, t.shape);
        }
        continue;
      }
      const ins = t.gradFn.inputs;
      if (t.gradFn.accumulate) {
        const acc = t.gradFn.accumulate(g, ins.map((x) => (x.requiresGrad ? grads.get(x) ?? null : null)));
        for (let k = 0; k < ins.length; k++) {
          const a = acc[k];
          if (!a || !ins[k].requiresGrad) continue;
          if (a.size !== ins[k].size) throw new ShapeError(`${t.gradFn.op}: gradient shape [${a.shape}] for input [${ins[k].shape}]`);
          if (grads.get(ins[k]) === a) continue; // accumulated in place: the same holder
          hand(ins[k], a);
        }
        grads.delete(t);
        continue;
      }
      const gs = t.gradFn.backward(g);
      for (let k = 0; k < ins.length; k++) {
        const gi = gs[k];
        if (!gi || !ins[k].requiresGrad) continue;
        if (gi.size !== ins[k].size) {
          throw new ShapeError(`${t.gradFn.op}: gradient shape [${gi.shape}] for input [${ins[k].shape}]`);
        }
        const prev = grads.get(ins[k]);
        if (prev) grads.set(ins[k], addInto(prev, gi)); // a fresh array
        else hand(ins[k], gi);
      }
      grads.delete(t);
    }
  }
}

// Gradient accumulation is a + in a fixed order (the order of the walk above).
function addInto(a: Tensor, b: Tensor): Tensor {
  const out = newData(a.size);
  const all = { mid: a.size, inner: 1 };
  getBackend().binary('add', a.data, all, b.data, all, out);
  const r = new Tensor(out, a.shape);
  if (tracing) traceOp('add', undefined, [a, b], r);
  return r;
}

function leafCopy(g: Tensor, shape: Shape): Tensor {
  const d = newData(g.size);
  d.set(g.data);
  const r = new Tensor(d, shape);
  if (tracing) traceOp('copy', undefined, [g], r);
  return r;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (graphs of deep models overflow the call stack otherwise).
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, next] = top;
    const ins = t.gradFn ? t.gradFn.inputs : [];
    if (next < ins.length) {
      top[1] = next + 1;
      const c = ins[next];
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Wrap an op's output: record the graph if any input needs a gradient, report it to the op
 * observer (trace.ts: `attrs`, and `traced` where the op reads more than its graph inputs), and
 * check for NaN/Inf when checking is on.
 */
export function makeResult(
  op: string,
  data: Float32Array,
  shape: Shape,
  inputs: Tensor[],
  backward: (g: Tensor) => (Tensor | null)[],
  attrs?: Attrs,
  traced?: readonly TraceValue[],
): Tensor {
  const needs = gradEnabled && inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, shape, needs);
  if (needs) out.gradFn = { op, inputs, backward };
  if (tracing) traceOp(op, attrs, traced ?? inputs, out);
  if (checkFinite) {
    opCounter++;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v !== v || v === Infinity || v === -Infinity) {
        const ins = inputs.map((t) => `[${t.shape}]${t.name ? ` (${t.name})` : ''}`).join(', ');
        throw new NumericError(`${op} produced ${v} at element ${i} (op #${opCounter} of the pass)`, {
          details: `op ${op} with inputs ${ins} -> output [${shape}]`,
          hint: 'lower the learning rate, enable gradient clipping, or check the data for extreme values',
        });
      }
    }
  }
  return out;
}

/**
 * The result of a fused composite (nn.ts): one graph node whose `accumulate` adds its inputs'
 * gradients exactly as autograd would through the primitives it replaces. Never traced: fused
 * composites run only when fusionAllowed().
 */
export function makeFused(op: string, data: Float32Array, shape: Shape, inputs: Tensor[], accumulate: Accumulate): Tensor {
  const needs = gradEnabled && inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, shape, needs);
  if (needs) out.gradFn = { op, inputs, backward: (g) => accumulate(g, inputs.map(() => null)), accumulate };
  return out;
}

export function tensor(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return new Tensor(data, shape ?? [data.length], requiresGrad);
}

export function zeros(shape: Shape): Tensor {
  return new Tensor(new Float32Array(sizeOf(shape)), shape);
}

export function full(shape: Shape, value: number): Tensor {
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

export function scalar(value: number): Tensor {
  return new Tensor(new Float32Array([value]), []);
}

/** A trainable parameter: named, requires a gradient. */
export function parameter(name: string, data: Float32Array, shape: Shape): Tensor {
  const t = new Tensor(data, shape, true);
  t.name = name;
  return t;
}
