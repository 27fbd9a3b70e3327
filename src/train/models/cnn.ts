// LeNet-5 (the common modern form): conv5x5(6, pad 2) relu pool, conv5x5(16) relu pool,
// 400-120-84-classes with relu. Input [B, 1, 28, 28].
import { conv2d, linear, maxPool2x2, relu } from '../../engine/nn.ts';
import { add, reshape } from '../../engine/ops.ts';
import { Tensor } from '../../engine/tensor.ts';
import { uniformParam } from './init.ts';
import { inputTensor, sortByName, type Batch, type Model } from './types.ts';

export interface CnnConfig {
  inputShape: number[]; // [C, H, W]
  classes: number;
}

export function createLenet5(cfg: CnnConfig, seed: number): Model {
  const [C, H, W] = cfg.inputShape;
  if (cfg.inputShape.length !== 3 || H !== 28 || W !== 28) {
    throw new Error(`lenet5 needs inputs [C, 28, 28], got [${cfg.inputShape}]`);
  }
  const convW = (name: string, oc: number, ic: number) => uniformParam(seed, `${name}.weight`, [oc, ic, 5, 5], ic * 25);
  const convB = (name: string, oc: number, ic: number) => uniformParam(seed, `${name}.bias`, [1, oc, 1, 1], ic * 25);
  const p = {
    c1w: convW('conv1', 6, C), c1b: convB('conv1', 6, C),
    c2w: convW('conv2', 16, 6), c2b: convB('conv2', 16, 6),
    f1w: uniformParam(seed, 'fc1.weight', [400, 120], 400), f1b: uniformParam(seed, 'fc1.bias', [120], 400),
    f2w: uniformParam(seed, 'fc2.weight', [120, 84], 120), f2b: uniformParam(seed, 'fc2.bias', [84], 120),
    f3w: uniformParam(seed, 'fc3.weight', [84, cfg.classes], 84), f3b: uniformParam(seed, 'fc3.bias', [cfg.classes], 84),
  };
  return {
    params: sortByName(Object.values(p)),
    logits(batch: Batch) {
      if (batch.kind !== 'classification') throw new Error('lenet5 needs a classification batch');
      const B = batch.batchSize;
      let h: Tensor = inputTensor(batch.x, [B, C, H, W]);
      h = maxPool2x2(relu(add(conv2d(h, p.c1w, { pad: 2 }), p.c1b))); // [B, 6, 14, 14]
      h = maxPool2x2(relu(add(conv2d(h, p.c2w), p.c2b))); // [B, 16, 5, 5]... 10x10 → 5x5
      h = reshape(h, [B, 400]);
      h = relu(linear(h, p.f1w, p.f1b));
      h = relu(linear(h, p.f2w, p.f2b));
      return linear(h, p.f3w, p.f3b);
    },
  };
}
