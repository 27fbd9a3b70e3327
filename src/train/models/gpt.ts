// Character-level decoder-only transformer (GPT-2 style, pre-LayerNorm, GELU MLP, learned
// positions, untied output head).
import { causalSelfAttention, dropout, embedding, gelu, layerNorm, linear } from '../../engine/nn.ts';
import { add, reshape, slice } from '../../engine/ops.ts';
import { rngStream, subStream } from '../../engine/rng.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { constParam, normalParam } from './init.ts';
import { sortByName, type Batch, type ForwardContext, type Model } from './types.ts';

export interface GptConfig {
  vocab: number;
  layers: number;
  dModel: number;
  heads: number;
  context: number;
  dropout: number;
}

export function createGpt(cfg: GptConfig, seed: number): Model {
  const { vocab: V, dModel: D, context: T0 } = cfg;
  const std = 0.02;
  const residStd = 0.02 / Math.sqrt(2 * cfg.layers);
  const tok = normalParam(seed, 'tok_emb', [V, D], std);
  const pos = normalParam(seed, 'pos_emb', [T0, D], std);
  const blocks = Array.from({ length: cfg.layers }, (_, l) => {
    const n = `h${l}.`;
    return {
      ln1g: constParam(`${n}ln1.weight`, [D], 1), ln1b: constParam(`${n}ln1.bias`, [D], 0),
      attn: {
        wqkv: normalParam(seed, `${n}attn.qkv.weight`, [D, 3 * D], std),
        bqkv: constParam(`${n}attn.qkv.bias`, [3 * D], 0),
        wo: normalParam(seed, `${n}attn.proj.weight`, [D, D], residStd),
        bo: constParam(`${n}attn.proj.bias`, [D], 0),
      },
      ln2g: constParam(`${n}ln2.weight`, [D], 1), ln2b: constParam(`${n}ln2.bias`, [D], 0),
      w1: normalParam(seed, `${n}mlp.fc.weight`, [D, 4 * D], std), b1: constParam(`${n}mlp.fc.bias`, [4 * D], 0),
      w2: normalParam(seed, `${n}mlp.proj.weight`, [4 * D, D], residStd), b2: constParam(`${n}mlp.proj.bias`, [D], 0),
    };
  });
  const lnfg = constParam('ln_f.weight', [D], 1), lnfb = constParam('ln_f.bias', [D], 0);
  const head = normalParam(seed, 'head.weight', [D, V], std);
  const all: Tensor[] = [tok, pos, lnfg, lnfb, head];
  for (const b of blocks) all.push(b.ln1g, b.ln1b, b.attn.wqkv, b.attn.bqkv, b.attn.wo, b.attn.bo, b.ln2g, b.ln2b, b.w1, b.b1, b.w2, b.b2);
  const dropStream = rngStream(seed, 'dropout');

  return {
    params: sortByName(all),
    logits(batch: Batch, ctx: ForwardContext) {
      if (batch.kind !== 'text') throw new Error('gpt needs a text batch');
      const B = batch.batchSize, T = batch.context;
      if (T > T0) throw new Error(`context ${T} longer than the model's ${T0}`);
      const ds = subStream(dropStream, ctx.step);
      let offset = 0;
      const drop = (x: Tensor) => {
        if (!ctx.training || cfg.dropout <= 0) return x;
        const y = dropout(x, cfg.dropout, ds, offset);
        offset += x.size;
        return y;
      };
      let x = add(embedding(tok, batch.x, [B, T]), T === T0 ? pos : slice(pos, 0, 0, T));
      x = drop(x);
      for (const b of blocks) {
        x = add(x, drop(causalSelfAttention(layerNorm(x, b.ln1g, b.ln1b), b.attn, cfg.heads)));
        x = add(x, drop(linear(gelu(linear(layerNorm(x, b.ln2g, b.ln2b), b.w1, b.b1)), b.w2, b.b2)));
      }
      return reshape(linear(layerNorm(x, lnfg, lnfb), head), [B * T, V]);
    },
  };
}
