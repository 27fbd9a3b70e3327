// The records of a traced computation with their input and output VALUES, resolved the way
// src/engine/trace.ts defines identity (by object; else the latest holder of the data array, as a
// view when the shape differs), copied when reported (in-place updates change arrays afterwards).
// What a dispute party needs to build an OpProver for op j of a step.
import { InputError } from '../../errors.ts';
import type { OpObserver, OpRecord, TraceValue } from '../../engine/trace.ts';
import type { TensorData } from '../../train/commit.ts';
import { describeSpecs, type OpDescriptor, type TensorSpec } from './descriptor.ts';

export interface Value {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

export interface ResolvedRecord {
  index: number;
  kind: string;
  attrs: OpRecord['attrs'];
  inputs: Value[];
  output: Value;
}

const specOf = (v: Value): TensorSpec => ({ shape: v.shape, dtype: v.data instanceof Float32Array ? 'f32' : 'u32' });

/** The descriptor of a resolved record, and its input data (for new OpProver(d, data, {output})). */
export function opOf(r: ResolvedRecord): { d: OpDescriptor; inputs: TensorData[]; output: TensorData } {
  return {
    d: describeSpecs(r.kind, r.attrs, r.inputs.map(specOf), specOf(r.output)),
    inputs: r.inputs.map((v) => v.data),
    output: r.output.data,
  };
}

/**
 * An observer that resolves and copies every record's values; `keep(record, index)` says which
 * records to return (all values are held while the observer lives, to resolve later inputs).
 */
export function recordingObserver(keep: (r: OpRecord, index: number) => boolean = () => true): OpObserver & { records: ResolvedRecord[] } {
  const byObject = new Map<object, Value>();
  const byArray = new Map<object, Value[]>();
  const records: ResolvedRecord[] = [];
  let index = 0;
  const copy = (v: TraceValue): Value => (v instanceof Int32Array ? { data: v.slice(), shape: [v.length] } : { data: v.data.slice(), shape: [...v.shape] });
  const hold = (v: TraceValue): Value => {
    const h = copy(v);
    byObject.set(v, h);
    const a = v instanceof Int32Array ? v : v.data;
    const list = byArray.get(a);
    if (list) list.push(h);
    else byArray.set(a, [h]);
    return h;
  };
  const resolve = (v: TraceValue, where: string): Value => {
    const h = byObject.get(v);
    if (h) return h;
    if (v instanceof Int32Array) throw new InputError(`${where}: an integer input that is neither declared nor an earlier output`);
    const list = byArray.get(v.data) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i].shape.join() === v.shape.join()) return list[i];
    const last = list[list.length - 1];
    if (!last) throw new InputError(`${where}: input [${v.shape}] is neither declared nor an earlier output`);
    return { data: last.data, shape: [...v.shape] };
  };
  return {
    records,
    input(_name, v) {
      if (!byObject.has(v)) hold(v);
    },
    op(r) {
      const inputs = r.inputs.map((v, i) => resolve(v, `record ${index} (${r.kind}) input ${i}`));
      const output = hold(r.output);
      if (keep(r, index)) records.push({ index, kind: r.kind, attrs: r.attrs, inputs, output });
      index++;
    },
  };
}
