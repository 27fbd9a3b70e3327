// Training batches as pure functions of (seed, dataset hash, step): DESIGN §2.4.
//
// Classification: the example sequence is the concatenation of per-epoch permutations,
//   perm_e = permutation(subStream(subStream(rngStream(seed, 'data'), hash), e), n),
// and batch `step` takes positions [step*B, step*B + B) of it: position q is example perm_e[q mod n]
// with e = floor(q / n). A batch may therefore straddle an epoch boundary; no example is dropped.
// Text: row r of batch `step` is the window starting at
//   s = randomBelow(subStream(rngStream(seed, 'data'), hash), step*B + r, len - T),
// x = tokens[s .. s+T), y = tokens[s+1 .. s+T+1) (next-character targets).
//
// Because a batch depends on nothing but these, the data cursor a checkpoint stores is just the
// step (the number of batches consumed); `epoch` is kept beside it for display only.
import { InputError } from '../../errors.ts';
import { permutation, randomBelow, rngStream, subStream, type RngStream } from '../../engine/rng.ts';
import { featureCount, type ClassificationDataset, type Dataset, type TextDataset } from './dataset.ts';

/** Where training stands in its data: `step` batches consumed; `epoch` is derived, for display. */
export interface DataCursor {
  step: number;
  epoch: number;
}

export interface ClassificationBatch {
  /** B × prod(inputShape) inputs, example-major. */
  x: Float32Array;
  /** B labels. */
  y: Int32Array;
  /** Which examples of the training set these are. */
  indices: Uint32Array;
  /** Epoch of the batch's first example. */
  epoch: number;
}

export interface TextBatch {
  /** B × T input tokens, row-major. */
  x: Int32Array;
  /** B × T target tokens: each input's next token. */
  y: Int32Array;
  /** Start of each row's window in the token stream. */
  starts: Uint32Array;
}

function checkInt(what: string, v: number, min: number): void {
  if (!(Number.isSafeInteger(v) && v >= min)) throw new InputError(`${what} must be an integer >= ${min}, got ${v}`);
}

// Permutations are pure, so caching them is safe; a few entries cover an epoch boundary and a
// train/eval interleave. Keyed by everything they depend on.
const permCache = new Map<string, Uint32Array>();
const PERM_CACHE_SIZE = 8;
const streamCache = new Map<string, RngStream>();

function dataStream(seed: number, hash: string): RngStream {
  const key = `${seed}|${hash}`;
  let s = streamCache.get(key);
  if (!s) {
    s = subStream(rngStream(seed, 'data'), hash);
    if (streamCache.size >= PERM_CACHE_SIZE) streamCache.delete(streamCache.keys().next().value!);
    streamCache.set(key, s);
  }
  return s;
}

/** The example order of one epoch (see the header comment). */
export function epochPermutation(seed: number, hash: string, n: number, epoch: number): Uint32Array {
  const key = `${seed}|${hash}|${n}|${epoch}`;
  let p = permCache.get(key);
  if (!p) {
    p = permutation(subStream(dataStream(seed, hash), epoch), n);
    if (permCache.size >= PERM_CACHE_SIZE) permCache.delete(permCache.keys().next().value!);
    permCache.set(key, p);
  }
  return p;
}

/** Which training examples batch `step` takes, and the epoch of its first (no example data is read). */
export function classificationIndices(
  train: Pick<ClassificationDataset, 'n' | 'hash' | 'name'>,
  opts: { seed: number; batchSize: number; step: number },
): { indices: Uint32Array; epoch: number } {
  const { seed, batchSize: B, step } = opts;
  checkInt('batchSize', B, 1);
  checkInt('step', step, 0);
  checkInt('seed', seed, 0);
  const n = train.n;
  if (n === 0) throw new InputError(`dataset ${train.name} has no training examples`, { hint: 'lower testFraction or use more data' });
  const first = step * B;
  if (!Number.isSafeInteger(first + B)) throw new InputError(`step ${step} × batch ${B} is past 2^53 examples`);
  const indices = new Uint32Array(B);
  const epoch0 = Math.floor(first / n);
  let e = epoch0;
  let perm = epochPermutation(seed, train.hash, n, e);
  let pos = first - e * n;
  for (let b = 0; b < B; b++, pos++) {
    if (pos === n) {
      e++;
      pos = 0;
      perm = epochPermutation(seed, train.hash, n, e);
    }
    indices[b] = perm[pos];
  }
  return { indices, epoch: epoch0 };
}

/**
 * Batch `step`'s examples. `alloc` gives the features' array (a training step passes its arena's,
 * so no fresh 200 KB array per MNIST step); it is filled completely, so it need not be zeroed.
 */
export function classificationBatch(
  train: ClassificationDataset,
  opts: { seed: number; batchSize: number; step: number },
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): ClassificationBatch {
  const { indices, epoch } = classificationIndices(train, opts);
  const B = indices.length;
  const f = featureCount(train.inputShape);
  const x = alloc(B * f);
  const y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    y[b] = train.y[i];
    x.set(train.x.subarray(i * f, i * f + f), b * f);
  }
  return { x, y, indices, epoch };
}

export function textBatch(
  train: TextDataset,
  opts: { seed: number; batchSize: number; context: number; step: number },
): TextBatch {
  const { seed, batchSize: B, context: T, step } = opts;
  checkInt('batchSize', B, 1);
  checkInt('context', T, 1);
  checkInt('step', step, 0);
  checkInt('seed', seed, 0);
  const len = train.tokens.length;
  if (len < T + 1) {
    throw new InputError(`text ${train.name} has ${len} tokens, fewer than context + 1 = ${T + 1}`, { hint: 'use more text or a shorter context' });
  }
  if (step * B + B > 2 ** 33) throw new InputError(`step ${step} × batch ${B} is past the 2^33 windows a stream can index`);
  const s = dataStream(seed, train.hash);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  const starts = new Uint32Array(B);
  for (let r = 0; r < B; r++) {
    const start = randomBelow(s, step * B + r, len - T);
    starts[r] = start;
    x.set(train.tokens.subarray(start, start + T), r * T);
    y.set(train.tokens.subarray(start + 1, start + T + 1), r * T);
  }
  return { x, y, starts };
}

/**
 * The data cursor after `step` batches. Epoch: whole passes over the training examples
 * (classification), or floor(step*B*T / len) token-passes for text (random windows; display only).
 */
export function dataCursor(train: Dataset, opts: { batchSize: number; step: number; context?: number }): DataCursor {
  const { batchSize: B, step } = opts;
  if (train.kind === 'classification') return { step, epoch: train.n === 0 ? 0 : Math.floor((step * B) / train.n) };
  const T = opts.context ?? 1;
  return { step, epoch: Math.floor((step * B * T) / train.tokens.length) };
}
