// One or more op cases per kind of the op table (src/verify/ops): a descriptor and input data, with
// shapes that span several 1 KiB chunks where the op allows (openings with siblings) and values
// that include ±0, ±Inf, NaN and subnormals where the op can see them. Used by the op-judge tests.
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { f32ToBits } from '../src/verify/scalar.ts';
import type { TensorData } from '../src/train/commit.ts';
import { KIND_NAMES, type KindName, type OpDescriptor } from '../src/verify/ops/index.ts';

export interface OpCase {
  name: string;
  d: OpDescriptor;
  inputs: TensorData[];
  /** Elements whose every slot the step test checks (besides random steps). */
  focus?: number[];
}

const SPECIAL = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x3f800000, 0xbf800000];

/** binary32 data: typical magnitudes, with specials and random bit patterns when `wild`. */
export function f32Data(name: string, n: number, opts: { wild?: boolean; lo?: number; hi?: number } = {}): Float32Array {
  const w = randomU32s(rngStream(11, `op-cases/${name}`), 0, 2 * n);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const a = w[2 * i], b = w[2 * i + 1];
    const cls = a % 12;
    if (opts.wild && cls === 0) u[i] = b;
    else if (opts.wild && cls === 1) u[i] = SPECIAL[b % SPECIAL.length];
    else if (opts.lo !== undefined) out[i] = opts.lo + ((opts.hi ?? 1) - opts.lo) * ((b >>> 8) / 2 ** 24);
    else u[i] = ((b & 0x80000000) | ((118 + ((a >>> 4) % 14)) << 23) | (b & 0x7fffff)) >>> 0;
  }
  return out;
}

const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
const u = (shape: number[]) => ({ shape, dtype: 'u32' as const });
const bits = (x: number) => f32ToBits(Math.fround(x));

function ints(name: string, n: number, bound: number): Int32Array {
  const w = randomU32s(rngStream(11, `op-cases/${name}`), 0, n);
  return Int32Array.from(w, (x) => x % bound);
}

function c(name: string, kind: KindName, ins: { shape: number[]; dtype: 'f32' | 'u32' }[], out: number[], attrs: number[], data: TensorData[], focus?: number[]): OpCase {
  return { name, d: { kind, inputs: ins, output: { shape: out, dtype: kind === 'gather' && ins[0].dtype === 'u32' || kind === 'windows' ? 'u32' : 'f32' }, attrs }, inputs: data, focus };
}

/** The math programs' inputs: every branch of exp, log and tanh. */
export function mathInputs(): Float32Array {
  const x = f32Data('math', 300, { wild: true });
  const branch = [
    0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1.17e-38, 2e-39, 1, -1, 0.5, 88.9, 89, 89.5, -103.9, -104, -104.5,
    1e-5, -1e-5, 0.3, -0.6, 0.7, -3, 9.2, -9.2, 20, 1.4142135, 1.5, 3e38, 1e-3,
  ];
  branch.forEach((v, i) => (x[i] = v));
  return x;
}

