// The SDK's side of a job that needs no network: a local spec turned into its network form (data
// files as blobs named by hash, the dataset hash pinned, the manifest computed), and the chain's
// events turned into stages.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256Hex } from '../src/engine/hash.ts';
import { InputError } from '../src/errors.ts';
import { manifestHash } from '../src/chain/market.ts';
import { dataBlobsOf, parseSpecBlob } from '../src/node/artifacts.ts';
import { openBlobStore } from '../src/node/blobs.ts';
import { prepareJobSpec, vtt } from '../src/sdk/index.ts';
import { stageOf } from '../src/sdk/stages.ts';
import type { ChainEvent } from '../src/chain/events.ts';
import { tempDir } from './cli.ts';
import { csvJob } from './network-helpers.ts';

test('a CSV job: the file becomes a blob the spec names by hash, the dataset hash is pinned, the manifest hashes to what is posted', async () => {
  const src = tempDir();
  const specPath = csvJob(src, { steps: 20, interval: 10 });
  const dataDir = tempDir();
  const store = openBlobStore(dataDir);
  const p = await prepareJobSpec(specPath, store, dataDir);
  const csvHash = sha256Hex(new Uint8Array(readFileSync(join(src, 'table.csv'))));
  assert.deepEqual(dataBlobsOf(p.spec), [csvHash]);
  assert.equal(p.spec.dataset.sha256, p.datasetHash);
  assert.deepEqual(p.blobs, [p.specHash, csvHash]);
  for (const b of p.blobs) assert.ok(store.has(b));
  assert.deepEqual(parseSpecBlob(await store.get(p.specHash), p.specHash), p.spec, 'what a solver reads back');
  assert.equal(p.manifestHash, manifestHash(p.manifest));
  assert.equal(p.manifest.specHash, `0x${p.specHash}`);
  assert.equal(p.checkpoints, 2);
  // The same spec prepared again (another submitter, same files) is the same job inputs.
  const other = tempDir();
  const again = await prepareJobSpec(specPath, openBlobStore(other), other);
  assert.equal(again.manifestHash, p.manifestHash, 'a second submitter gets the same manifest from the same files');
});

test('a built-in dataset needs no blob; a data file that cannot be read is an InputError', async () => {
  const example = JSON.parse(readFileSync(new URL('../examples/mnist-mlp.json', import.meta.url), 'utf8'));
  const dataDir = tempDir();
  const p = await prepareJobSpec({ spec: { ...example, steps: 10, checkpointInterval: 5 }, baseDir: '/' }, openBlobStore(dataDir), dataDir);
  assert.deepEqual(p.blobs, [p.specHash]);
  const dir = tempDir();
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ ...example, dataset: { format: 'csv', path: 'missing.csv', labelColumn: 'y' } }));
  await assert.rejects(prepareJobSpec(spec, openBlobStore(dataDir), dataDir), InputError);
});

test('amounts in VTT; chain events become stages (a reopened job is a stage, other jobs are not)', () => {
  assert.equal(vtt('2.5'), 25n * 10n ** 17n);
  assert.throws(() => vtt('-1'), InputError);
  const ev = (eventName: string, args: Record<string, unknown>): ChainEvent => ({ eventName, args, address: '0x0', blockNumber: 5n, transactionHash: '0x1', logIndex: 0 } as ChainEvent);
  assert.equal(stageOf(ev('JobClaimed', { jobId: 3n }), 3n)?.stage, 'claimed');
  assert.equal(stageOf(ev('JobClaimed', { jobId: 4n }), 3n), null);
  assert.equal(stageOf(ev('Revealed', { jobId: 3n, agree: true }), 3n)?.stage, 'verifier-revealed');
  assert.equal(stageOf(ev('JobStateChanged', { jobId: 3n, from: 2, to: 1 }), 3n)?.stage, 'reopened');
  assert.equal(stageOf(ev('JobStateChanged', { jobId: 3n, from: 0, to: 1 }), 3n), null, 'posting is the JobPosted stage');
  assert.deepEqual(stageOf(ev('JobFinalized', { jobId: 3n, solverPay: 9n }), 3n)?.data, { jobId: '3', solverPay: '9' });
});
