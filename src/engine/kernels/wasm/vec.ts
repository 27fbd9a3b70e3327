// The elementwise WASM kernels (vec.wat.ts): binary and unary ops, reductions, optimizer updates,
// the finiteness scan. Browser-safe: no Node APIs.
//
// Operands that live in the heap's memory (heap.ts) are used in place. A call whose operands do
// not all live there returns false, and the backend runs the reference program instead (same
// bits by definition; this is the path of tests and one-off tensors, not of training).
// Large calls are split over the thread pool by independent outputs (element or row ranges;
// every output element is computed by one thread with its whole canonical program).
import { ShapeError } from '../../../errors.ts';
import type { AdamwConstants, BinaryOp, Broadcast, Im2colGeometry, LayerNormOptions, ReduceOp, SgdConstants, SoftmaxOptions, UnaryOp } from '../backend.ts';
import { CTL, MAX_CHUNKS, type Dispatch } from './kernel.ts';
import type { Heap } from './heap.ts';
import { VEC_WASM_BASE64 } from './vec.wasm.ts';
import { decodeBase64, WebAssemblyApi, type WasmMemory, type WasmModule } from './wasm-api.ts';

const KOP: Record<BinaryOp, string> = { add: 'add', sub: 'sub', mul: 'mul', div: 'div', maximum: 'max', greater: 'gt' };
const PATTERNS = ['vv', 'vs', 'sv', 'row', 'col'] as const;

/** Every kernel a thread may be handed, by index (the job names its index). */
export const VEC_FUNCS: readonly string[] = [
  ...Object.values(KOP).flatMap((o) => PATTERNS.map((p) => `${o}_${p}`)),
  'neg', 'sqrt', 'exp', 'log', 'tanh', 'sum_rows', 'max_rows', 'sum_axis', 'max_axis', 'adamw', 'sgd',
  'gelu', 'gelu_t', 'gelu_bwd', 'gelu_bwd_acc', 'gelu_bwd_t', 'gelu_bwd_t_acc', 'softmax_exp', 'softmax_t', 'softmax_gx',
  'sum_axis_mul', 'ln_a', 'ln_b', 'lnb_a', 'lnb_b', 'gather_strided', 'gather_rows', 'scatter_add_rows', 'im2col_rows', 'col2im_ch',
];
const FI = new Map(VEC_FUNCS.map((n, i) => [n, i]));

type KernelFn = (...args: number[]) => number;

export function compileVec(): WasmModule {
  return new WebAssemblyApi.Module(decodeBase64(VEC_WASM_BASE64));
}

interface VecInstance {
  table: KernelFn[];
  exports: Record<string, KernelFn>;
}

export function instantiateVec(module: WasmModule, memory: WasmMemory): VecInstance {
  const exports = new WebAssemblyApi.Instance(module, { env: { memory } }).exports as Record<string, KernelFn>;
  return { exports, table: VEC_FUNCS.map((n) => exports[n]) };
}

/** Thread t's share of `units` cut into blocks of `align`: [u0, u1). */
function share(units: number, align: number, t: number, T: number): [number, number] {
  const blocks = Math.ceil(units / align);
  return [Math.min(units, Math.floor((t * blocks) / T) * align), Math.min(units, Math.floor(((t + 1) * blocks) / T) * align)];
}

// The job in the control block: words VJOB.. and float64 arguments at byte VARGS.
const VJOB = 26; // fn, nargs, units, align, chunks (after the matmul job's words 8..24)
export const VARGS_BYTE = 128;
const MAX_ARGS = 14;

/** Chunk t of the vec job in the control block (its chunk count is word VJOB + 4). */
export function runVecShare(inst: VecInstance, ctl: Int32Array, args: Float64Array, t: number): void {
  const fnIndex = ctl[VJOB], nargs = ctl[VJOB + 1], units = ctl[VJOB + 2], align = ctl[VJOB + 3], T = ctl[VJOB + 4];
  const [u0, u1] = share(units, align, t, T);
  if (u0 >= u1) return;
  callKernel(inst.table[fnIndex], args, nargs, u0, u1);
}