export function cases(): OpCase[] {
  const out: OpCase[] = [];
  // const, elementwise binary with broadcasting, unary
  out.push(c('const', 'const', [], [], [bits(0.044715)], []));
  for (const kind of ['add', 'sub', 'mul', 'div', 'maximum', 'greater'] as const) {
    out.push(c(`${kind} [20,30]+[30]`, kind, [f([20, 30]), f([30])], [20, 30], [], [f32Data(`${kind}a`, 600, { wild: true }), f32Data(`${kind}b`, 30, { wild: true })], [599]));
  }
  out.push(c('mul [4,1,70]*[3,1] broadcast both', 'mul', [f([4, 1, 70]), f([3, 1])], [4, 3, 70], [], [f32Data('mb1', 280), f32Data('mb2', 3)]));
  out.push(c('add scalar []', 'add', [f([300]), f([])], [300], [], [f32Data('as1', 300, { wild: true }), f32Data('as2', 1)]));
  const mx = mathInputs();
  for (const kind of ['neg', 'sqrt', 'exp', 'log', 'tanh'] as const) {
    out.push(c(kind, kind, [f([300])], [300], [], [mx], [2, 4, 7, 12, 13, 15, 16, 18, 20, 22, 23, 25]));
  }
  // reductions
  out.push(c('sum axis 1 of [3,400,2]', 'sum', [f([3, 400, 2])], [3, 2], [1], [f32Data('sum1', 2400, { wild: true })], [5]));
  out.push(c('sum all', 'sum', [f([70, 5])], [], [0xffffffff], [f32Data('sum2', 350)]));
  out.push(c('max axis 2 keepDims', 'max', [f([4, 5, 60])], [4, 5, 1], [2], [f32Data('max1', 1200, { wild: true })], [19]));
  out.push(c('max axis 0', 'max', [f([9, 40])], [40], [0], [f32Data('max2', 360)]));
  out.push(c('sumTo [4,70,3] -> [70,1]', 'sumTo', [f([4, 70, 3])], [70, 1], [], [f32Data('st1', 840, { wild: true })], [69]));
  out.push(c('sumTo [300,2] -> [2]', 'sumTo', [f([300, 2])], [2], [], [f32Data('st2', 600)]));
  // matmul
  out.push(c('matmul [2,9,33]x[33,17]', 'matmul', [f([2, 9, 33]), f([33, 17])], [2, 9, 17], [0, 0], [f32Data('mm1', 594), f32Data('mm2', 561)], [305]));
  out.push(c('matmul tA [40,6]^T x [40,5]', 'matmul', [f([40, 6]), f([40, 5])], [6, 5], [1, 0], [f32Data('mm3', 240, { wild: true }), f32Data('mm4', 200)]));
  out.push(c('matmul batched tB [2,3,8,20]x[2,3,7,20]^T', 'matmul', [f([2, 3, 8, 20]), f([2, 3, 7, 20])], [2, 3, 8, 7], [0, 1], [f32Data('mm5', 960), f32Data('mm6', 840)]));
  out.push(c('matmul batched tA [2,20,8]^T x [2,20,6]', 'matmul', [f([2, 20, 8]), f([2, 20, 6])], [2, 8, 6], [1, 0], [f32Data('mm7', 320), f32Data('mm8', 240)]));
  // movement
  out.push(c('reshape', 'reshape', [f([30, 20])], [600], [], [f32Data('rs', 600, { wild: true })]));
  out.push(c('copy', 'copy', [f([300])], [300], [], [f32Data('cp', 300)]));
  out.push(c('permute [2,0,1]', 'permute', [f([5, 12, 7])], [7, 5, 12], [2, 0, 1], [f32Data('pm', 420)]));
  out.push(c('slice axis 1 [3,5)', 'slice', [f([4, 90, 3])], [4, 2, 3], [1, 3, 5], [f32Data('sl', 1080)]));
  out.push(c('pad axis 0 (2, 1)', 'pad', [f([100, 3])], [103, 3], [0, 2, 1], [f32Data('pd', 300)], [0, 308]));
  out.push(c('concat axis 1', 'concat', [f([3, 50]), f([3, 70]), f([3, 10])], [3, 130], [1], [f32Data('cc1', 150), f32Data('cc2', 210), f32Data('cc3', 30)]));
  out.push(c('expand [3,1] -> [2,3,60]', 'expand', [f([3, 1])], [2, 3, 60], [], [f32Data('ex', 3)]));
  // gathers
  out.push(c('gather rows of [300,3]', 'gather', [f([300, 3]), u([40])], [40, 3], [], [f32Data('gt', 900), ints('gi', 40, 300)]));
  out.push(c('gather u32 labels', 'gather', [u([500]), u([64])], [64], [], [ints('gl', 500, 10), ints('gli', 64, 500)]));
  out.push(c('windows shift 1', 'windows', [u([600]), u([5])], [5, 30], [30, 1], [ints('wt', 600, 65), ints('ws', 5, 600 - 31)]));
  out.push(c('scatterAdd', 'scatterAdd', [f([30, 4]), u([30])], [9, 4], [9], [f32Data('sa', 120), ints('si', 30, 9)], [0, 35]));
  out.push(c('onehot', 'onehot', [u([40])], [40, 10], [10], [ints('oh', 40, 10)], [0, 1]));
  // convolutions
  out.push(c('im2col 3x3 pad 1', 'im2col', [f([2, 3, 6, 5])], [27, 60], [3, 3, 1, 1], [f32Data('ic', 180)]));
  out.push(c('im2col 3x2 stride 2', 'im2col', [f([1, 2, 7, 7])], [12, 9], [3, 2, 2, 0], [f32Data('ic2', 98)]));
  out.push(c('col2im 3x3 pad 1', 'col2im', [f([27, 60])], [2, 3, 6, 5], [3, 3, 1, 1], [f32Data('c2i', 1620, { wild: true })], [0, 7, 179]));
  out.push(c('col2im 3x3 stride 3 pad 2', 'col2im', [f([18, 12])], [1, 2, 9, 6], [3, 3, 3, 2], [f32Data('c2i2', 216)]));
  {
    // maxBackward with ties (small integers)
    const x = new Float32Array(f32Data('mbx', 240, { lo: 0, hi: 3 }).map(Math.floor));
    const y = new Float32Array(60);
    for (let o = 0; o < 60; o++) y[o] = Math.max(x[o * 4], x[o * 4 + 1], x[o * 4 + 2], x[o * 4 + 3]);
    out.push(c('maxBackward axis 1 of [60,4]', 'maxBackward', [f([60, 4]), f([60]), f([60])], [60, 4], [1], [x, y, f32Data('mbg', 60)], [0, 1, 2, 3]));
  }
  // masks
  out.push(c('causalMask', 'causalMask', [], [20, 20], [20], []));
  out.push(c('dropoutMask p 0.1', 'dropoutMask', [u([2])], [300], [bits(0.1), 1000, bits(1 / Math.fround(1 - Math.fround(0.1)))], [new Int32Array([0x1234567, -0x5abcdef])], [0, 1]));
  // clipping
  out.push(c('sumSquaresAcc', 'sumSquaresAcc', [f([]), f([3, 100])], [], [], [new Float32Array([2.5]), f32Data('ssa', 300)]));
  out.push(c('sumSquares', 'sumSquares', [f([20, 15]), f([7]), f([260])], [], [], [f32Data('ss1', 300), f32Data('ss2', 7), f32Data('ss3', 260)]));
  {
    const cond = f32Data('selc', 300, { wild: true });
    for (let i = 0; i < 300; i += 3) cond[i] = i % 2;
    out.push(c('select', 'select', [f([300]), f([300]), f([300])], [300], [], [cond, f32Data('sela', 300), f32Data('selb', 300)], [0, 3]));
  }
  // optimizer updates
  const n = 300;
  const s = (x: number) => new Float32Array([x]);
  for (const wd of [0, 0.01]) {
    out.push(c(`adamwM`, 'adamwM', [f([n]), f([n])], [n], [bits(0.9), bits(0.1)], [f32Data('am', n), f32Data('ag', n, { wild: true })]));
    out.push(c(`adamwV`, 'adamwV', [f([n]), f([n])], [n], [bits(0.99), bits(Math.fround(1 - Math.fround(0.99)))], [new Float32Array(f32Data('av', n).map(Math.abs)), f32Data('ag', n, { wild: true })]));
    out.push(c(`adamwW wd ${wd}`, 'adamwW', [f([n]), f([n]), f([n]), f([]), f([]), f([])], [n], [bits(1e-8), bits(wd)],
      [f32Data('aw', n, { wild: true }), f32Data('am2', n), new Float32Array(f32Data('av2', n).map(Math.abs)), s(0.0031), s(0.0447), s(3e-5)], [0, 1]));
    for (const first of [0, 1]) {
      out.push(c(`sgdBuf wd ${wd} first ${first}`, 'sgdBuf', [f([n]), f([n]), f([n]), f([])], [n], [bits(0.9), bits(wd)],
        [f32Data('sb', n), f32Data('sg', n, { wild: true }), f32Data('sw', n), s(first)], [0]));
    }
  }
  out.push(c('sgdW', 'sgdW', [f([n]), f([n]), f([])], [n], [], [f32Data('sw2', n), f32Data('sb2', n), s(0.05)]));
  return out;
}

/** Every kind has at least one case (checked by the tests). */
export function kindsCovered(list: OpCase[]): Set<KindName> {
  return new Set(list.map((x) => x.d.kind));
}

export const ALL_KINDS: readonly KindName[] = KIND_NAMES;
