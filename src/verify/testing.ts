// Tiny real jobs for the verification tests: a CSV classification table or a text file written to a
// temporary directory, and specs small enough that a traced step takes milliseconds. Everything is
// a pure function of the seed, so a failing randomized case can be rerun.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomU32s, rngStream } from '../engine/rng.ts';
import { parseSpec, type JobSpec } from '../train/spec.ts';

export interface TinyJob {
  spec: JobSpec;
  baseDir: string;
}

export interface TinyJobOptions {
  kind?: 'mlp' | 'gpt';
  optimizer?: 'adamw' | 'sgd';
  steps?: number;
  checkpointInterval?: number;
  gradClip?: number | null;
  dropout?: number;
  seed?: number;
  /** Hidden width (mlp) or model width (gpt). */
  width?: number;
  batchSize?: number;
}

/** A small random job (data generated from `seed`), written under a fresh temporary directory. */
export function tinyJob(o: TinyJobOptions = {}): TinyJob {
  const seed = o.seed ?? 1;
  const kind = o.kind ?? 'mlp';
  const dir = mkdtempSync(join(tmpdir(), 'vt-tiny-'));
  const u = randomU32s(rngStream(seed, 'tiny-data'), 0, 4096);
  let dataset: Record<string, unknown>;
  if (kind === 'mlp') {
    const F = 6, rows = 48;
    const lines = [[...Array.from({ length: F }, (_, i) => `f${i}`), 'label'].join(',')];
    for (let r = 0; r < rows; r++) {
      const x = Array.from({ length: F }, (_, i) => ((u[r * F + i] % 2000) / 1000 - 1).toFixed(3));
      lines.push([...x, String(u[3000 + r] % 3)].join(','));
    }
    writeFileSync(join(dir, 'data.csv'), lines.join('\n') + '\n');
    dataset = { format: 'csv', path: 'data.csv', labelColumn: 'label', numClasses: 3 };
  } else {
    const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'ran', 'off'];
    const text = Array.from({ length: 120 }, (_, i) => words[u[i] % words.length]).join(' ');
    writeFileSync(join(dir, 'data.txt'), text + '\n');
    dataset = { format: 'text', path: 'data.txt' };
  }
  const width = o.width ?? (kind === 'mlp' ? 8 : 8);
  const spec = parseSpec({
    version: 1,
    name: `tiny-${kind}-${seed}`,
    model: kind === 'mlp'
      ? { type: 'mlp', hidden: [width], activation: 'relu' }
      : { type: 'gpt', layers: 1, dModel: width, heads: 2, context: 6, dropout: o.dropout ?? 0 },
    dataset,
    testFraction: 0.25,
    optimizer: (o.optimizer ?? 'adamw') === 'adamw'
      ? { type: 'adamw', lr: 0.01, weightDecay: kind === 'gpt' ? 0.01 : 0 }
      : { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.001 },
    schedule: kind === 'gpt' ? { warmupSteps: 2, decay: 'cosine', minLrRatio: 0.1 } : {},
    gradClip: o.gradClip === undefined ? (kind === 'gpt' ? 1 : null) : o.gradClip,
    batchSize: o.batchSize ?? 4,
    steps: o.steps ?? 8,
    seed,
    checkpointInterval: o.checkpointInterval ?? 4,
  });
  return { spec, baseDir: dir };
}
