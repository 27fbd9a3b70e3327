// Datasets and their identity. A dataset is named by the SHA-256 of its canonical bytes, so two
// machines that hold the same examples in the same order agree on its hash whatever file it came from.
//
// Canonical bytes of a classification dataset (all integers little-endian):
//   "VTDSCLS1"                 8 bytes ASCII: magic + format version 1
//   u32 rank, u32 dims[rank]   the shape of ONE input (e.g. 3, 1, 28, 28)
//   u32 n                      number of examples
//   u32 numClasses
//   f32 x[n * prod(dims)]      binary32 features, example-major (row i = example i)
//   i32 y[n]                   labels in [0, numClasses)
// Canonical bytes of a text dataset: the UTF-8 bytes of the text, nothing else (so `sha256sum
// file.txt` gives its hash). Its vocabulary and tokens are derived from the text (see text.ts).
import { IntegrityError, ShapeError } from '../../errors.ts';
import { f32Bytes, LITTLE_ENDIAN, sha256Hex, utf8 } from '../../engine/hash.ts';

export interface ClassificationDataset {
  kind: 'classification';
  name: string;
  /** SHA-256 (hex) of the canonical bytes above; for a split, see split.ts. */
  hash: string;
  n: number;
  /** Shape of one input, e.g. [1, 28, 28] for images or [F] for a table. */
  inputShape: number[];
  numClasses: number;
  /** n × prod(inputShape) binary32 values, example-major. */
  x: Float32Array;
  y: Int32Array;
}

export interface TextDataset {
  kind: 'text';
  name: string;
  /** SHA-256 (hex) of the text's UTF-8 bytes; for a split, see split.ts. */
  hash: string;
  /** Sorted (by code point) unique characters; token t stands for vocab[t]. */
  vocab: string[];
  tokens: Int32Array;
}

export type Dataset = ClassificationDataset | TextDataset;

export const CLASSIFICATION_MAGIC = 'VTDSCLS1';

export function featureCount(inputShape: readonly number[]): number {
  let f = 1;
  for (const d of inputShape) f *= d;
  return f;
}

/** Bytes of an Int32Array in little-endian order, whatever the host's endianness. */
export function i32Bytes(a: Int32Array): Uint8Array {
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) return u8;
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(i * 4, a[i], true);
  return out;
}

/** The canonical header (everything before the features) of a classification dataset. */
export function classificationHeader(inputShape: readonly number[], n: number, numClasses: number): Uint8Array {
  const out = new Uint8Array(8 + 4 * (1 + inputShape.length + 2));
  out.set(utf8(CLASSIFICATION_MAGIC), 0);
  const dv = new DataView(out.buffer);
  let o = 8;
  dv.setUint32(o, inputShape.length, true); o += 4;
  for (const d of inputShape) { dv.setUint32(o, d, true); o += 4; }
  dv.setUint32(o, n, true); o += 4;
  dv.setUint32(o, numClasses, true);
  return out;
}

/** SHA-256 (hex) of a classification dataset's canonical bytes; streams, no concatenated copy. */
export function classificationHash(inputShape: readonly number[], numClasses: number, x: Float32Array, y: Int32Array): string {
  return sha256Hex(classificationHeader(inputShape, y.length, numClasses), f32Bytes(x), i32Bytes(y));
}

/**
 * Build a classification dataset from its parts, checking shapes and labels, and hash it.
 * Loaders call this; `expectedHash` (if given) must match or an IntegrityError names both.
 */
export function makeClassificationDataset(parts: {
  name: string;
  inputShape: number[];
  numClasses: number;
  x: Float32Array;
  y: Int32Array;
}): ClassificationDataset {
  const { name, inputShape, numClasses, x, y } = parts;
  const n = y.length;
  for (const d of inputShape) {
    if (!(Number.isInteger(d) && d > 0 && d < 2 ** 32)) throw new ShapeError(`dataset ${name}: bad input dimension ${d}`);
  }
  if (!(Number.isInteger(numClasses) && numClasses > 0)) throw new ShapeError(`dataset ${name}: bad class count ${numClasses}`);
  const f = featureCount(inputShape);
  if (x.length !== n * f) {
    throw new ShapeError(`dataset ${name}: ${x.length} features for ${n} examples of ${f}`);
  }
  for (let i = 0; i < n; i++) {
    if (!(y[i] >= 0 && y[i] < numClasses)) {
      throw new ShapeError(`dataset ${name}: label ${y[i]} of example ${i} outside [0, ${numClasses})`);
    }
  }
  return { kind: 'classification', name, hash: classificationHash(inputShape, numClasses, x, y), n, inputShape: [...inputShape], numClasses, x, y };
}

/** Throw an IntegrityError when a pinned hash (from a job spec) differs from the data's hash. */
export function checkPinnedHash(ds: Dataset, expected: string | undefined, source: string): void {
  if (expected === undefined) return;
  if (expected.toLowerCase() !== ds.hash) {
    throw new IntegrityError(`dataset ${source} does not match its pinned hash`, {
      details: `expected sha256 ${expected.toLowerCase()}, got ${ds.hash}`,
      hint: 'check that you have the right file; if the data changed on purpose, update "sha256" in the job spec',
    });
  }
}
