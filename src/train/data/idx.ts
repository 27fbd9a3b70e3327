// MNIST's IDX format (yann.lecun.com/exdb/mnist): a big-endian header, then raw unsigned bytes.
//   images (idx3-ubyte): 00 00 08 03, u32 n, u32 rows, u32 cols, n*rows*cols pixel bytes
//   labels (idx1-ubyte): 00 00 08 01, u32 n, n label bytes
// Gzipped files (the usual download, *.gz) are accepted as they are. Pixels become p/255 rounded
// once to binary32; inputs have shape [1, rows, cols].
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../errors.ts';
import { makeClassificationDataset, type ClassificationDataset } from './dataset.ts';

/** PIXEL[p] = f32(p / 255): the one division per pixel value, done once. */
export const PIXEL = Float32Array.from({ length: 256 }, (_, p) => p / 255);

export interface IdxOptions {
  /** Class count; default: largest label + 1. */
  numClasses?: number;
}

function maybeGunzip(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new InputError(`${what} looks gzipped but does not decompress`, { cause: e, hint: 'download the file again' });
    }
  }
  return bytes;
}

/** Parse an IDX file of unsigned bytes with the expected rank; returns dims and the data view. */
function parseIdx(bytes: Uint8Array, rank: number, what: string): { dims: number[]; data: Uint8Array } {
  const hint = `${what} must be an IDX file of unsigned bytes with ${rank} dimension(s) (magic 00 00 08 0${rank})`;
  if (bytes.length < 4 + 4 * rank) throw new InputError(`${what} is too short for an IDX header (${bytes.length} bytes)`, { hint });
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] !== rank) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(`${what} has IDX magic ${magic}, expected 00 00 08 0${rank}`, { hint });
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const start = 4 + 4 * rank;
  if (bytes.length - start !== size) {
    throw new InputError(`${what} holds ${bytes.length - start} data bytes but its header [${dims.join(', ')}] says ${size}`, {
      hint: 'the file is truncated or not the file you meant',
    });
  }
  return { dims, data: bytes.subarray(start) };
}

/** A classification dataset from the bytes of an IDX image file and an IDX label file. */
export function idxDataset(name: string, images: Uint8Array, labels: Uint8Array, opts: IdxOptions = {}): ClassificationDataset {
  const img = parseIdx(maybeGunzip(images, `${name}: images`), 3, `${name}: images`);
  const lab = parseIdx(maybeGunzip(labels, `${name}: labels`), 1, `${name}: labels`);
  const [n, rows, cols] = img.dims;
  if (lab.dims[0] !== n) {
    throw new InputError(`${name}: ${n} images but ${lab.dims[0]} labels`, { hint: 'pair each images file with its own labels file' });
  }
  if (n === 0 || rows === 0 || cols === 0) throw new InputError(`${name}: the IDX files hold no examples`);
  let maxLabel = 0;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = lab.data[i];
    if (y[i] > maxLabel) maxLabel = y[i];
  }
  const numClasses = opts.numClasses ?? maxLabel + 1;
  if (maxLabel >= numClasses) {
    throw new InputError(`${name}: label ${maxLabel} does not fit ${numClasses} classes`, { hint: 'raise numClasses or fix the labels file' });
  }
  const x = new Float32Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = PIXEL[img.data[i]];
  return makeClassificationDataset({ name, inputShape: [1, rows, cols], numClasses, x, y });
}

/** Load an IDX image file and its label file from disk. */
export function loadIdx(imagesPath: string, labelsPath: string, opts: IdxOptions & { name?: string } = {}): ClassificationDataset {
  const read = (p: string) => {
    try {
      return new Uint8Array(readFileSync(p));
    } catch (e) {
      throw new InputError(`cannot read IDX file ${p}`, { cause: e, hint: 'check the dataset path in the job spec' });
    }
  };
  return idxDataset(opts.name ?? imagesPath, read(imagesPath), read(labelsPath), opts);
}
