// The op table: for each kind, the program of one output element (instruction at pc, the value
// the last slot writes) and the number of slots S per element. contracts/verify/OpJudge*.sol holds
// the same table; ops-programs.test.ts checks every kind against the engine's evaluation and
// test/op-judge-programs.test.ts the contract against this file.
//
// Orders are the engine's canonical ones (ops.ts, nn.ts, kernels/backend.ts, optim.ts):
//   sum / sumTo / sumSquares / matmul / scatterAdd / col2im: acc = +0, contributions ascending in
//   source order, acc = f32(acc + x) (matmul and sumSquares round the product first);
//   max: acc = maximum(-Inf, x0), then maximum(acc, x_l);
//   maxBackward: g goes to the first element equal to the max (compares in l order);
//   movement ops write one input element (or +0 / a constant) and have no program.
import { InputError } from '../../errors.ts';
import { OP } from '../scalar.ts';
import { ATTR, Asm, K, X, X0, type TSrc, type Template } from './asm.ts';
import { KIND, NULL_AXIS, sizeOf, type OpDescriptor } from './descriptor.ts';
import { END, MOP, NO_JUMP, cst, inp, reg, type Instr, type Src } from './machine.ts';
import { expProgram, logProgram, tanhProgram } from './math-programs.ts';

export interface Compiled {
  d: OpDescriptor;
  /** Output elements. */
  E: number;
  /** Slots per element: the longest program path + 1 (the write). */
  S: number;
  /** Instruction at pc of element e's program; null past its end (the slot idles). */
  fetch(e: number, pc: number): Instr | null;
  /** What the last slot of element e writes. */
  result(e: number): Src;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function unravel(e: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = e % shape[i];
    e = Math.floor(e / shape[i]);
  }
  return idx;
}

/** Index in `inp` of the element broadcast onto element e of `out` (numpy rules, right-aligned). */
export function broadcastIndex(e: number, out: readonly number[], inpShape: readonly number[]): number {
  let off = 0, stride = 1;
  const shift = out.length - inpShape.length;
  for (let i = out.length - 1; i >= 0; i--) {
    const o = e % out[i];
    e = Math.floor(e / out[i]);
    const j = i - shift;
    if (j < 0) continue;
    if (inpShape[j] !== 1) off += o * stride;
    stride *= inpShape[j];
  }
  return off;
}

// ---------------------------------------------------------------------------------------------
// Templates (elementwise kinds and the optimizer updates)

const { add, sub, mul, div, max: fmax, sqrt, neg, ne, eq } = OP;

function single(op: number, ...operands: TSrc[]): Template {
  return new Asm().op(op, 'r0', operands[0], operands[1]).build();
}

const templateCache = new Map<string, Template>();

/** adamwW's weightDecay / sgdBuf's wd is nonzero (the engine's `!== 0`: -0 counts as zero). */
export function decayFlag(d: OpDescriptor): boolean {
  return ((d.attrs[1] ?? 0) & 0x7fffffff) !== 0;
}

/** The template of a template kind (null for the others). Exported for the Solidity generator. */
export function templateOf(d: OpDescriptor): Template | null {
  const key = `${d.kind}/${d.kind === 'adamwW' || d.kind === 'sgdBuf' ? decayFlag(d) : ''}`;
  const hit = templateCache.get(key);
  if (hit !== undefined) return hit;
  const t = buildTemplate(d);
  if (t) templateCache.set(key, t);
  return t;
}