function callKernel(f: KernelFn, a: ArrayLike<number>, n: number, u0: number, u1: number): number {
  switch (n) {
    case 2: return f(a[0], a[1], u0, u1);
    case 3: return f(a[0], a[1], a[2], u0, u1);
    case 4: return f(a[0], a[1], a[2], a[3], u0, u1);
    case 5: return f(a[0], a[1], a[2], a[3], a[4], u0, u1);
    default: return f(...Array.from(a).slice(0, n), u0, u1);
  }
}

/** Tuning knobs: speed only, never results. */
export interface VecTuning {
  /** Below this much work (element-ops, transcendentals weighted) a call runs on the calling thread alone. */
  parallelMinWork: number;
  /** Chunks per thread a parallel call is cut into. */
  chunksPerThread: number;
}
export const DEFAULT_VEC_TUNING: VecTuning = { parallelMinWork: 48 * 1024, chunksPerThread: 4 };

const UNARY_WEIGHT: Record<UnaryOp, number> = { neg: 1, sqrt: 2, exp: 6, log: 6, tanh: 8 };

export interface VecKernels {
  /** False when an operand is not in kernel memory (the caller runs the reference program). The
   * optimizer kernels and the scan copy such operands in and out instead. */
  binary(op: BinaryOp, a: Float32Array, ba: Broadcast, b: Float32Array, bb: Broadcast, out: Float32Array): boolean;
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): boolean;
  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, L: number, inner: number): boolean;
  gatherStrided(x: Float32Array, out: Float32Array, shape: readonly number[], strides: readonly number[]): boolean;
  gatherRows(table: Float32Array, indices: Int32Array, row: number, out: Float32Array): boolean;
  scatterAddRows(g: Float32Array, indices: Int32Array, row: number, out: Float32Array): boolean;
  im2col(x: Float32Array, geo: Im2colGeometry, out: Float32Array): boolean;
  col2im(g: Float32Array, geo: Im2colGeometry, out: Float32Array): boolean;
  sumAll(x: Float32Array): number | undefined;
  sumSquares(x: Float32Array, acc: number): number | undefined;
  gelu(x: Float32Array, out: Float32Array, th?: Float32Array | null): boolean;
  geluBackward(x: Float32Array, g: Float32Array, prev: Float32Array | null, out: Float32Array, th?: Float32Array | null): boolean;
  softmax(x: Float32Array, o: SoftmaxOptions, y: Float32Array, e: Float32Array, s: Float32Array): boolean;
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, o: LayerNormOptions, y: Float32Array, mu: Float32Array, sd: Float32Array): boolean;
  layerNormBackward(
    x: Float32Array, gamma: Float32Array, mu: Float32Array, sd: Float32Array, g: Float32Array, o: LayerNormOptions,
    prev: Float32Array | null, out: Float32Array, gGamma: Float32Array, gBeta: Float32Array,
  ): boolean;
  softmaxBackward(g: Float32Array, y: Float32Array, e: Float32Array, s: Float32Array, o: SoftmaxOptions, prev: Float32Array | null, out: Float32Array): boolean;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamwConstants): boolean;
  sgd(w: Float32Array, g: Float32Array, buf: Float32Array, c: SgdConstants): boolean;
  allFinite(x: Float32Array): boolean | undefined;
}

