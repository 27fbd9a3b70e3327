// Op descriptors (docs/verification.md §5): what the program root commits to for one op of a
// training step, in the form the on-chain op judge (contracts/verify/OpJudge.sol) reads. A
// descriptor is (kind, input shapes and types, output shape and type, attrs); the level-2 judge
// adds the memory slots its inputs come from. Kinds are the op observer's (src/engine/trace.ts).
//
// Bytes: big-endian u32 words
//   kind, nInputs, { dtype, rank, dims… } per input, dtype, rank, dims… of the output, nAttrs, attrs…
// dtype 0 = binary32, 1 = 32-bit integer (labels, tokens, indices, keys: committed as u32 words).
// Attrs are u32 words; binary32 attrs are their bit patterns; booleans 0/1; a null axis 0xffffffff.
import { InputError } from '../../errors.ts';
import { f32ToBits } from '../scalar.ts';

/** Kind codes. Never renumber: program roots and the contract use these numbers. */
export const KIND = {
  const: 0,
  add: 1, sub: 2, mul: 3, div: 4, maximum: 5, greater: 6,
  neg: 7, exp: 8, log: 9, sqrt: 10, tanh: 11,
  sum: 12, max: 13, matmul: 14,
  reshape: 15, copy: 16, permute: 17, slice: 18, pad: 19, concat: 20, expand: 21,
  gather: 22, im2col: 23, sumTo: 24, maxBackward: 25, scatterAdd: 26, col2im: 27,
  onehot: 28, dropoutMask: 29, causalMask: 30, windows: 31,
  sumSquares: 32, select: 33,
  adamwM: 34, adamwV: 35, adamwW: 36, sgdBuf: 37, sgdW: 38,
  sumSquaresAcc: 39,
} as const;

export type KindName = keyof typeof KIND;
export const KIND_NAMES = Object.keys(KIND) as KindName[];

export type DType = 'f32' | 'u32';

export interface TensorSpec {
  shape: readonly number[];
  dtype: DType;
}

export interface OpDescriptor {
  kind: KindName;
  inputs: readonly TensorSpec[];
  output: TensorSpec;
  /** u32 words, per kind (ATTRS below). */
  attrs: readonly number[];
}

export const NULL_AXIS = 0xffffffff;

/** The attrs words of each kind, by name, in order (binary32 values as bits). */
export const ATTRS: Record<KindName, readonly string[]> = {
  const: ['value'],
  add: [], sub: [], mul: [], div: [], maximum: [], greater: [],
  neg: [], exp: [], log: [], sqrt: [], tanh: [],
  sum: ['axis'], max: ['axis'], matmul: ['transA', 'transB'],
  reshape: [], copy: [], permute: ['axes…'], slice: ['axis', 'start', 'end'], pad: ['axis', 'before', 'after'],
  concat: ['axis'], expand: [],
  gather: [], im2col: ['kh', 'kw', 'stride', 'pad'], sumTo: [], maxBackward: ['axis'], scatterAdd: ['rows'],
  col2im: ['kh', 'kw', 'stride', 'pad'],
  onehot: ['classes'], dropoutMask: ['p', 'offset', 'scale'], causalMask: ['size'], windows: ['length', 'shift'],
  sumSquares: [], select: [],
  adamwM: ['b1', 'c1'], adamwV: ['b2', 'c2'], adamwW: ['eps', 'weightDecay'], sgdBuf: ['mu', 'wd'], sgdW: [],
  sumSquaresAcc: [],
};

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function bad(d: { kind: string }, what: string): never {
  throw new InputError(`op descriptor ${d.kind}: ${what}`, { hint: 'descriptors come from describe(record) of src/verify/ops' });
}

function checkWord(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InputError(`op descriptor: ${what} ${v} is not a u32 word`);
}