function buildTemplate(d: OpDescriptor): Template | null {
  switch (d.kind) {
    case 'add': return single(add, X(0), X(1));
    case 'sub': return single(sub, X(0), X(1));
    case 'mul': return single(mul, X(0), X(1));
    case 'div': return single(div, X(0), X(1));
    case 'maximum': return single(fmax, X(0), X(1));
    case 'greater': return single(OP.gt, X(0), X(1));
    case 'neg': return single(neg, X(0));
    case 'sqrt': return single(sqrt, X(0));
    case 'exp': return expProgram();
    case 'log': return logProgram();
    case 'tanh': return tanhProgram();
    case 'select':
      // c != 0 ? a : b
      return new Asm().br(ne, X(0), K(0), 'a').ret(X(2)).label('a').ret(X(1)).build();
    case 'adamwM':
      // m' = f32(f32(b1*m) + f32(c1*g))
      return new Asm().op(mul, 'bm', ATTR(0), X(0)).op(mul, 'cg', ATTR(1), X(1)).op(add, 'r0', 'bm', 'cg').build();
    case 'adamwV':
      // v' = f32(f32(b2*v) + f32(f32(c2*g)*g))
      return new Asm().op(mul, 'bv', ATTR(0), X(0)).op(mul, 'cg', ATTR(1), X(1)).op(mul, 'cgg', 'cg', X(1)).op(add, 'r0', 'bv', 'cgg').build();
    case 'adamwW': {
      // inputs (w, m', v', stepSize, sbc2, decay); attrs (eps, weightDecay)
      const A = new Asm();
      let w: string | TSrc = X(0);
      if (decayFlag(d)) {
        A.op(mul, 'dw', X0(5), X(0)).op(sub, 'w1', X(0), 'dw');
        w = 'w1';
      }
      A.op(sqrt, 'sv', X(2)).op(div, 'sq', 'sv', X0(4)).op(add, 'den', 'sq', ATTR(0))
        .op(div, 'md', X(1), 'den').op(mul, 'st', X0(3), 'md').op(sub, 'r0', w, 'st');
      return A.build();
    }
    case 'sgdBuf': {
      // inputs (buf, g, w, first); attrs (mu, wd): g' = wd ? g + wd*w : g; first ? g' : mu*buf + g'
      const A = new Asm();
      let g: string | TSrc = X(1);
      if (decayFlag(d)) {
        A.op(mul, 'ww', ATTR(1), X(2)).op(add, 'g1', X(1), 'ww');
        g = 'g1';
      }
      A.br(eq, X0(3), K(0), 'later').ret(g).label('later').op(mul, 'mb', ATTR(0), X(0)).op(add, 'r0', 'mb', g);
      return A.build();
    }
    case 'sgdW':
      // inputs (w, buf', lr): w - f32(lr*buf')
      return new Asm().op(mul, 'lb', X0(2), X(1)).op(sub, 'r0', X(0), 'lb').build();
    default:
      return null;
  }
}

function fromTemplate(d: OpDescriptor, t: Template): Compiled {
  const out = d.output.shape;
  const E = sizeOf(out);
  const resolve = (s: TSrc | undefined, e: number): Src | undefined => {
    if (!s) return undefined;
    switch (s.t) {
      case 'reg': return reg(s.r);
      case 'const': return cst(s.v);
      case 'attr': return cst(d.attrs[s.i]);
      case 'x0': return inp(s.j, 0);
      case 'x': return inp(s.j, broadcastIndex(e, out, d.inputs[s.j].shape));
    }
  };
  return {
    d, E, S: t.longestPath + 1,
    fetch(e, pc) {
      if (pc >= t.instrs.length) return null;
      const ti = t.instrs[pc];
      const b = resolve(ti.b, e);
      return { op: ti.op, dst: ti.dst, a: resolve(ti.a, e)!, ...(b ? { b } : {}), jump: ti.jump };
    },
    result: () => reg(0),
  };
}

// ---------------------------------------------------------------------------------------------
// The other kinds

const accAdd = (a: Src): Instr => ({ op: add, dst: 0, a: reg(0), b: a, jump: NO_JUMP });

function movement(d: OpDescriptor, result: (e: number) => Src): Compiled {
  return { d, E: sizeOf(d.output.shape), S: 1, fetch: () => null, result };
}

