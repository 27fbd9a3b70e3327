// Recompute one op record (trace.ts) from its input values with plain scalar loops: the canonical
// programs written out naively (one index at a time, no fast paths), using only the reference
// programs of math.ts, rng.ts and kernels/reference.ts. The trace tests compare every record's
// output with this to the bit; a fast path in ops.ts that changed an order would fail here.
import { ShapeError } from '../errors.ts';
import { expf, logf, tanhf } from './math.ts';
import { uniforms } from './rng.ts';
import { sizeOf, stridesOf } from './tensor.ts';
import type { Attrs, OpObserver, TraceValue } from './trace.ts';

const f = Math.fround;

export interface Value {
  data: Float32Array | Int32Array;
  shape: readonly number[];
}

const size = sizeOf;
const strides = stridesOf;

/** The multi-index of flat index e in shape. */
function unravel(e: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = e % shape[i];
    e = Math.floor(e / shape[i]);
  }
  return idx;
}

/** Flat index in `inp` of the element broadcast onto output multi-index idx. */
function broadcastIndex(idx: readonly number[], inp: readonly number[]): number {
  const st = strides(inp);
  let off = 0;
  for (let i = 0; i < inp.length; i++) {
    const o = idx[idx.length - inp.length + i];
    off += (inp[i] === 1 ? 0 : o) * st[i];
  }
  return off;
}

function f32(v: Value): Float32Array {
  if (!(v.data instanceof Float32Array)) throw new ShapeError('expected a binary32 input');
  return v.data;
}

function i32(v: Value): Int32Array {
  if (!(v.data instanceof Int32Array)) throw new ShapeError('expected an integer input');
  return v.data;
}

const num = (a: Attrs, k: string): number => a[k] as number;
const arr = (a: Attrs, k: string): readonly number[] => a[k] as readonly number[];

const BINARY: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => f(x + y),
  sub: (x, y) => f(x - y),
  mul: (x, y) => f(x * y),
  div: (x, y) => f(x / y),
  maximum: (x, y) => Math.max(x, y),
  greater: (x, y) => (x > y ? 1 : 0),
};

const UNARY: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: expf,
  log: logf,
  sqrt: (x) => f(Math.sqrt(x)),
  tanh: tanhf,
};

