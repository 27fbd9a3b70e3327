// One entry point from a job spec's "dataset" field to a loaded, hashed dataset.
import { resolve } from 'node:path';
import { checkPinnedHash, type Dataset } from './dataset.ts';
import { loadCsv } from './csv.ts';
import { loadIdx } from './idx.ts';
import { loadMnistDigits } from './mnistDigits.ts';
import { loadText, loadTinyText } from './text.ts';

export const BUILTIN_DATASETS = ['mnist-digits', 'tiny-text'] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];

/** What a job spec says about its data. Relative paths are resolved against `baseDir`. */
export type DatasetRef =
  | { builtin: BuiltinDataset; sha256?: string }
  | { format: 'idx'; path: string; labelsPath: string; numClasses?: number; sha256?: string }
  | { format: 'csv'; path: string; labelColumn: string; numClasses?: number; sha256?: string }
  | { format: 'text'; path: string; sha256?: string };

export interface LoadOptions {
  /** Directory that relative dataset paths are resolved against (usually the job spec's folder). */
  baseDir: string;
}

/** The kind of dataset a ref yields, known before loading it. */
export function datasetKind(ref: DatasetRef): Dataset['kind'] {
  if ('builtin' in ref) return ref.builtin === 'tiny-text' ? 'text' : 'classification';
  return ref.format === 'text' ? 'text' : 'classification';
}

/** Load a dataset; if the ref pins a sha256 that differs from the data's hash, throw IntegrityError. */
export function loadDataset(ref: DatasetRef, opts: LoadOptions): Dataset {
  let ds: Dataset;
  let source: string;
  if ('builtin' in ref) {
    source = ref.builtin;
    ds = ref.builtin === 'mnist-digits' ? loadMnistDigits() : loadTinyText();
  } else {
    const path = resolve(opts.baseDir, ref.path);
    source = path;
    if (ref.format === 'idx') {
      ds = loadIdx(path, resolve(opts.baseDir, ref.labelsPath), { name: ref.path, numClasses: ref.numClasses });
    } else if (ref.format === 'csv') {
      ds = loadCsv(path, { name: ref.path, labelColumn: ref.labelColumn, numClasses: ref.numClasses });
    } else {
      ds = loadText(path, { name: ref.path });
    }
  }
  checkPinnedHash(ds, ref.sha256, source);
  return ds;
}
