// The held-out test split: a pure function of the dataset's hash and the test fraction, never of
// the job seed, so every job on the same data is scored on the same examples.
//
// Classification: nTest = round(n * testFraction) (binary64, round half away from zero as
// Math.round does for positives); p = permutation(subStream(rngStream(0, 'split'), hash), n); train
// = p[0 .. n-nTest), test = p[n-nTest .. n), each then sorted ascending so both keep the source order.
// Text: train = tokens[0 .. len-nTest), test = the last nTest tokens (nTest = round(len * testFraction)).
//
// A split's hash names it by derivation rather than by content:
//   SHA-256("veritrain/split/v1" ‖ 0x00 ‖ parent hash (32 raw bytes) ‖ "train"|"test" ‖ 0x00 ‖ f64le testFraction)
import { InputError } from '../../errors.ts';
import { sha256Hex, utf8 } from '../../engine/hash.ts';
import { permutation, rngStream, subStream } from '../../engine/rng.ts';
import { featureCount, type ClassificationDataset, type Dataset, type TextDataset } from './dataset.ts';

export interface Split<D extends Dataset> {
  train: D;
  test: D;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function splitHash(parentHash: string, part: 'train' | 'test', testFraction: number): string {
  const f = new Uint8Array(8);
  new DataView(f.buffer).setFloat64(0, testFraction, true);
  return sha256Hex(utf8('veritrain/split/v1\0'), hexBytes(parentHash), utf8(`${part}\0`), f);
}

function testCount(total: number, testFraction: number): number {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new InputError(`testFraction must be in [0, 1), got ${testFraction}`, { hint: 'use e.g. 0.2 to hold out 20% for testing' });
  }
  return Math.round(total * testFraction);
}

function pickRows(ds: ClassificationDataset, rows: Uint32Array, part: 'train' | 'test', testFraction: number): ClassificationDataset {
  const f = featureCount(ds.inputShape);
  const x = new Float32Array(rows.length * f);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    x.set(ds.x.subarray(r * f, r * f + f), i * f);
    y[i] = ds.y[r];
  }
  return {
    kind: 'classification',
    name: `${ds.name}:${part}`,
    hash: splitHash(ds.hash, part, testFraction),
    n: rows.length,
    inputShape: [...ds.inputShape],
    numClasses: ds.numClasses,
    x,
    y,
  };
}

export function splitDataset(ds: ClassificationDataset, testFraction: number): Split<ClassificationDataset>;
export function splitDataset(ds: TextDataset, testFraction: number): Split<TextDataset>;
export function splitDataset(ds: Dataset, testFraction: number): Split<Dataset>;
export function splitDataset(ds: Dataset, testFraction: number): Split<Dataset> {
  if (ds.kind === 'text') {
    const len = ds.tokens.length;
    const nTrain = len - testCount(len, testFraction);
    const part = (p: 'train' | 'test', tokens: Int32Array): TextDataset => ({
      kind: 'text', name: `${ds.name}:${p}`, hash: splitHash(ds.hash, p, testFraction), vocab: [...ds.vocab], tokens,
    });
    return { train: part('train', ds.tokens.slice(0, nTrain)), test: part('test', ds.tokens.slice(nTrain)) };
  }
  const nTrain = ds.n - testCount(ds.n, testFraction);
  const p = permutation(subStream(rngStream(0, 'split'), ds.hash), ds.n);
  const train = p.slice(0, nTrain).sort();
  const test = p.slice(nTrain).sort();
  return { train: pickRows(ds, train, 'train', testFraction), test: pickRows(ds, test, 'test', testFraction) };
}