/** The output data of a record of `kind` with `attrs` on `inputs`; `outShape` is the record's output shape. */
export function evalRecord(kind: string, attrs: Attrs, inputs: readonly Value[], outShape: readonly number[]): Float32Array | Int32Array {
  const n = size(outShape);
  const out = new Float32Array(n);
  const bin = BINARY[kind];
  if (bin) {
    const [a, b] = inputs;
    const x = f32(a), y = f32(b);
    for (let e = 0; e < n; e++) {
      const idx = unravel(e, outShape);
      out[e] = bin(x[broadcastIndex(idx, a.shape)], y[broadcastIndex(idx, b.shape)]);
    }
    return out;
  }
  const un = UNARY[kind];
  if (un) {
    const x = f32(inputs[0]);
    for (let e = 0; e < n; e++) out[e] = un(x[e]);
    return out;
  }
  switch (kind) {
    case 'const':
      out.fill(num(attrs, 'value'));
      return out;
    case 'copy':
    case 'reshape':
      out.set(f32(inputs[0]));
      return out;
    case 'sum':
    case 'max': {
      const x = f32(inputs[0]), shape = inputs[0].shape;
      const isMax = kind === 'max';
      if (attrs.axis === null) {
        let acc = 0;
        for (let i = 0; i < x.length; i++) acc = f(acc + x[i]);
        out[0] = acc;
        return out;
      }
      const ax = num(attrs, 'axis');
      const L = shape[ax], inner = size(shape.slice(ax + 1)), outer = size(shape.slice(0, ax));
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = isMax ? -Infinity : 0;
          for (let l = 0; l < L; l++) {
            const v = x[(o * L + l) * inner + i];
            acc = isMax ? Math.max(acc, v) : f(acc + v);
          }
          out[o * inner + i] = acc;
        }
      }
      return out;
    }
    case 'matmul':
      return matmul(attrs, inputs[0], inputs[1], outShape);
    case 'permute': {
      const x = f32(inputs[0]), axes = arr(attrs, 'axes'), st = strides(inputs[0].shape);
      for (let e = 0; e < n; e++) {
        const idx = unravel(e, outShape);
        let off = 0;
        for (let i = 0; i < axes.length; i++) off += idx[i] * st[axes[i]];
        out[e] = x[off];
      }
      return out;
    }
    case 'slice':
    case 'pad': {
      const x = f32(inputs[0]), ax = num(attrs, 'axis'), st = strides(inputs[0].shape);
      const shift = kind === 'slice' ? num(attrs, 'start') : -num(attrs, 'before');
      for (let e = 0; e < n; e++) {
        const idx = unravel(e, outShape);
        idx[ax] += shift;
        if (idx[ax] < 0 || idx[ax] >= inputs[0].shape[ax]) continue; // padding: +0
        let off = 0;
        for (let i = 0; i < idx.length; i++) off += idx[i] * st[i];
        out[e] = x[off];
      }
      return out;
    }
    case 'concat': {
      const ax = num(attrs, 'axis');
      for (let e = 0; e < n; e++) {
        const idx = unravel(e, outShape);
        let k = 0;
        while (idx[ax] >= inputs[k].shape[ax]) idx[ax] -= inputs[k++].shape[ax];
        const st = strides(inputs[k].shape);
        let off = 0;
        for (let i = 0; i < idx.length; i++) off += idx[i] * st[i];
        out[e] = f32(inputs[k])[off];
      }
      return out;
    }
    case 'expand': {
      const x = f32(inputs[0]);
      for (let e = 0; e < n; e++) out[e] = x[broadcastIndex(unravel(e, outShape), inputs[0].shape)];
      return out;
    }
    case 'gather': {
      const table = inputs[0], ids = i32(inputs[1]);
      const row = size(table.shape.slice(1));
      const res = table.data instanceof Int32Array ? new Int32Array(n) : out;
      for (let p = 0; p < ids.length; p++) for (let j = 0; j < row; j++) res[p * row + j] = table.data[ids[p] * row + j];
      return res;
    }
    case 'im2col':
    case 'col2im': {
      const xShape = kind === 'im2col' ? inputs[0].shape : arr(attrs, 'shape');
      const [N, C, H, W] = xShape;
      const kh = num(attrs, 'kh'), kw = num(attrs, 'kw'), stride = num(attrs, 'stride'), p = num(attrs, 'pad');
      const OH = Math.floor((H + 2 * p - kh) / stride) + 1, OW = Math.floor((W + 2 * p - kw) / stride) + 1;
      const P = N * OH * OW;
      const src = f32(inputs[0]);
      for (let r = 0; r < C * kh * kw; r++) {
        const c = Math.floor(r / (kh * kw)), ky = Math.floor(r / kw) % kh, kx = r % kw;
        for (let col = 0; col < P; col++) {
          const nn = Math.floor(col / (OH * OW)), oy = Math.floor(col / OW) % OH, ox = col % OW;
          const iy = oy * stride + ky - p, ix = ox * stride + kx - p;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          const at = ((nn * C + c) * H + iy) * W + ix;
          if (kind === 'im2col') out[r * P + col] = src[at];
          else out[at] = f(out[at] + src[r * P + col]);
        }
      }
      return out;
    }
    case 'sumTo': {
      const x = f32(inputs[0]), from = inputs[0].shape;
      for (let e = 0; e < x.length; e++) {
        const t = broadcastIndex(unravel(e, from), outShape);
        out[t] = f(out[t] + x[e]);
      }
      return out;
    }
    case 'maxBackward': {
      const [xv, yv, gv] = inputs;
      const x = f32(xv), y = f32(yv), g = f32(gv), ax = num(attrs, 'axis');
      const L = xv.shape[ax], inner = size(xv.shape.slice(ax + 1)), outer = size(xv.shape.slice(0, ax));
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          for (let l = 0; l < L; l++) {
            const at = (o * L + l) * inner + i;
            if (x[at] === y[o * inner + i]) {
              out[at] = g[o * inner + i];
              break;
            }
          }
        }
      }
      return out;
    }
    case 'scatterAdd': {
      const g = f32(inputs[0]), ids = i32(inputs[1]);
      const row = n / num(attrs, 'rows');
      for (let p = 0; p < ids.length; p++) {
        for (let j = 0; j < row; j++) out[ids[p] * row + j] = f(out[ids[p] * row + j] + g[p * row + j]);
      }
      return out;
    }
    case 'onehot': {
      const labels = i32(inputs[0]), C = num(attrs, 'classes');
      for (let i = 0; i < labels.length; i++) out[i * C + labels[i]] = 1;
      return out;
    }
    case 'dropoutMask': {
      const key = new Uint32Array(i32(inputs[0]));
      const p = num(attrs, 'p');
      const u = uniforms({ key, name: 'trace' }, num(attrs, 'offset'), n);
      const scale = f(1 / f(1 - p));
      for (let i = 0; i < n; i++) out[i] = u[i] >= p ? scale : 0;
      return out;
    }
    case 'causalMask': {
      const T = num(attrs, 'size');
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) out[i * T + j] = -1e30;
      return out;
    }
    case 'windows': {
      const tokens = i32(inputs[0]), starts = i32(inputs[1]);
      const L = num(attrs, 'length'), shift = num(attrs, 'shift');
      const res = new Int32Array(n);
      for (let r = 0; r < starts.length; r++) for (let t = 0; t < L; t++) res[r * L + t] = tokens[starts[r] + shift + t];
      return res;
    }
    case 'sumSquares': {
      let acc = 0;
      for (const v of inputs) {
        const g = f32(v);
        for (let i = 0; i < g.length; i++) acc = f(acc + f(g[i] * g[i]));
      }
      out[0] = acc;
      return out;
    }
    case 'select': {
      const [c, a, b] = inputs.map(f32);
      for (let e = 0; e < n; e++) out[e] = c[e] !== 0 ? a[e] : b[e];
      return out;
    }
    case 'adamwM': {
      const [m, g] = inputs.map(f32), b1 = num(attrs, 'b1'), c1 = num(attrs, 'c1');
      for (let e = 0; e < n; e++) out[e] = f(f(b1 * m[e]) + f(c1 * g[e]));
      return out;
    }
    case 'adamwV': {
      const [v, g] = inputs.map(f32), b2 = num(attrs, 'b2'), c2 = num(attrs, 'c2');
      for (let e = 0; e < n; e++) out[e] = f(f(b2 * v[e]) + f(f(c2 * g[e]) * g[e]));
      return out;
    }
    case 'adamwW': {
      const [w, m, v, stepSize, sbc2, decay] = inputs.map(f32);
      const eps = num(attrs, 'eps'), wd = num(attrs, 'weightDecay');
      for (let e = 0; e < n; e++) {
        const w0 = wd !== 0 ? f(w[e] - f(decay[0] * w[e])) : w[e];
        const denom = f(f(f(Math.sqrt(v[e])) / sbc2[0]) + eps);
        out[e] = f(w0 - f(stepSize[0] * f(m[e] / denom)));
      }
      return out;
    }
    case 'sgdBuf': {
      const [buf, g, w, first] = inputs.map(f32), mu = num(attrs, 'mu'), wd = num(attrs, 'wd');
      for (let e = 0; e < n; e++) {
        const gi = wd !== 0 ? f(g[e] + f(wd * w[e])) : g[e];
        out[e] = first[0] !== 0 ? gi : f(f(mu * buf[e]) + gi);
      }
      return out;
    }
    case 'sgdW': {
      const [w, buf, lr] = inputs.map(f32);
      for (let e = 0; e < n; e++) out[e] = f(w[e] - f(lr[0] * buf[e]));
      return out;
    }
    default:
      throw new ShapeError(`evalRecord: unknown op kind "${kind}"`);
  }
}