function reduceAxis(shape: readonly number[], axis: number): { outer: number; L: number; inner: number } {
  if (axis === NULL_AXIS) return { outer: 1, L: sizeOf(shape), inner: 1 };
  return { outer: sizeOf(shape.slice(0, axis)), L: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

function matmulOf(d: OpDescriptor): Compiled {
  const [a, b] = d.inputs.map((t) => t.shape);
  const transA = d.attrs[0] !== 0, transB = d.attrs[1] !== 0;
  const aR = a[a.length - 2], aC = a[a.length - 1], bR = b[b.length - 2], bC = b[b.length - 1];
  const M = transA ? aC : aR, K = transA ? aR : aC, N = transB ? bR : bC;
  const bShared = b.length === 2;
  const E = sizeOf(d.output.shape);
  return {
    d, E, S: 2 * K + 1,
    fetch(e, pc) {
      if (pc >= 2 * K) return null;
      const k = pc >> 1;
      if (pc & 1) return accAdd(reg(1));
      const j = e % N, i = Math.floor(e / N) % M, bi = Math.floor(e / (M * N));
      const ai = bi * aR * aC + (transA ? k * aC + i : i * aC + k);
      const bj = (bShared ? 0 : bi * bR * bC) + (transB ? j * bC + k : k * bC + j);
      return { op: mul, dst: 1, a: inp(0, ai), b: inp(1, bj), jump: NO_JUMP };
    },
    result: () => reg(0),
  };
}

/** Source index of the q-th contribution to element m of sumTo(g: G → out). */
function sumToPlan(G: readonly number[], out: readonly number[]) {
  const shift = G.length - out.length;
  const reduced: number[] = []; // axes of G summed over, in order
  for (let i = 0; i < G.length; i++) {
    const o = i - shift >= 0 ? out[i - shift] : 1;
    if (o === 1 && G[i] !== 1) reduced.push(i);
  }
  const gStr = stridesOf(G);
  const count = reduced.reduce((p, i) => p * G[i], 1);
  return {
    count,
    src(m: number, q: number): number {
      let off = 0;
      // m's coordinates on the kept axes (G's axes aligned to out)
      let rem = m;
      for (let i = G.length - 1; i >= 0; i--) {
        const j = i - shift;
        if (j < 0) continue;
        const c = rem % out[j];
        rem = Math.floor(rem / out[j]);
        if (out[j] !== 1) off += c * gStr[i];
      }
      for (let r = reduced.length - 1; r >= 0; r--) {
        const ax = reduced[r];
        off += (q % G[ax]) * gStr[ax];
        q = Math.floor(q / G[ax]);
      }
      return off;
    },
  };
}

/** Conv geometry of im2col / col2im on x [N, C, H, W]. */
function convGeo(x: readonly number[], attrs: readonly number[]) {
  const [N, C, H, W] = x;
  const [kh, kw, stride, pad] = attrs;
  const OH = Math.floor((H + 2 * pad - kh) / stride) + 1, OW = Math.floor((W + 2 * pad - kw) / stride) + 1;
  return { N, C, H, W, kh, kw, stride, pad, OH, OW, P: N * OH * OW };
}

/**
 * The kernel offsets k in [0, kk) that reach input position y (ky of an output row oy with
 * y = oy*stride + k - pad, 0 <= oy < O), ascending: an arithmetic progression (first, count).
 */
export function kernelRange(y: number, kk: number, stride: number, pad: number, O: number): { first: number; count: number } {
  // k ≡ (y + pad) mod stride, k <= y + pad, k >= y + pad - (O - 1)*stride, 0 <= k < kk
  const t = y + pad;
  const lo = Math.max(0, t - (O - 1) * stride);
  const hi = Math.min(kk - 1, t);
  if (hi < lo) return { first: 0, count: 0 };
  const first = lo + ((((t - lo) % stride) + stride) % stride);
  if (first > hi) return { first: 0, count: 0 };
  return { first, count: Math.floor((hi - first) / stride) + 1 };
}

export function compile(d: OpDescriptor): Compiled {
  const t = templateOf(d);
  if (t) return fromTemplate(d, t);
  const out = d.output.shape;
  const E = sizeOf(out);
  const x = d.inputs[0]?.shape ?? [];
  switch (d.kind) {
    case 'const':
      return movement(d, () => cst(d.attrs[0]));
    case 'causalMask': {
      const T = d.attrs[0], NEG = 0xf149f2ca; // f32(-1e30)
      return movement(d, (e) => cst(e % T > Math.floor(e / T) ? NEG : 0));
    }
    case 'reshape':
    case 'copy':
      return movement(d, (e) => inp(0, e));
    case 'expand':
      return movement(d, (e) => inp(0, broadcastIndex(e, out, x)));
    case 'permute': {
      const st = stridesOf(x), axes = d.attrs;
      return movement(d, (e) => {
        const idx = unravel(e, out);
        let off = 0;
        for (let i = 0; i < axes.length; i++) off += idx[i] * st[axes[i]];
        return inp(0, off);
      });
    }
    case 'slice':
    case 'pad': {
      const [ax, first] = d.attrs;
      const shift = d.kind === 'slice' ? first : -first;
      const st = stridesOf(x);
      return movement(d, (e) => {
        const idx = unravel(e, out);
        idx[ax] += shift;
        if (idx[ax] < 0 || idx[ax] >= x[ax]) return cst(0);
        let off = 0;
        for (let i = 0; i < idx.length; i++) off += idx[i] * st[i];
        return inp(0, off);
      });
    }
    case 'concat': {
      const ax = d.attrs[0];
      return movement(d, (e) => {
        const idx = unravel(e, out);
        let j = 0;
        while (idx[ax] >= d.inputs[j].shape[ax]) idx[ax] -= d.inputs[j++].shape[ax];
        const st = stridesOf(d.inputs[j].shape);
        let off = 0;
        for (let i = 0; i < idx.length; i++) off += idx[i] * st[i];
        return inp(j, off);
      });
    }
    case 'gather': {
      // (table [V, ...row], indices [P]): out[p*row + j] = table[indices[p]*row + j]
      const row = sizeOf(x.slice(1));
      return movement(d, (e) => ({ t: 'ind', j: 0, k: 1, p: Math.floor(e / row), mul: row, add: e % row, limit: x[0] }));
    }
    case 'windows': {
      // (tokens, starts): out[r*L + t] = tokens[starts[r] + shift + t]
      const [L, shift] = d.attrs;
      return movement(d, (e) => ({ t: 'ind', j: 0, k: 1, p: Math.floor(e / L), mul: 1, add: shift + (e % L), limit: x[0] }));
    }
    case 'im2col': {
      const g = convGeo(x, d.attrs);
      return movement(d, (e) => {
        const r = Math.floor(e / g.P), col = e % g.P;
        const c = Math.floor(r / (g.kh * g.kw)), ky = Math.floor(r / g.kw) % g.kh, kx = r % g.kw;
        const n = Math.floor(col / (g.OH * g.OW)), oy = Math.floor(col / g.OW) % g.OH, ox = col % g.OW;
        const iy = oy * g.stride + ky - g.pad, ix = ox * g.stride + kx - g.pad;
        if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) return cst(0);
        return inp(0, ((n * g.C + c) * g.H + iy) * g.W + ix);
      });
    }
    case 'onehot': {
      const C = d.attrs[0];
      return {
        d, E, S: 2,
        fetch: (e, pc) => (pc === 0 ? { op: MOP.ieq, dst: 0, a: inp(0, Math.floor(e / C)), b: cst(e % C), jump: NO_JUMP } : null),
        result: () => reg(0),
      };
    }
    case 'dropoutMask': {
      // u = uniform(key, offset + e); u >= p ? scale : 0
      const [p, offset, scale] = d.attrs;
      return {
        d, E, S: 4,
        fetch(e, pc) {
          switch (pc) {
            case 0: return { op: MOP.uniform, dst: 1, a: inp(0, 0), b: inp(0, 1), counter: offset + e, jump: NO_JUMP };
            case 1: return { op: OP.ge, dst: 0, a: reg(1), b: cst(p), jump: 3 };
            case 2: return { op: MOP.mov, dst: 0, a: cst(0), jump: END };
            case 3: return { op: MOP.mov, dst: 0, a: cst(scale), jump: END };
            default: return null;
          }
        },
        result: () => reg(0),
      };
    }
    case 'sum':
    case 'max': {
      const { L, inner } = reduceAxis(x, d.attrs[0]);
      const isMax = d.kind === 'max';
      const at = (e: number, l: number) => (Math.floor(e / inner) * L + l) * inner + (e % inner);
      return {
        d, E, S: L + 1,
        fetch(e, pc) {
          if (pc >= L) return null;
          if (!isMax) return accAdd(inp(0, at(e, pc)));
          return { op: fmax, dst: 0, a: pc === 0 ? cst(0xff800000) : reg(0), b: inp(0, at(e, pc)), jump: NO_JUMP };
        },
        result: () => (isMax && L === 0 ? cst(0xff800000) : reg(0)),
      };
    }
    case 'matmul':
      return matmulOf(d);
    case 'sumTo': {
      const plan = sumToPlan(x, out);
      return {
        d, E, S: plan.count + 1,
        fetch: (e, pc) => (pc < plan.count ? accAdd(inp(0, plan.src(e, pc))) : null),
        result: () => reg(0),
      };
    }
    case 'sumSquares': {
      const sizes = d.inputs.map((t) => sizeOf(t.shape));
      const total = sizes.reduce((p, q) => p + q, 0);
      return {
        d, E, S: 2 * total + 1,
        fetch(_e, pc) {
          if (pc >= 2 * total) return null;
          if (pc & 1) return accAdd(reg(1));
          let q = pc >> 1, j = 0;
          while (q >= sizes[j]) q -= sizes[j++];
          return { op: mul, dst: 1, a: inp(j, q), b: inp(j, q), jump: NO_JUMP };
        },
        result: () => reg(0),
      };
    }
    case 'sumSquaresAcc': {
      // (acc [], g): sumSquares carried on from acc — r1 = g*g; r0 = (first ? acc : r0) + r1 — so
      // a chain of these (one per gradient) is sumSquares over them all, with a judge call that
      // does not grow with the number of parameters.
      const n = sizeOf(d.inputs[1].shape);
      return {
        d, E, S: 2 * n + 1,
        fetch(_e, pc) {
          if (pc >= 2 * n) return null;
          if (pc & 1) return { op: add, dst: 0, a: pc === 1 ? inp(0, 0) : reg(0), b: reg(1), jump: NO_JUMP };
          return { op: mul, dst: 1, a: inp(1, pc >> 1), b: inp(1, pc >> 1), jump: NO_JUMP };
        },
        result: () => (n === 0 ? inp(0, 0) : reg(0)),
      };
    }
    case 'maxBackward': {
      // (x, y, g): for l' < l: if x[l'] == y goto zero; if x[l] == y goto take; zero: 0; take: g
      const { L, inner } = reduceAxis(x, d.attrs[0]);
      return {
        d, E, S: L + 2,
        fetch(e, pc) {
          const o = Math.floor(e / (L * inner)), l = Math.floor(e / inner) % L, i = e % inner;
          const y = inp(1, o * inner + i);
          if (pc <= l) return { op: eq, dst: 0, a: inp(0, (o * L + pc) * inner + i), b: y, jump: pc < l ? l + 1 : l + 2 };
          if (pc === l + 1) return { op: MOP.mov, dst: 0, a: cst(0), jump: END };
          if (pc === l + 2) return { op: MOP.mov, dst: 0, a: inp(2, o * inner + i), jump: END };
          return null;
        },
        result: () => reg(0),
      };
    }
    case 'scatterAdd': {
      // (g, indices): element (v, j): for p: if indices[p] != v skip; acc += g[p*row + j]
      const V = d.attrs[0], row = E / V, P = d.inputs[1].shape[0];
      return {
        d, E, S: 2 * P + 1,
        fetch(e, pc) {
          if (pc >= 2 * P) return null;
          const p = pc >> 1;
          if (pc & 1) return accAdd(inp(0, p * row + (e % row)));
          return { op: MOP.ine, dst: 0, a: inp(1, p), b: cst(Math.floor(e / row)), jump: pc + 2 };
        },
        result: () => reg(0),
      };
    }
    case 'col2im': {
      // (g = cols [C*kh*kw, P]) → x [N, C, H, W]: acc over valid (ky, kx) ascending
      const g = convGeo(out, d.attrs);
      return {
        d, E, S: g.kh * g.kw + 1,
        fetch(e, pc) {
          const ix = e % g.W, iy = Math.floor(e / g.W) % g.H, c = Math.floor(e / (g.H * g.W)) % g.C, n = Math.floor(e / (g.C * g.H * g.W));
          const ry = kernelRange(iy, g.kh, g.stride, g.pad, g.OH), rx = kernelRange(ix, g.kw, g.stride, g.pad, g.OW);
          if (pc >= ry.count * rx.count) return null;
          const ky = ry.first + Math.floor(pc / rx.count) * g.stride, kx = rx.first + (pc % rx.count) * g.stride;
          const oy = (iy + g.pad - ky) / g.stride, ox = (ix + g.pad - kx) / g.stride;
          const r = (c * g.kh + ky) * g.kw + kx, col = (n * g.OH + oy) * g.OW + ox;
          return accAdd(inp(0, r * g.P + col));
        },
        result: () => reg(0),
      };
    }
    default:
      throw new InputError(`no element program for kind ${d.kind} (${KIND[d.kind]})`);
  }
}
