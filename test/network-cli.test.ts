// The whole job lifecycle through the command line, across real processes: `devnet up` with node
// processes, then `job submit|watch|status|list|result`, the way a user runs them. The submitter's
// CLI process exits once nodes hold the job's blobs, so everything after that (claim, training,
// verification, the download) runs without the submitter. Then the whole devnet restarts with the
// same nodes (test/network-faults.test.ts has a chain restart in the middle of a job).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect } from '../src/chain/client.ts';
import { readDeployment } from '../src/chain/deployment.ts';
import { getEvents } from '../src/chain/events.ts';
import { nodeCount } from '../src/chain/registry.ts';
import { decodeCheckpoint } from '../src/train/checkpoint.ts';
import { CLI, runCli, runCliAsync, tempDir } from './cli.ts';
import { assertFinalizedWell, csvJob, skipChallengeWindow } from './network-helpers.ts';

const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

/** `veritrain devnet up ... --json`: resolves with its first stdout line (the ready object). */
function devnetUp(dir: string, args: string[]): Promise<{ proc: ChildProcess; ready: Record<string, any>; done: Promise<Record<string, any>> }> {
  const proc = spawn(process.execPath, [CLI, 'devnet', 'up', '--port', '0', '--data-dir', dir, '--json', '--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (b) => (err += b));
  const done = new Promise<Record<string, any>>((resolve) => proc.on('exit', () => resolve(JSON.parse(out.trim().split('\n').pop() || '{}'))));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0 && !out.slice(0, nl).includes('"stopped"')) resolve({ proc, ready: JSON.parse(out.slice(0, nl)), done });
    });
    proc.on('exit', (code) => reject(new Error(`devnet up exited (${code}): ${err.slice(-3000)}`)));
  });
}

let dir: string;
let deploymentFile: string;
let firstIds: Record<string, string>;

test('devnet up with nodes; job submit → watch → status → list → result through the CLI, the submitter offline after submit', async () => {
  dir = tempDir('vt-cli-net-');
  const { proc, ready, done } = await devnetUp(dir, ['--solvers', '2', '--verifiers', '2', '--watchers', '1']);
  deploymentFile = ready.deploymentFile;
  firstIds = Object.fromEntries(ready.nodes.map((n: any) => [n.name, n.nodeId]));
  assert.equal(ready.nodes.length, 5);
  assert.deepEqual(ready.nodes.map((n: any) => n.name), ['solver-1', 'solver-2', 'verifier-1', 'verifier-2', 'watcher-1']);
  const bootstrap = JSON.parse(readFileSync(ready.bootstrapFile, 'utf8')).addrs;
  assert.equal(bootstrap.length, 5, 'every node is a bootstrap address for newcomers');
  const dep = ['--deployment', deploymentFile];

  // A job whose data is a local CSV file: submit publishes it as a blob and rewrites the spec.
  const specFile = csvJob(tempDir());
  const submit = runCli(['job', 'submit', specFile, ...dep, '--verifiers', '2']);
  assert.equal(submit.code, 0, submit.stderr);
  const jobId = submit.json.jobId as string;
  assert.equal(submit.json.blobs.length, 2, 'the spec blob and the CSV blob');
  assert.ok(submit.json.replicas >= 1, 'nodes hold the blobs before submit returns');

  // `job watch` follows the job to its end; once the verifiers revealed, the test moves the chain's
  // clock past the challenge window (waiting time) instead of waiting for it.
  const watching = runCliAsync(['job', 'watch', jobId, ...dep]);
  let wout = '';
  let werr = '';
  watching.stdout!.on('data', (b) => (wout += b));
  watching.stderr!.on('data', (b) => (werr += b));
  const d = readDeployment(deploymentFile);
  await skipChallengeWindow(d.rpcUrl, connect({ deployment: d }), BigInt(jobId));
  const code = await new Promise<number | null>((r) => watching.on('exit', (c) => r(c)));
  const watch = { code, stdout: wout, stderr: werr, json: JSON.parse(wout.trim().split('\n').pop() || '{}') };
  assert.equal(watch.code, 0, watch.stderr);
  assert.equal(watch.json.state, 'finalized');
  assert.equal(watch.json.lastStage, 'finalized');
  const stages = watch.json.stages.map((s: any) => s.stage);
  for (const s of ['posted', 'claimed', 'checkpoints', 'submitted', 'verifiers-drawn', 'verifier-committed', 'verifier-revealed', 'finalized']) assert.ok(stages.includes(s), `stage ${s} in ${stages}`);
  assert.match(watch.stdout + watch.stderr, /finalized\s+solver paid/);

  const status = runCli(['job', 'status', jobId, ...dep]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.json.state, 'finalized');
  assert.equal(status.json.committed, status.json.checkpoints);
  assert.equal(status.json.verifiers.agreed, 2, 'both verifiers revealed agreement');
  const list = runCli(['job', 'list', ...dep]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.json.jobs.map((j: any) => j.jobId), [jobId]);

  // A stranger (no keystore, no blobs) downloads the model from the nodes and checks it.
  const out = join(tempDir(), 'model.safetensors');
  const result = runCli(['job', 'result', jobId, '--out', out, '--data-dir', tempDir(), ...dep]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.json.verified, true);
  const model = decodeCheckpoint(new Uint8Array(readFileSync(out)));
  assert.equal(`0x${model.stateHash}`, status.json.modelHash);
  assert.equal(model.step, 60);

  // The same network spec trained alone on this machine ends on the same state: the network
  // changed nothing about the bits.
  const clientBlobs = join(dir, 'client', 'blobs');
  const local = tempDir();
  mkdirSync(join(local, 'blobs'));
  const spec = JSON.parse(readFileSync(join(clientBlobs, status.json.specHash), 'utf8'));
  const csvHash = spec.dataset.path.slice('blobs/'.length);
  copyFileSync(join(clientBlobs, csvHash), join(local, 'blobs', csvHash));
  writeFileSync(join(local, 'spec.json'), JSON.stringify(spec));
  const trained = runCli(['train', join(local, 'spec.json'), '--out', join(local, 'run')]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.equal(`0x${trained.json.finalHash}`, status.json.modelHash);

  const events = (await getEvents(connect({ deployment: readDeployment(deploymentFile) }))).filter((e) => e.args.jobId === BigInt(jobId));
  assertFinalizedWell(events, { agreed: 2 });

  proc.kill('SIGTERM');
  const stopped = await done;
  assert.equal(stopped.stopped, true);
});

test('a devnet restart: the chain comes back from its state file and the same nodes rejoin (no new registration)', async () => {
  const down = await nodeCount(connect({ deployment: readDeployment(deploymentFile) })).catch(() => -1n);
  assert.equal(down, -1n, 'the chain is down between the two runs');
  const { proc, ready, done } = await devnetUp(dir, ['--solvers', '2', '--verifiers', '2', '--watchers', '1']);
  const c = connect({ deployment: readDeployment(ready.deploymentFile) });
  assert.equal(await nodeCount(c), 5n, 'the nodes kept their registrations');
  assert.deepEqual(Object.fromEntries(ready.nodes.map((n: any) => [n.name, n.nodeId])), firstIds, 'each node is the node it was');
  const status = runCli(['job', 'status', '1', '--deployment', ready.deploymentFile]);
  assert.equal(status.json.state, 'finalized', 'the first run\'s job is still there');
  proc.kill('SIGTERM');
  await done;
});
