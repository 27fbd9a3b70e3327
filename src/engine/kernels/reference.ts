// The canonical programs, in plain TypeScript: the oracle every fast kernel must equal bit for bit.
import { GELU_C1, GELU_C2, type AdamwConstants, type Backend, type BinaryOp, type Broadcast, type MatmulParams, type Im2colGeometry, type LayerNormOptions, type ReduceOp, type SgdConstants, type SoftmaxOptions, type UnaryOp } from './backend.ts';
import { expf, logf, tanhf } from '../math.ts';

const fround = Math.fround;

export function matmulReference(a: Float32Array, b: Float32Array, c: Float32Array, p: MatmulParams): void {
  const { batch, M, K, N, transA, transB } = p;
  // (row stride, col stride) of op(A) and op(B) as stored.
  const [aRs, aCs] = transA ? [1, M] : [K, 1];
  const [bRs, bCs] = transB ? [1, K] : [N, 1];
  for (let bi = 0; bi < batch; bi++) {
    const aBase = p.aOffset + bi * p.aBatchStride;
    const bBase = p.bOffset + bi * p.bBatchStride;
    const cBase = bi * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc = fround(acc + fround(a[aBase + i * aRs + k * aCs] * b[bBase + k * bRs + j * bCs]));
        }
        c[cBase + i * N + j] = p.bias ? acc + p.bias[j] : acc;
      }
    }
  }
}

export function adamwReference(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamwConstants): void {
  const { b1, c1, b2, c2, sbc2, eps, stepSize, decay } = c;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    if (c.weightDecay !== 0) w[i] = w[i] - fround(decay * w[i]);
    const mi = fround(fround(b1 * m[i]) + fround(c1 * gi));
    const vi = fround(fround(b2 * v[i]) + fround(fround(c2 * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    const denom = fround(fround(fround(Math.sqrt(vi)) / sbc2) + eps);
    w[i] = w[i] - fround(stepSize * fround(mi / denom));
  }
}

export function sgdReference(w: Float32Array, g: Float32Array, buf: Float32Array, c: SgdConstants): void {
  const { mu, wd, lr, first } = c;
  for (let i = 0; i < w.length; i++) {
    let gi = g[i];
    if (wd !== 0) gi = fround(gi + fround(wd * w[i]));
    const b = first ? gi : fround(fround(mu * buf[i]) + gi);
    buf[i] = b;
    w[i] = w[i] - fround(lr * b);
  }
}

export function allFiniteReference(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** out[i] = f32(x[i] OP y[i]); each store into the Float32Array rounds once. */
function binaryLoop(op: BinaryOp, x: Float32Array, y: Float32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[i] = x[i] + y[i]; break;
    case 'sub': for (let i = 0; i < n; i++) out[i] = x[i] - y[i]; break;
    case 'mul': for (let i = 0; i < n; i++) out[i] = x[i] * y[i]; break;
    case 'div': for (let i = 0; i < n; i++) out[i] = x[i] / y[i]; break;
    case 'maximum': for (let i = 0; i < n; i++) out[i] = Math.max(x[i], y[i]); break;
    case 'greater': for (let i = 0; i < n; i++) out[i] = x[i] > y[i] ? 1 : 0; break;
  }
}

function binaryScalarRight(op: BinaryOp, x: Float32Array, s: number, out: Float32Array, o0 = 0, n = out.length - o0, x0 = 0): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[o0 + i] = x[x0 + i] + s; break;
    case 'sub': for (let i = 0; i < n; i++) out[o0 + i] = x[x0 + i] - s; break;
    case 'mul': for (let i = 0; i < n; i++) out[o0 + i] = x[x0 + i] * s; break;
    case 'div': for (let i = 0; i < n; i++) out[o0 + i] = x[x0 + i] / s; break;
    case 'maximum': for (let i = 0; i < n; i++) out[o0 + i] = Math.max(x[x0 + i], s); break;
    case 'greater': for (let i = 0; i < n; i++) out[o0 + i] = x[x0 + i] > s ? 1 : 0; break;
  }
}

function binaryScalarLeft(op: BinaryOp, s: number, y: Float32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[i] = s + y[i]; break;
    case 'sub': for (let i = 0; i < n; i++) out[i] = s - y[i]; break;
    case 'mul': for (let i = 0; i < n; i++) out[i] = s * y[i]; break;
    case 'div': for (let i = 0; i < n; i++) out[i] = s / y[i]; break;
    case 'maximum': for (let i = 0; i < n; i++) out[i] = Math.max(s, y[i]); break;
    case 'greater': for (let i = 0; i < n; i++) out[i] = s > y[i] ? 1 : 0; break;
  }
}

