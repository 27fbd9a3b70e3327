// The op observer: with an observer set, every data-producing computation of a training step is
// reported, in execution order, as a record (kind, attrs, inputs, output). The verification layer
// turns that sequence into the step's op trace (docs/verification.md §4–5); tests replay it.
// With no observer set each call site costs one null check.
//
// Identity, not value: an input is named by the object that holds it. A record's output is always a
// fresh object (a Tensor, or an Int32Array for integer data). An input that is not a record output
// or a declared input by its Tensor identity is resolved by its data array (the latest record
// output or declared input holding that array): detach(), reshape views and the wrappers models put
// around batch arrays share their array with what produced it. In-place updates (clipping, the
// optimizer) report fresh wrappers of the updated arrays as their outputs, so the array's latest
// holder is always the newest value. An observer that keeps values must copy or hash them when they
// are reported: arrays updated in place change afterwards.
//
// Kinds and attrs (the canonical scalar program of each is written beside its code; shapes are the
// inputs' and the output's shapes; integer data is rank 1):
//   const {value}                      scalar binary32 constant of the program (no inputs)
//   add sub mul div maximum greater    (a, b) broadcast elementwise (ops.ts)
//   neg exp log sqrt tanh              (x) elementwise
//   sum {axis|null, keepDims}          (x) ascending reduction; axis null: whole tensor → []
//   max {axis, keepDims}               (x)
//   matmul {transA, transB}            (a, b) ops.ts matmul / kernels/backend.ts program
//   reshape {shape}  permute {axes}  slice {axis, start, end}  pad {axis, before, after}
//   concat {axis} (x1..xn)  expand {shape}                        movement, exact copies
//   gather {}                          (table, indices: int) rows of table; output [indices, ...row]
//                                      (an int table gives int rows: the batch's labels)
//   im2col {kh, kw, stride, pad}       (x [N,C,H,W])
//   sumTo {shape}                      (g) broadcast reduction (ops.ts sumTo)
//   maxBackward {axis}                 (x, y = max(x), g): g to the first element equal to the max
//   scatterAdd {rows}                  (g, indices: int) gather's backward
//   col2im {kh, kw, stride, pad}       (g, x) im2col's backward into x's shape (x: shape only)
//   copy                               (x) the leaf-gradient copy
//   onehot {classes}                   (labels: int) [N, classes] with 1 at (i, labels[i])
//   dropoutMask {p, offset}            (key: int[2]) u = uniforms(key, offset + i); u >= p ? 1/(1-p) : 0
//   causalMask {size}                  () [T, T]: 0 on and below the diagonal, -1e30 above
//   windows {length, shift}            (tokens: int, starts: int) out[r*L + t] = tokens[starts[r] + shift + t]
//   sumSquares                         (g1..gn) acc = +0; for each input, elements ascending: acc = f32(acc + f32(g*g))
//   select                             (c, a, b) c != 0 ? a : b, elementwise (same shapes)
//   adamwM {b1, c1}                    (m, g) → m' = f32(f32(b1*m) + f32(c1*g))
//   adamwV {b2, c2}                    (v, g) → v' = f32(f32(b2*v) + f32(f32(c2*g)*g))
//   adamwW {eps, weightDecay}          (w, m', v', stepSize, sbc2, decay) → w' (kernels/backend.ts)
//   sgdBuf {mu, wd}                    (buf, g, w, first) → buf'
//   sgdW {}                            (w, buf', lr) → w'
import type { Tensor } from './tensor.ts';

/** What a record reads and writes: a binary32 tensor, or integer data (labels, tokens, indices, keys). */
export type TraceValue = Tensor | Int32Array;

export type AttrValue = number | boolean | null | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface OpRecord {
  kind: string;
  attrs: Attrs;
  inputs: readonly TraceValue[];
  output: TraceValue;
}

export interface OpObserver {
  /**
   * A value the step reads without computing it: a state tensor (`state.<name>`), a job input
   * (`data.x`, `data.y`, `data.tokens`) or a step input (`step.<name>`: batch indices, schedule
   * constants, random keys). Declaring the same object again under the same name is a no-op.
   */
  input(name: string, value: TraceValue): void;
  /** One computation, reported after it ran. */
  op(record: OpRecord): void;
}

/** The current observer (null: tracing off). Call sites test it before building a record. */
export let tracing: OpObserver | null = null;

/** Run fn with `observer` receiving every record; the previous observer is restored afterwards. */
export function withObserver<T>(observer: OpObserver, fn: () => T): T {
  const prev = tracing;
  tracing = observer;
  try {
    return fn();
  } finally {
    tracing = prev;
  }
}

const NO_ATTRS: Attrs = Object.freeze({});

/** Report one record (call only when `tracing` is set). */
export function traceOp(kind: string, attrs: Attrs | undefined, inputs: readonly TraceValue[], output: TraceValue): void {
  tracing?.op({ kind, attrs: attrs ?? NO_ATTRS, inputs, output });
}

/** Declare an input (call only when `tracing` is set). */
export function traceInput(name: string, value: TraceValue): void {
  tracing?.input(name, value);
}
