import { newData, Tensor } from '../../engine/tensor.ts';
import { tracing } from '../../engine/trace.ts';

/** What the training loop feeds a model at one step. */
export type Batch =
  | { kind: 'classification'; x: Float32Array; y: Int32Array; batchSize: number }
  | { kind: 'text'; x: Int32Array; y: Int32Array; batchSize: number; context: number };

export interface ForwardContext {
  training: boolean;
  /** Step number: dropout masks are a pure function of (seed, step, call order). */
  step: number;
}

export interface Model {
  /** Parameters sorted by name (the canonical order for optimizers, clipping and hashing). */
  readonly params: Tensor[];
  /** Logits: [B, classes] for classification, [B*T, vocab] for text. */
  logits(batch: Batch, ctx: ForwardContext): Tensor;
}

export function sortByName(ps: Tensor[]): Tensor[] {
  return [...ps].sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
}

/**
 * The batch's input values as a tensor the engine's kernels can use in place: a copy in the step's
 * arena, except while an op observer watches (its trace names the batch by its array).
 */
export function inputTensor(x: Float32Array, shape: readonly number[]): Tensor {
  if (tracing) return new Tensor(x, shape);
  const d = newData(x.length);
  d.set(x);
  return new Tensor(d, shape);
}