function matmul(attrs: Attrs, a: Value, b: Value, outShape: readonly number[]): Float32Array {
  const transA = attrs.transA === true, transB = attrs.transB === true;
  const A = f32(a), B = f32(b);
  const aR = a.shape[a.shape.length - 2], aC = a.shape[a.shape.length - 1];
  const bR = b.shape[b.shape.length - 2], bC = b.shape[b.shape.length - 1];
  const M = transA ? aC : aR, K = transA ? aR : aC, N = transB ? bR : bC;
  const batch = size(a.shape.slice(0, -2));
  const bShared = b.shape.length === 2;
  const out = new Float32Array(size(outShape));
  // op(A) rows and op(B) columns copied out contiguously (values only; the k order is unchanged).
  const row = new Float32Array(K), colsT = new Float32Array(N * K);
  for (let bi = 0; bi < batch; bi++) {
    const aBase = bi * aR * aC, bBase = bShared ? 0 : bi * bR * bC;
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) colsT[j * K + k] = B[bBase + (transB ? j * bC + k : k * bC + j)];
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) row[k] = A[aBase + (transA ? k * aC + i : i * aC + k)];
      for (let j = 0; j < N; j++) {
        let acc = 0;
        const o = j * K;
        for (let k = 0; k < K; k++) acc = f(acc + f(row[k] * colsT[o + k]));
        out[(bi * M + i) * N + j] = acc;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A checking observer: resolves every input by identity (trace.ts rules), keeps a copy of every
// value when it is reported, and recomputes every record with evalRecord.

export interface TraceCheck {
  records: number;
  /** Records per kind. */
  kinds: Record<string, number>;
  /** Declared inputs by name. */
  inputs: string[];
  /** Inputs resolved through their data array with another shape (a view: reshape without a record). */
  views: number;
  /** Records whose output differed from evalRecord's: kind and index (empty when all replay). */
  mismatches: { index: number; kind: string; element: number }[];
  /** State names (state.*) whose array a record rewrote during the step. */
  updatedState: string[];
}

export class ClosureError extends ShapeError {
  override name = 'ClosureError';
}

interface Held {
  id: number;
  shape: readonly number[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkingObserver(opts: { replay?: boolean } = {}): OpObserver & { result(): TraceCheck } {
  const replay = opts.replay ?? true;
  const byObject = new Map<object, number>();
  const byArray = new Map<object, Held[]>();
  const values: Value[] = [];
  const inputNames = new Map<string, object>();
  const stateArrays = new Map<object, string>();
  const kinds: Record<string, number> = {};
  const mismatches: TraceCheck['mismatches'] = [];
  const updated = new Set<string>();
  let records = 0, views = 0;

  const valueOf = (v: TraceValue): Value =>
    v instanceof Int32Array ? { data: v.slice(), shape: [v.length] } : { data: v.data.slice(), shape: [...v.shape] };
  const arrayOf = (v: TraceValue): object => (v instanceof Int32Array ? v : v.data);
  const hold = (v: TraceValue): number => {
    const id = values.length;
    values.push(valueOf(v));
    byObject.set(v, id);
    const a = arrayOf(v);
    const list = byArray.get(a) ?? [];
    list.push({ id, shape: values[id].shape });
    byArray.set(a, list);
    return id;
  };
  const resolve = (v: TraceValue, where: string): Value => {
    const id = byObject.get(v);
    if (id !== undefined) return values[id];
    if (v instanceof Int32Array) throw new ClosureError(`${where}: an integer input that is neither declared nor an earlier output`);
    const list = byArray.get(v.data);
    if (!list || list.length === 0) throw new ClosureError(`${where}: input [${v.shape}] is neither declared, a constant nor an earlier output`);
    for (let i = list.length - 1; i >= 0; i--) if (sameShape(list[i].shape, v.shape)) return values[list[i].id];
    const last = values[list[list.length - 1].id];
    if (last.data.length !== v.size) throw new ClosureError(`${where}: input [${v.shape}] aliases a value of another size`);
    views++;
    return { data: last.data, shape: [...v.shape] };
  };
  return {
    input(name, v) {
      const prev = inputNames.get(name);
      if (prev === v) return;
      if (prev !== undefined) throw new ClosureError(`input ${name} declared twice with different values`);
      if (byObject.has(v)) throw new ClosureError(`input ${name} is already a value of the trace`);
      inputNames.set(name, v);
      if (name.startsWith('state.')) stateArrays.set(arrayOf(v), name);
      hold(v);
    },
    op(r) {
      const where = `record ${records} (${r.kind})`;
      const ins = r.inputs.map((v, i) => resolve(v, `${where} input ${i}`));
      if (byObject.has(r.output)) throw new ClosureError(`${where}: its output is not a fresh object`);
      const id = hold(r.output);
      const st = stateArrays.get(arrayOf(r.output));
      if (st) updated.add(st);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      if (replay) {
        const want = evalRecord(r.kind, r.attrs, ins, values[id].shape);
        const got = values[id].data;
        const wb = new Uint32Array(want.buffer, want.byteOffset, want.length), gb = new Uint32Array(got.buffer, got.byteOffset, got.length);
        let bad = wb.length !== gb.length ? 0 : -1;
        for (let i = 0; bad < 0 && i < wb.length; i++) if (wb[i] !== gb[i]) bad = i;
        if (bad >= 0) mismatches.push({ index: records, kind: r.kind, element: bad });
      }
      records++;
    },
    result: () => ({ records, kinds, inputs: [...inputNames.keys()], views, mismatches, updatedState: [...updated].sort() }),
  };
}
