// Build a model from the spec's model section and the dataset it trains on.
import { InputError } from '../../errors.ts';
import type { Dataset } from '../data/dataset.ts';
import { createLenet5 } from './cnn.ts';
import { createGpt } from './gpt.ts';
import { createMlp } from './mlp.ts';
import type { Model } from './types.ts';

export type ModelSpec =
  | { type: 'mlp'; hidden: number[]; activation: 'relu' | 'tanh' | 'gelu' }
  | { type: 'cnn'; arch: 'lenet5' }
  | { type: 'gpt'; layers: number; dModel: number; heads: number; context: number; dropout: number };

export function buildModel(m: ModelSpec, ds: Dataset, seed: number): Model {
  if (m.type === 'gpt') {
    if (ds.kind !== 'text') throw new InputError('model "gpt" needs a text dataset', { hint: 'use {"builtin": "tiny-text"} or a {"format": "text"} file' });
    if (m.dModel % m.heads !== 0) throw new InputError(`gpt: dModel ${m.dModel} is not divisible by heads ${m.heads}`);
    return createGpt({ vocab: ds.vocab.length, layers: m.layers, dModel: m.dModel, heads: m.heads, context: m.context, dropout: m.dropout }, seed);
  }
  if (ds.kind !== 'classification') {
    throw new InputError(`model "${m.type}" needs a classification dataset`, { hint: 'use {"builtin": "mnist-digits"}, an IDX or a CSV dataset' });
  }
  const inputs = ds.inputShape.reduce((a, b) => a * b, 1);
  if (m.type === 'mlp') return createMlp({ inputs, hidden: m.hidden, classes: ds.numClasses, activation: m.activation }, seed);
  const shape = ds.inputShape.length === 3 ? ds.inputShape : ds.inputShape.length === 1 && inputs === 784 ? [1, 28, 28] : ds.inputShape;
  if (shape.length !== 3 || shape[1] !== 28 || shape[2] !== 28) {
    throw new InputError(`cnn lenet5 needs 28x28 images, the dataset has inputs of shape [${ds.inputShape}]`);
  }
  return createLenet5({ inputShape: shape, classes: ds.numClasses }, seed);
}