/** out[r*mid + m] = f32(x[r*mid + m] OP y[m]) (a bias on the trailing axes). */
function binaryRows(op: BinaryOp, x: Float32Array, y: Float32Array, out: Float32Array, mid: number): void {
  for (let k = 0; k < out.length; k += mid) {
    switch (op) {
      case 'add': for (let m = 0; m < mid; m++) out[k + m] = x[k + m] + y[m]; break;
      case 'sub': for (let m = 0; m < mid; m++) out[k + m] = x[k + m] - y[m]; break;
      case 'mul': for (let m = 0; m < mid; m++) out[k + m] = x[k + m] * y[m]; break;
      case 'div': for (let m = 0; m < mid; m++) out[k + m] = x[k + m] / y[m]; break;
      case 'maximum': for (let m = 0; m < mid; m++) out[k + m] = Math.max(x[k + m], y[m]); break;
      case 'greater': for (let m = 0; m < mid; m++) out[k + m] = x[k + m] > y[m] ? 1 : 0; break;
    }
  }
}

const isFull = (b: Broadcast, n: number): boolean => b.mid === n && b.inner === 1;

/** The canonical program of BinaryOp (backend.ts) for any two Broadcasts; fast loops for the usual ones. */
export function binaryReference(op: BinaryOp, a: Float32Array, ba: Broadcast, b: Float32Array, bb: Broadcast, out: Float32Array): void {
  const n = out.length;
  if (isFull(ba, n)) {
    if (isFull(bb, n)) return binaryLoop(op, a, b, out);
    if (bb.mid === 1) return binaryScalarRight(op, a, b[0], out);
    if (bb.inner === 1) return binaryRows(op, a, b, out, bb.mid);
    // Per-row statistics: one b value per run of `inner` outputs.
    for (let r = 0, k = 0; k < n; r++, k += bb.inner) binaryScalarRight(op, a, b[r % bb.mid], out, k, bb.inner, k);
    return;
  }
  if (ba.mid === 1 && isFull(bb, n)) return binaryScalarLeft(op, a[0], b, out);
  const A = (i: number) => a[Math.floor(i / ba.inner) % ba.mid];
  const B = (i: number) => b[Math.floor(i / bb.inner) % bb.mid];
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[i] = A(i) + B(i); break;
    case 'sub': for (let i = 0; i < n; i++) out[i] = A(i) - B(i); break;
    case 'mul': for (let i = 0; i < n; i++) out[i] = A(i) * B(i); break;
    case 'div': for (let i = 0; i < n; i++) out[i] = A(i) / B(i); break;
    case 'maximum': for (let i = 0; i < n; i++) out[i] = Math.max(A(i), B(i)); break;
    case 'greater': for (let i = 0; i < n; i++) out[i] = A(i) > B(i) ? 1 : 0; break;
  }
}

export function unaryReference(op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = expf(x[i]); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = logf(x[i]); break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = tanhf(x[i]); break;
  }
}

export function reduceReference(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, L: number, inner: number): void {
  out.fill(op === 'sum' ? 0 : -Infinity, 0, outer * inner);
  for (let o = 0; o < outer; o++) {
    const ob = o * inner;
    for (let l = 0; l < L; l++) {
      const base = (o * L + l) * inner;
      if (op === 'sum') for (let i = 0; i < inner; i++) out[ob + i] += x[base + i];
      else for (let i = 0; i < inner; i++) out[ob + i] = Math.max(out[ob + i], x[base + i]);
    }
  }
}