/** The descriptor as bytes (the format above). */
export function encodeOp(d: OpDescriptor): Uint8Array {
  const words: number[] = [KIND[d.kind], d.inputs.length];
  const spec = (t: TensorSpec) => {
    words.push(t.dtype === 'f32' ? 0 : 1, t.shape.length, ...t.shape);
  };
  d.inputs.forEach(spec);
  spec(d.output);
  words.push(d.attrs.length, ...d.attrs);
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => {
    checkWord(w, 'word');
    dv.setUint32(i * 4, w, false);
  });
  return out;
}

/** Parses encodeOp's bytes; throws InputError on anything malformed. */
export function decodeOp(bytes: Uint8Array): OpDescriptor {
  if (bytes.length % 4 !== 0) throw new InputError(`op descriptor: ${bytes.length} bytes is not a whole number of words`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / 4;
  let at = 0;
  const next = () => {
    if (at >= n) throw new InputError('op descriptor: truncated');
    return dv.getUint32(4 * at++, false);
  };
  const code = next();
  const kind = KIND_NAMES[code];
  if (kind === undefined) throw new InputError(`op descriptor: unknown kind ${code}`);
  const spec = (): TensorSpec => {
    const dt = next();
    if (dt > 1) throw new InputError(`op descriptor: unknown dtype ${dt}`);
    const rank = next();
    if (rank > 8) throw new InputError(`op descriptor: rank ${rank} > 8`);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(next());
    return { dtype: dt === 0 ? 'f32' : 'u32', shape };
  };
  const nIn = next();
  if (nIn > 64) throw new InputError(`op descriptor: ${nIn} inputs > 64`);
  const inputs: TensorSpec[] = [];
  for (let i = 0; i < nIn; i++) inputs.push(spec());
  const output = spec();
  const nAttrs = next();
  if (nAttrs > 16) throw new InputError(`op descriptor: ${nAttrs} attrs > 16`);
  const attrs: number[] = [];
  for (let i = 0; i < nAttrs; i++) attrs.push(next());
  if (at !== n) throw new InputError(`op descriptor: ${n - at} trailing words`);
  return { kind, inputs, output, attrs };
}

// ---------------------------------------------------------------------------------------------
// From the op observer's records (src/engine/trace.ts) to descriptors.

/** The part of a trace.ts OpRecord that a descriptor needs (structurally: a Tensor has shape + data). */
export interface RecordLike {
  kind: string;
  attrs: Readonly<Record<string, number | boolean | null | readonly number[]>>;
  inputs: readonly (ValueLike | Int32Array)[];
  output: ValueLike | Int32Array;
}

export interface ValueLike {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint32Array;
}

function specOf(v: ValueLike | Int32Array): TensorSpec {
  if (v instanceof Int32Array) return { shape: [v.length], dtype: 'u32' };
  return { shape: [...v.shape], dtype: v.data instanceof Float32Array ? 'f32' : 'u32' };
}

const bits = (x: number) => f32ToBits(Math.fround(x));

/** The descriptor of one observer record. Throws InputError for a kind or attrs it does not know. */
export function describe(r: RecordLike): OpDescriptor {
  return describeSpecs(r.kind, r.attrs, r.inputs.map(specOf), specOf(r.output));
}

/** encodeOp(describeSpecs(...)): the descriptor bytes of a record given by kind, attrs and shapes. */
export function encodeDescriptor(kind: string, attrs: RecordLike['attrs'], inputs: readonly TensorSpec[], output: TensorSpec): Uint8Array {
  return encodeOp(describeSpecs(kind, attrs, inputs, output));
}

/** The descriptor of a record's kind and attrs (trace.ts form) on inputs and an output of these specs. */
export function describeSpecs(kindName: string, a: RecordLike['attrs'], inputs: readonly TensorSpec[], output: TensorSpec): OpDescriptor {
  if (!(kindName in KIND)) {
    throw new InputError(`no op kind "${kindName}" in the op table`, { details: `known: ${KIND_NAMES.join(', ')}` });
  }
  const kind = kindName as KindName;
  const r = { kind };
  const num = (k: string): number => {
    const v = a[k];
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number') bad(r, `attr ${k} missing`);
    return v;
  };
  const rank = inputs[0]?.shape.length ?? 0;
  const axis = (k: string) => {
    const v = num(k);
    return v < 0 ? v + rank : v;
  };
  let attrs: number[];
  switch (kind) {
    case 'const': attrs = [bits(num('value'))]; break;
    case 'sum': attrs = [a.axis === null || a.axis === undefined ? NULL_AXIS : axis('axis')]; break;
    case 'max': case 'maxBackward': attrs = [axis('axis')]; break;
    case 'matmul': attrs = [a.transA ? 1 : 0, a.transB ? 1 : 0]; break;
    case 'permute': attrs = [...(a.axes as readonly number[])]; break;
    case 'slice': attrs = [axis('axis'), num('start'), num('end')]; break;
    case 'pad': attrs = [axis('axis'), num('before'), num('after')]; break;
    case 'concat': attrs = [axis('axis')]; break;
    case 'im2col': case 'col2im': attrs = [num('kh'), num('kw'), num('stride'), num('pad')]; break;
    case 'scatterAdd': attrs = [num('rows')]; break;
    case 'onehot': attrs = [num('classes')]; break;
    case 'dropoutMask': {
      const p = Math.fround(num('p'));
      attrs = [bits(p), num('offset'), bits(Math.fround(1 / Math.fround(1 - p)))];
      break;
    }
    case 'causalMask': attrs = [num('size')]; break;
    case 'windows': attrs = [num('length'), num('shift')]; break;
    case 'adamwM': attrs = [bits(num('b1')), bits(num('c1'))]; break;
    case 'adamwV': attrs = [bits(num('b2')), bits(num('c2'))]; break;
    case 'adamwW': attrs = [bits(num('eps')), bits(num('weightDecay'))]; break;
    case 'sgdBuf': attrs = [bits(num('mu')), bits(num('wd'))]; break;
    default: attrs = [];
  }
  const d: OpDescriptor = { kind, inputs: inputs.map((t) => ({ shape: [...t.shape], dtype: t.dtype })), output: { shape: [...output.shape], dtype: output.dtype }, attrs };
  checkDescriptor(d);
  return d;
}

/** Shape rules every descriptor obeys (the element programs index by them). */
export function checkDescriptor(d: OpDescriptor): void {
  const want = ATTRS[d.kind];
  if (want.length && !want[0].endsWith('…') && d.attrs.length !== want.length) bad(d, `${d.attrs.length} attrs, expected ${want.length}`);
  for (const t of [...d.inputs, d.output]) for (const x of t.shape) checkWord(x, 'dimension');
  d.attrs.forEach((w) => checkWord(w, 'attr'));
  const nIn = d.inputs.length;
  const needInputs: Partial<Record<KindName, number>> = {
    const: 0, causalMask: 0, matmul: 2, gather: 2, scatterAdd: 2, windows: 2, maxBackward: 3, select: 3,
    adamwM: 2, adamwV: 2, adamwW: 6, sgdBuf: 4, sgdW: 3, onehot: 1, dropoutMask: 1, sumSquaresAcc: 2,
  };
  const need = needInputs[d.kind] ?? (['add', 'sub', 'mul', 'div', 'maximum', 'greater'].includes(d.kind) ? 2 : undefined);
  if (need !== undefined && nIn !== need) bad(d, `${nIn} inputs, expected ${need}`);
  if (need === undefined && d.kind !== 'concat' && d.kind !== 'sumSquares' && nIn !== 1) bad(d, `${nIn} inputs, expected 1`);
  if ((d.kind === 'concat' || d.kind === 'sumSquares') && nIn < 1) bad(d, 'needs at least one input');
}