export function createVecKernels(opts: {
  heap: Heap;
  module: WasmModule;
  threads?: number;
  dispatch?: Dispatch;
  tuning?: Partial<VecTuning>;
}): VecKernels {
  const { heap, dispatch } = opts;
  const inst = instantiateVec(opts.module, heap.memory);
  const k = inst.exports;
  const threads = dispatch ? Math.max(1, opts.threads ?? 1) : 1;
  const tuning = { ...DEFAULT_VEC_TUNING, ...opts.tuning };
  const ctl = new Int32Array(heap.memory.buffer, 0, CTL.MSG);
  const args = new Float64Array(heap.memory.buffer, VARGS_BYTE, MAX_ARGS);
  const local = (c: number): void => runVecShare(inst, ctl, args, c);
  const owns = heap.owns;
  const at = (a: Float32Array): number => a.byteOffset;

  /** Runs kernel `name` over [0, units), split over threads when the work is large. */
  function run(name: string, a: number[], units: number, align: number, work: number): void {
    const T = dispatch && work >= tuning.parallelMinWork ? Math.min(threads, Math.ceil(units / align)) : 1;
    const fnIndex = FI.get(name)!;
    if (T <= 1) {
      callKernel(inst.table[fnIndex], a, a.length, 0, units);
      return;
    }
    // A few chunks per thread: a late or busy thread's share is taken by the others.
    const chunks = Math.min(MAX_CHUNKS, Math.ceil(units / align), tuning.chunksPerThread * T);
    ctl[CTL.KIND] = 1;
    ctl[VJOB] = fnIndex;
    ctl[VJOB + 1] = a.length;
    ctl[VJOB + 2] = units;
    ctl[VJOB + 3] = align;
    ctl[VJOB + 4] = chunks;
    for (let i = 0; i < a.length; i++) args[i] = a[i];
    dispatch!(T, chunks, local);
  }

  const full = (b: Broadcast, n: number): boolean => b.mid === n && b.inner === 1;

  /**
   * Runs `body` on copies in kernel memory of the operands that are not there yet, then copies
   * the `outputs` back (the optimizer state lives there; a gradient may not).
   */
  function staged(xs: Float32Array[], outputs: readonly number[], body: (ys: Float32Array[]) => void): void {
    const m = heap.mark();
    try {
      const ys = xs.map((x) => {
        if (owns(x)) return x;
        const y = heap.temp(x.length);
        y.set(x);
        return y;
      });
      body(ys);
      for (const i of outputs) if (ys[i] !== xs[i]) xs[i].set(ys[i]);
    } finally {
      heap.release(m);
    }
  }

  return {
    binary(op, a, ba, b, bb, out) {
      const n = out.length;
      if (n === 0) return true;
      const o = KOP[op];
      if (!owns(out)) return false;
      if (full(ba, n) && owns(a)) {
        if (full(bb, n) && owns(b)) run(`${o}_vv`, [at(a), at(b), at(out)], n, 16, n);
        else if (bb.mid === 1) run(`${o}_vs`, [at(a), b[0], at(out)], n, 16, n);
        else if (!owns(b)) return false;
        else if (bb.inner === 1) run(`${o}_row`, [at(a), at(b), at(out), bb.mid], n / bb.mid, 1, n);
        else run(`${o}_col`, [at(a), at(b), at(out), bb.inner, bb.mid], n / bb.inner, 1, n);
        return true;
      }
      if (ba.mid === 1 && full(bb, n) && owns(b)) {
        run(`${o}_sv`, [at(b), a[0], at(out)], n, 16, n);
        return true;
      }
      return false;
    },
    unary(op, x, out) {
      if (out.length === 0) return true;
      if (!owns(x) || !owns(out)) return false;
      run(op, [at(x), at(out)], out.length, 16, out.length * UNARY_WEIGHT[op]);
      return true;
    },
    reduce(op, x, out, outer, L, inner) {
      if (outer * inner === 0) return true;
      if (!owns(x) || !owns(out)) return false;
      if (L === 0) {
        out.fill(op === 'sum' ? 0 : -Infinity, 0, outer * inner);
        return true;
      }
      if (inner === 1) run(`${op}_rows`, [at(x), at(out), L], outer, 4, outer * L);
      else run(`${op}_axis`, [at(x), at(out), L, inner], outer * inner, 16, outer * L * inner);
      return true;
    },
    gatherStrided(x, out, shape, strides) {
      const n = out.length;
      if (n === 0) return true;
      if (!owns(x) || !owns(out) || shape.length === 0) return false;
      // Merge output axes that are contiguous in x too, then at most 4 outer axes + the inner one.
      const sh: number[] = [], st: number[] = [];
      for (let k = 0; k < shape.length; k++) {
        if (shape[k] === 1) continue;
        const l = sh.length - 1;
        if (l >= 0 && st[l] === strides[k] * shape[k]) { sh[l] *= shape[k]; st[l] = strides[k]; }
        else { sh.push(shape[k]); st.push(strides[k]); }
      }
      if (sh.length === 0) { sh.push(1); st.push(0); }
      if (sh.length > 5) return false;
      const inner = sh.pop()!, is = st.pop()!;
      while (sh.length < 4) { sh.unshift(1); st.unshift(0); }
      // Rows over the first three axes; the fourth and the innermost are copied within a row.
      run('gather_strided', [at(x), at(out), sh[1], sh[2], sh[3], st[0], st[1], st[2], st[3], inner, is], sh[0] * sh[1] * sh[2], 1, n);
      return true;
    },
    gatherRows(table, indices, row, out) {
      const n = indices.length;
      if (n * row === 0) return true;
      if (!owns(table) || !owns(out)) return false;
      const mk = heap.mark();
      try {
        const idx = heap.temp(n);
        new Int32Array(idx.buffer, idx.byteOffset, n).set(indices);
        run('gather_rows', [at(table), at(idx), at(out), row], n, 1, n * row);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    scatterAddRows(g, indices, row, out) {
      const n = indices.length;
      if (n * row === 0) return true;
      if (!owns(g) || !owns(out)) return false;
      const mk = heap.mark();
      try {
        const idx = heap.temp(n);
        new Int32Array(idx.buffer, idx.byteOffset, n).set(indices);
        run('scatter_add_rows', [at(g), at(idx), at(out), row, n], out.length / row, 1, n * row);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    im2col(x, geo, out) {
      const rows = geo.C * geo.kh * geo.kw, P = geo.N * geo.OH * geo.OW;
      if (rows * P === 0) return true;
      if (!owns(x) || !owns(out)) return false;
      const g = [geo.N, geo.C, geo.H, geo.W, geo.kh, geo.kw, geo.stride, geo.pad, geo.OH, geo.OW];
      run('im2col_rows', [at(x), at(out), ...g], rows, 1, 2 * rows * P);
      return true;
    },
    col2im(gr, geo, out) {
      const P = geo.N * geo.OH * geo.OW;
      if (geo.C * P === 0) return true;
      if (!owns(gr) || !owns(out)) return false;
      const g = [geo.N, geo.C, geo.H, geo.W, geo.kh, geo.kw, geo.stride, geo.pad, geo.OH, geo.OW];
      run('col2im_ch', [at(gr), at(out), ...g], geo.C, 1, 2 * geo.C * geo.kh * geo.kw * P);
      return true;
    },
    sumAll(x) {
      if (!owns(x)) return undefined;
      return k.sum_all(at(x), x.length);
    },
    sumSquares(x, acc) {
      if (!owns(x)) return undefined;
      return k.sum_squares(at(x), x.length, acc);
    },
    gelu(x, out, th) {
      if (out.length === 0) return true;
      if (!owns(x) || !owns(out) || (th && !owns(th))) return false;
      if (th) run('gelu_t', [at(x), at(out), at(th)], out.length, 16, 10 * out.length);
      else run('gelu', [at(x), at(out)], out.length, 16, 10 * out.length);
      return true;
    },
    geluBackward(x, g, prev, out, th) {
      if (out.length === 0) return true;
      if (!owns(x) || !owns(g) || !owns(out) || (prev && !owns(prev)) || (th && !owns(th))) return false;
      const n = out.length;
      const a = [at(x), at(g), ...(th ? [at(th)] : []), ...(prev ? [at(prev)] : []), at(out)];
      run(`gelu_bwd${th ? '_t' : ''}${prev ? '_acc' : ''}`, a, n, 16, (th ? 4 : 14) * n);
      return true;
    },
    softmax(x, o, y, e, s) {
      const { rows, L } = o;
      if (rows * L === 0) return false;
      if (!owns(x) || !owns(y) || !owns(e) || !owns(s)) return false;
      const mk = heap.mark();
      try {
        let mask = 0;
        if (o.mask) {
          const m = owns(o.mask) ? o.mask : heap.temp(o.mask.length);
          if (m !== o.mask) m.set(o.mask);
          mask = at(m);
        }
        const flags = (o.scale !== null ? 1 : 0) | (o.mask ? 2 : 0);
        run('softmax_exp', [at(x), mask, at(e), L, o.maskRows, o.scale ?? 1, flags], rows, 1, 8 * rows * L);
        run('sum_rows', [at(e), at(s), L], rows, 4, rows * L);
        run('div_col', [at(e), at(s), at(y), L, rows], rows, 1, rows * L);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    layerNorm(x, gamma, beta, o, y, mu, sd) {
      const { rows, D } = o;
      if (rows * D === 0) return false;
      if (![x, gamma, beta, y, mu, sd].every(owns)) return false;
      const mk = heap.mark();
      try {
        const s1 = heap.temp(rows), s2 = heap.temp(rows), xc = heap.temp(rows * D), sq = heap.temp(rows * D);
        const n = rows * D;
        run('sum_rows', [at(x), at(s1), D], rows, 4, n);
        run('ln_a', [at(x), at(s1), at(mu), at(xc), at(sq), D, D], rows, 1, 2 * n);
        run('sum_rows', [at(sq), at(s2), D], rows, 4, n);
        run('ln_b', [at(xc), at(s2), at(gamma), at(beta), at(y), at(sd), D, D, o.eps], rows, 1, 3 * n);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    layerNormBackward(x, gamma, mu, sd, g, o, prev, out, gGamma, gBeta) {
      const { rows, D } = o;
      if (rows * D === 0) return false;
      if (![x, gamma, mu, sd, g, out, gGamma, gBeta].every(owns) || (prev && !owns(prev))) return false;
      const mk = heap.mark();
      try {
        const n = rows * D;
        const t = heap.temp(n), xh = heap.temp(n), gsd = heap.temp(rows), gmu = heap.temp(rows), g1 = heap.temp(rows);
        run('lnb_a', [at(x), at(g), at(gamma), at(mu), at(sd), at(t), at(xh), D], rows, 1, 3 * n);
        run('sum_rows', [at(t), at(gsd), D], rows, 4, n);
        // The column sums read g and xh before out (which may be prev, never g) is written.
        run('sum_axis', [at(g), at(gBeta), rows, D], D, 16, n);
        run('sum_axis_mul', [at(g), at(xh), at(gGamma), rows, D], D, 16, 2 * n);
        run('lnb_b', [at(x), at(g), at(gamma), at(mu), at(sd), at(gsd), at(prev ?? out), at(out), at(t), D, D, prev ? 1 : 0], rows, 1, 3 * n);
        run('sum_rows', [at(t), at(gmu), D], rows, 4, n);
        run('div_vs', [at(gmu), D, at(g1)], rows, 16, rows);
        run('add_col', [at(out), at(g1), at(out), D, rows], rows, 1, n);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    softmaxBackward(g, y, e, s, o, prev, out) {
      const { rows, L } = o;
      if (rows * L === 0) return false;
      if (!owns(g) || !owns(y) || !owns(e) || !owns(s) || !owns(out) || (prev && !owns(prev))) return false;
      const mk = heap.mark();
      try {
        const t = heap.temp(rows * L), gs = heap.temp(rows);
        run('softmax_t', [at(g), at(y), at(s), at(t), L], rows, 1, 2 * rows * L);
        run('sum_rows', [at(t), at(gs), L], rows, 4, rows * L);
        const flags = (o.scale !== null ? 1 : 0) | (prev ? 4 : 0);
        run('softmax_gx', [at(g), at(e), at(s), at(gs), at(prev ?? out), at(out), L, o.scale ?? 1, flags], rows, 1, 2 * rows * L);
      } finally {
        heap.release(mk);
      }
      return true;
    },
    adamw(w, g, m, v, c) {
      const n = w.length;
      if (g.length !== n || m.length !== n || v.length !== n) throw new ShapeError(`adamw: operand lengths differ (${[w, g, m, v].map((x) => x.length).join(', ')})`);
      staged([w, g, m, v], [0, 2, 3], ([w, g, m, v]) =>
        run('adamw', [at(w), at(g), at(m), at(v), c.b1, c.c1, c.b2, c.c2, c.sbc2, c.eps, c.stepSize, c.decay, c.weightDecay !== 0 ? 1 : 0], n, 16, 4 * n));
      return true;
    },
    sgd(w, g, buf, c) {
      const n = w.length;
      if (g.length !== n || buf.length !== n) throw new ShapeError(`sgd: operand lengths differ (${[w, g, buf].map((x) => x.length).join(', ')})`);
      staged([w, g, buf], [0, 2], ([w, g, buf]) => run('sgd', [at(w), at(g), at(buf), c.mu, c.wd, c.lr, c.wd !== 0 ? 1 : 0, c.first ? 1 : 0], n, 16, 2 * n));
      return true;
    },
    allFinite(x) {
      let bad = 0;
      staged([x], [], ([y]) => { bad = k.nonfinite(at(y), 0, y.length); });
      return bad === 0;
    },
  };
}
