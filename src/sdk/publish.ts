// Turning a local job spec into its network form (src/node/artifacts.ts): every data file goes into
// the blob store and the spec names it "blobs/<sha256>", the dataset's hash is pinned, and the
// canonical spec becomes a blob whose hash is the spec hash the job is posted with.
import { readFileSync } from 'node:fs';
import type { Hex } from 'viem';
import type { Manifest } from '../chain/market.ts';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { loadDataset } from '../train/data/load.ts';
import { loadSpecFile, parseSpec, specHash, type JobSpec } from '../train/spec.ts';
import { checkpointSteps, dataBlobsOf, DATA_PREFIX, specBlob } from '../node/artifacts.ts';
import type { BlobStore } from '../node/blobs.ts';

export interface PreparedJob {
  spec: JobSpec;
  specHash: string;
  /** SHA-256 of the dataset's canonical bytes (pinned in the network spec). */
  datasetHash: string;
  /** docs/verification.md §1: what the job commits to; its hash is the job's inputs on chain. */
  manifest: Manifest;
  manifestHash: Hex;
  /** The spec blob and the data blobs, all in the store. */
  blobs: string[];
  /** Leaves of the job's checkpoint sequence. */
  checkpoints: number;
}

/** Reads a spec (file path or object with the folder its paths are relative to) into its network form. */
export async function prepareJobSpec(input: string | { spec: unknown; baseDir: string }, store: BlobStore, dataDir: string): Promise<PreparedJob> {
  const spec = typeof input === 'string' ? loadSpecFile(resolve(input)) : parseSpec(input.spec);
  const baseDir = typeof input === 'string' ? dirname(resolve(input)) : input.baseDir;
  const d = spec.dataset;
  let net: JobSpec;
  if ('builtin' in d) {
    net = spec;
  } else {
    const put = async (p: string) => {
      if (p.startsWith(DATA_PREFIX) && /^[0-9a-f]{64}$/.test(p.slice(DATA_PREFIX.length))) return p; // already a network path
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(resolve(baseDir, p)));
      } catch (e) {
        throw new InputError(`cannot read the job's data file ${p}`, { cause: e, hint: 'paths in a spec are relative to the spec file' });
      }
      return DATA_PREFIX + (await store.put(bytes));
    };
    const path = await put(d.path);
    net = parseSpec({ ...spec, dataset: d.format === 'idx' ? { ...d, path, labelsPath: await put(d.labelsPath) } : { ...d, path } });
  }
  // The dataset's hash as a node will compute it, from the blobs the network spec names.
  const datasetHash = loadDataset(net.dataset, { baseDir: dataDir }).hash;
  if (!('builtin' in net.dataset)) net = parseSpec({ ...net, dataset: { ...net.dataset, sha256: datasetHash } });
  const blobs = [await store.put(specBlob(net)), ...dataBlobsOf(net)];
  const hash = specHash(net);
  if (blobs[0] !== hash) throw new InputError('the spec blob does not hash to the spec hash (a bug)');
  // What every solver and verifier will recompute before touching the job (costs one traced step).
  const { computeManifest } = await import('../verify/manifest.ts');
  const m = computeManifest(net, dataDir);
  return {
    spec: net,
    specHash: hash,
    datasetHash,
    manifest: m.manifest,
    manifestHash: m.hash,
    blobs,
    checkpoints: checkpointSteps(net.steps, net.checkpointInterval).length,
  };
}
