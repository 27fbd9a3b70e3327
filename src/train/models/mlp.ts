// Multilayer perceptron: flatten, then Linear (+activation) layers.
import { linear, relu, tanh, gelu } from '../../engine/nn.ts';
import { reshape } from '../../engine/ops.ts';
import { Tensor } from '../../engine/tensor.ts';
import { constParam, uniformParam } from './init.ts';
import { inputTensor, sortByName, type Batch, type Model } from './types.ts';

export interface MlpConfig {
  inputs: number;
  hidden: number[];
  classes: number;
  activation: 'relu' | 'tanh' | 'gelu';
}

const ACT = { relu, tanh, gelu };

export function createMlp(cfg: MlpConfig, seed: number): Model {
  const widths = [cfg.inputs, ...cfg.hidden, cfg.classes];
  const layers: { w: Tensor; b: Tensor }[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const [fin, fout] = [widths[i], widths[i + 1]];
    layers.push({
      w: uniformParam(seed, `fc${i + 1}.weight`, [fin, fout], fin),
      b: uniformParam(seed, `fc${i + 1}.bias`, [fout], fin),
    });
  }
  const act = ACT[cfg.activation];
  return {
    params: sortByName(layers.flatMap((l) => [l.w, l.b])),
    logits(batch: Batch) {
      if (batch.kind !== 'classification') throw new Error('mlp needs a classification batch');
      let h = reshape(inputTensor(batch.x, [batch.batchSize * cfg.inputs]), [batch.batchSize, cfg.inputs]);
      layers.forEach((l, i) => {
        h = linear(h, l.w, l.b);
        if (i + 1 < layers.length) h = act(h);
      });
      return h;
    },
  };
}

export { constParam };