export function gatherStridedReference(x: Float32Array, out: Float32Array, shape: readonly number[], strides: readonly number[]): void {
  const r = shape.length;
  const n = out.length;
  if (n === 0) return;
  if (r === 0) {
    out[0] = x[0];
    return;
  }
  // Innermost axis as a tight loop; the rest by an odometer.
  const last = r - 1, lastN = shape[last], lastS = strides[last];
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let e = 0; e < n; e += lastN) {
    for (let j = 0, o = off; j < lastN; j++, o += lastS) out[e + j] = x[o];
    for (let ax = last - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += strides[ax];
      if (idx[ax] < shape[ax]) break;
      off -= strides[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
}

export function gatherRowsReference(table: Float32Array, indices: Int32Array, row: number, out: Float32Array): void {
  for (let p = 0; p < indices.length; p++) out.set(table.subarray(indices[p] * row, (indices[p] + 1) * row), p * row);
}

export function scatterAddRowsReference(g: Float32Array, indices: Int32Array, row: number, out: Float32Array): void {
  for (let p = 0; p < indices.length; p++) {
    const o = indices[p] * row, s = p * row;
    for (let j = 0; j < row; j++) out[o + j] += g[s + j];
  }
}

export function im2colReference(d: Float32Array, geo: Im2colGeometry, out: Float32Array): void {
  const { N, C, H, W, kh, kw, stride, pad: p, OH, OW } = geo;
  const P = N * OH * OW;
  out.fill(0, 0, C * kh * kw * P);
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const r = (c * kh + ky) * kw + kx;
        let col = r * P;
        for (let n = 0; n < N; n++) {
          const plane = (n * C + c) * H * W;
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * stride + ky - p;
            if (iy < 0 || iy >= H) {
              col += OW;
              continue;
            }
            const rowBase = plane + iy * W;
            for (let ox = 0; ox < OW; ox++, col++) {
              const ix = ox * stride + kx - p;
              if (ix >= 0 && ix < W) out[col] = d[rowBase + ix];
            }
          }
        }
      }
    }
  }
}

export function col2imReference(gd: Float32Array, geo: Im2colGeometry, gx: Float32Array): void {
  const { N, C, H, W, kh, kw, stride, pad: p, OH, OW } = geo;
  const P = N * OH * OW;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        let col = ((c * kh + ky) * kw + kx) * P;
        for (let n = 0; n < N; n++) {
          const plane = (n * C + c) * H * W;
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * stride + ky - p;
            if (iy < 0 || iy >= H) {
              col += OW;
              continue;
            }
            for (let ox = 0; ox < OW; ox++, col++) {
              const ix = ox * stride + kx - p;
              if (ix >= 0 && ix < W) gx[plane + iy * W + ix] += gd[col];
            }
          }
        }
      }
    }
  }
}

export function sumAllReference(x: Float32Array): number {
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc = fround(acc + x[i]);
  return acc;
}

export function sumSquaresReference(x: Float32Array, acc: number): number {
  for (let i = 0; i < x.length; i++) acc = fround(acc + fround(x[i] * x[i]));
  return acc;
}

function geluTanh(xi: number): number {
  const x2 = fround(xi * xi), x3 = fround(x2 * xi), t = fround(x3 * GELU_C1), u = fround(xi + t), v = fround(u * GELU_C2);
  return tanhf(v);
}

export function geluReference(x: Float32Array, out: Float32Array, thOut?: Float32Array | null): void {
  for (let i = 0; i < out.length; i++) {
    const xi = x[i];
    const th = geluTanh(xi), h = fround(xi * 0.5), a = fround(th + 1);
    if (thOut) thOut[i] = th;
    out[i] = h * a;
  }
}

export function geluBackwardReference(x: Float32Array, g: Float32Array, prev: Float32Array | null, out: Float32Array, thIn?: Float32Array | null): void {
  for (let i = 0; i < out.length; i++) {
    const xi = x[i], gi = g[i];
    const x2 = fround(xi * xi);
    const th = thIn ? thIn[i] : geluTanh(xi), h = fround(xi * 0.5), a = fround(th + 1);
    const gh = fround(gi * a), ga = fround(gi * h);
    const gv = fround(ga * fround(1 - fround(th * th)));
    const gu = fround(gv * GELU_C2);
    let acc = prev ? fround(prev[i] + gu) : gu;
    const gx3 = fround(gu * GELU_C1);
    acc = fround(acc + fround(gx3 * x2));
    const gx2 = fround(gx3 * xi);
    acc = fround(acc + fround(gx2 * xi));
    acc = fround(acc + fround(gx2 * xi));
    out[i] = acc + fround(gh * 0.5);
  }
}

export function softmaxReference(x: Float32Array, o: SoftmaxOptions, y: Float32Array, e: Float32Array, s: Float32Array): void {
  const { rows, L, scale, mask, maskRows } = o;
  for (let r = 0; r < rows; r++) {
    const b = r * L, mb = (r % maskRows) * L;
    let m = -Infinity;
    for (let j = 0; j < L; j++) {
      let w = x[b + j];
      if (scale !== null) w = fround(w * scale);
      if (mask) w = fround(w + mask[mb + j]);
      e[b + j] = w;
      m = Math.max(m, w);
    }
    let acc = 0;
    for (let j = 0; j < L; j++) {
      const ej = expf(fround(e[b + j] - m));
      e[b + j] = ej;
      acc = fround(acc + ej);
    }
    s[r] = acc;
    for (let j = 0; j < L; j++) y[b + j] = e[b + j] / acc;
  }
}

export function softmaxBackwardReference(g: Float32Array, y: Float32Array, e: Float32Array, s: Float32Array, o: SoftmaxOptions, prev: Float32Array | null, out: Float32Array): void {
  const { rows, L, scale } = o;
  for (let r = 0; r < rows; r++) {
    const b = r * L, sr = s[r];
    let gs = 0;
    for (let j = 0; j < L; j++) gs = fround(gs + -fround(fround(g[b + j] * y[b + j]) / sr));
    for (let j = 0; j < L; j++) {
      let gx = fround(fround(fround(g[b + j] / sr) + gs) * e[b + j]);
      if (scale !== null) gx = fround(gx * scale);
      out[b + j] = prev ? prev[b + j] + gx : gx;
    }
  }
}

export function layerNormReference(x: Float32Array, gamma: Float32Array, beta: Float32Array, o: LayerNormOptions, y: Float32Array, mu: Float32Array, sd: Float32Array): void {
  const { rows, D, eps } = o;
  for (let r = 0; r < rows; r++) {
    const b = r * D;
    let s1 = 0;
    for (let j = 0; j < D; j++) s1 = fround(s1 + x[b + j]);
    const m = fround(s1 / D);
    let s2 = 0;
    for (let j = 0; j < D; j++) {
      const xc = fround(x[b + j] - m);
      s2 = fround(s2 + fround(xc * xc));
    }
    const d = fround(Math.sqrt(fround(fround(s2 / D) + eps)));
    mu[r] = m;
    sd[r] = d;
    for (let j = 0; j < D; j++) {
      const xh = fround(fround(x[b + j] - m) / d);
      y[b + j] = fround(xh * gamma[j]) + beta[j];
    }
  }
}

export function layerNormBackwardReference(
  x: Float32Array, gamma: Float32Array, mu: Float32Array, sd: Float32Array, g: Float32Array, o: LayerNormOptions,
  prev: Float32Array | null, out: Float32Array, gGamma: Float32Array, gBeta: Float32Array,
): void {
  const { rows, D } = o;
  gGamma.fill(0, 0, D);
  gBeta.fill(0, 0, D);
  for (let r = 0; r < rows; r++) {
    const b = r * D, m = mu[r], d = sd[r];
    let gsd = 0;
    for (let j = 0; j < D; j++) {
      const xh = fround(fround(x[b + j] - m) / d);
      const g9 = fround(g[b + j] * gamma[j]);
      gsd = fround(gsd + -fround(fround(g9 * xh) / d));
      gBeta[j] += g[b + j];
      gGamma[j] += fround(g[b + j] * xh);
    }
    const g5 = fround(fround(gsd / fround(d * 2)) / D);
    let gmu = 0;
    for (let j = 0; j < D; j++) {
      const xc = fround(x[b + j] - m);
      const g9 = fround(g[b + j] * gamma[j]);
      const t = fround(g5 * xc);
      const g3 = fround(fround(fround(g9 / d) + t) + t);
      out[b + j] = prev ? prev[b + j] + g3 : g3; // out may be prev: read before written
      gmu = fround(gmu + -g3);
    }
    const g1 = fround(gmu / D);
    for (let j = 0; j < D; j++) out[b + j] = out[b + j] + g1;
  }
}

export const referenceBackend: Backend = {
  name: 'reference',
  matmul: matmulReference,
  binary: binaryReference,
  unary: unaryReference,
  reduce: reduceReference,
  gatherStrided: gatherStridedReference,
  im2col: im2colReference,
  col2im: col2imReference,
  gatherRows: gatherRowsReference,
  scatterAddRows: scatterAddRowsReference,
  sumAll: sumAllReference,
  sumSquares: sumSquaresReference,
  gelu: geluReference,
  geluBackward: geluBackwardReference,
  layerNorm: layerNormReference,
  layerNormBackward: layerNormBackwardReference,
  softmax: softmaxReference,
  softmaxBackward: softmaxBackwardReference,
  adamw: adamwReference,
  sgd: sgdReference,
  allFinite: allFiniteReference,
  alloc: (n) => new Float32Array(n),
  temp: (n) => new Float32Array(n),
  mark: () => 0,
  release: () => {},
};
