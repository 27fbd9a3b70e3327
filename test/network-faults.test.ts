// Faults, with real processes: anvil, `veritrain node` processes and loopback libp2p. One network
// (2 solvers, 3 verifiers, 1 watcher) lives through them in turn:
//   garbage on every p2p protocol of a live node → no crash, no state change, the sender scored out
//   kill -9 of the solver mid-training while two verifiers are offline → it restarts and resumes
//     from its last checkpoint; the offline verifiers that were drawn miss their commit deadline,
//     are replaced (penalised) and another verifier is drawn; the job finalizes
//   the solver stays dead past its deadline → the other solver reopens the job, the late one is slashed
//   a verifier cut off from the p2p network, and the chain away mid-job until the solver finished
//     training, then back on another port (its clock where it was) → the nodes follow the deployment
//     file, the commits and the submission that met no chain go in; the partition heals, the
//     cut-off node catches up (checkpoint list by job-info, the model blob); every node ends with
//     the same job state
//   a verifier that agrees without replaying → its revealed probes are wrong; the solver disputes one
//     and both sides' dispute drivers take the probe game up (a solver declaring too little memory
//     skips the job)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import fc from 'fast-check';
import { rpcCall } from '../src/chain/anvil.ts';
import { connect } from '../src/chain/client.ts';
import { startDevnet } from '../src/chain/devnet.ts';
import { reputationOf } from '../src/chain/reputation.ts';
import { stakeOf } from '../src/chain/staking.ts';
import { encodeFrame, BLOB_PROTOCOL } from '../src/net/blob-protocol.ts';
import { askJobInfo, JOB_INFO_PROTOCOL } from '../src/net/job-info.ts';
import { MESSAGE_KINDS, topicOf } from '../src/net/messages.ts';
import { loopbackNode, waitFor } from '../src/net/testing.ts';
import { assertFinalizedWell, mnistSpec, skipChallengeWindow, startTestNet, type TestNet } from './network-helpers.ts';

let net: TestNet;
const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

before(async () => {
  net = await startTestNet(
    { solvers: 2, verifiers: 3, watchers: 1, args: { 'verifier-2': ['--fault', 'partition-file', '--reconnect-ms', '1000'] } },
    // Verifier rounds of seconds: 8 s to replay and commit, 3 s to reveal, 3 s to dispute a probe;
    // a dispute move has 12 s. The market's judges are the verification layer's (the default).
    { params: { priorityWindow: 1, minChallengeWindow: 4, commitPeriod: 8, revealPeriod: 3, probeDisputePeriod: 3, moveTimeout: 12 } },
  );
});
after(async () => {
  await net?.stop();
});
beforeEach(async () => {
  rmSync(join(net.cluster.node('verifier-2').dataDir, 'PARTITION'), { force: true });
  await net.allUp();
});

async function post(steps: number, interval: number, opts: { window?: number; verifiers?: number; samples?: number; duration?: number; name?: string } = {}) {
  const vt = net.client();
  const r = await vt.submitJob({ spec: mnistSpec(steps, interval, opts.name ?? `fault-${steps}`), baseDir: EXAMPLES }, {
    challengeWindow: opts.window,
    verifiers: opts.verifiers ?? 2,
    samples: opts.samples,
    duration: opts.duration ?? 600,
  });
  return r.jobId;
}

const revealedAgree = (events: Awaited<ReturnType<TestNet['events']>>) =>
  events.filter((e) => e.eventName === 'Revealed' && e.args.agree === true).map((e) => String(e.args.verifier).toLowerCase());

const addressOf = (name: string) => net.cluster.infos.get(name)!.address;
const nodeIdOf = (name: string) => BigInt(net.cluster.infos.get(name)!.nodeId);

function tables(name: string) {
  return ['jobs', 'tasks', 'checkpoints', 'results'].map((t) => net.rows(name, `SELECT * FROM ${t} ORDER BY 1, 2`));
}

/** Compute workers (src/node/worker.ts) still running with a command line that mentions `dir`. */
function workersIn(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('worker.ts') && cmd.includes(dir)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

test('garbage on the job-info, blob and gossip protocols of a live node: no crash, no state change, the sender scored out', async () => {
  const target = net.cluster.infos.get('watcher-1')!;
  const addr = target.addrs.find((a) => a.includes('127.0.0.1'))!;
  const before = tables('watcher-1');
  const fuzzer = await loopbackNode();
  try {
    await fuzzer.dial(multiaddr(addr));
    const peer = peerIdFromString(target.peerId);
    const frames = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => encodeFrame(b)),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.jsonValue().map((v) => encodeFrame(new TextEncoder().encode(JSON.stringify(v)))),
        fc.constant(encodeFrame(new TextEncoder().encode('{"jobId":"1","v":2}'))),
        fc.constant(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3])),
      ),
      40,
    );
    for (const [i, f] of frames.entries()) {
      try {
        const s = await fuzzer.dialProtocol(peer, i % 2 === 0 ? JOB_INFO_PROTOCOL : BLOB_PROTOCOL, { signal: AbortSignal.timeout(2000) });
        s.send(f);
        await s.close().catch(() => {});
      } catch {
        // refused or reset: what a node may do to garbage
      }
    }
    for (const kind of MESSAGE_KINDS) fuzzer.services.pubsub.subscribe(topicOf(kind, net.devnet.deployment.chainId));
    await new Promise((r) => setTimeout(r, 1000));
    for (const b of fc.sample(fc.uint8Array({ maxLength: 2000 }), 20)) {
      const kind = MESSAGE_KINDS[b.length % MESSAGE_KINDS.length];
      await fuzzer.services.pubsub.publish(topicOf(kind, net.devnet.deployment.chainId), b).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await fuzzer.stop();
  }
  assert.equal(net.cluster.node('watcher-1').proc.exitCode, null, 'the node is still running');
  assert.deepEqual(tables('watcher-1'), before, 'no job, task, checkpoint or result changed');
  const scored = net.rows('watcher-1', 'SELECT peer_id, score FROM peers WHERE score < 0');
  assert.ok(scored.length >= 1, 'the fuzzing peer lost points');
  // An honest newcomer is still answered.
  const honest = await loopbackNode();
  try {
    await honest.dial(multiaddr(addr));
    const info = await askJobInfo(honest, peerIdFromString(target.peerId), 1n);
    assert.ok(info, 'job-info still answers');
  } finally {
    await honest.stop();
  }
});

test('kill -9 of the solver mid-training while two verifiers are offline: it resumes from its last checkpoint; the drawn offline verifiers are replaced and penalised, another is drawn; the job finalizes', async () => {
  await net.cluster.node('solver-2').stop(); // one solver, so the restarted one gets its job back
  await net.cluster.node('verifier-1').kill();
  await net.cluster.node('verifier-3').kill();
  // 2 of the 3 pool members are drawn: at least one of them is offline.
  // Room for a replacement round: the first commit deadline (8 s after the draw) + a full round (14 s).
  const jobId = await post(400, 50, { name: 'resume', window: 30 });
  await net.waitJob(jobId, (j) => j.committed >= 2);
  const runDir = join(net.cluster.node('solver-1').dataDir, 'runs', String(jobId));
  await net.cluster.node('solver-1').kill();
  const mid = await net.waitJob(jobId, () => true);
  assert.equal(mid.state, 'claimed', 'killed before it could submit');
  // Its compute worker notices that its daemon died and stops: no second trainer in that directory.
  await waitFor(() => workersIn(runDir).length === 0, 'the orphaned worker to stop', 5000);
  await net.cluster.restart('solver-1');
  await skipChallengeWindow(net.devnet.deployment.rpcUrl, net.chain, jobId);
  await net.waitJob(jobId, 'finalized', 120_000);
  const resumed = await net.waitLog('solver-1', /trained to step 400 \(resumed from the checkpoint at step (\d+)\)/);
  assert.ok(Number(/step (\d+)\)/.exec(resumed)![1]) >= 100, resumed);
  const events = await net.events(jobId);
  assertFinalizedWell(events);
  const online = addressOf('verifier-2').toLowerCase();
  const replaced = events.filter((e) => e.eventName === 'VerifierSlotReplaced').map((e) => String(e.args.verifier).toLowerCase());
  assert.ok(replaced.length >= 1, 'an offline verifier was replaced');
  assert.ok(!replaced.includes(online));
  assert.ok(events.filter((e) => e.eventName === 'VerifiersDrawn').length >= 2, 'a replacement was drawn');
  assert.deepEqual(revealedAgree(events), [online], 'only the online verifier verified');
  const penalty = BigInt(net.devnet.deployment.params.noShowPenalty);
  for (const e of events.filter((x) => x.eventName === 'VerifierSlotReplaced')) assert.equal(e.args.penalty, penalty, 'a replaced verifier forfeits the no-show penalty');
  const fin = events.find((e) => e.eventName === 'JobFinalized')!;
  assert.ok((fin.args.verifierPay as bigint) > 0n, 'the online verifier is paid');
});

test('the solver stays dead past its deadline: the other solver reopens the job, the late one is slashed and loses reputation', async () => {
  const jobId = await post(100, 25, { duration: 40, name: 'deadline', verifiers: 0 });
  const claimed = await net.waitJob(jobId, 'claimed');
  const late = claimed.solver.toLowerCase() === addressOf('solver-1').toLowerCase() ? 'solver-1' : 'solver-2';
  const other = late === 'solver-1' ? 'solver-2' : 'solver-1';
  await net.cluster.node(late).kill();
  const stakeBefore = (await stakeOf(net.chain, addressOf(late))).bonded;
  // Move the chain's clock past the deadline (the other nodes read it from the blocks).
  await rpcCall(net.devnet.deployment.rpcUrl, 'evm_increaseTime', [45]);
  await rpcCall(net.devnet.deployment.rpcUrl, 'evm_mine', []);
  const done = await net.waitJob(jobId, 'finalized', 180_000);
  assert.equal(done.solver.toLowerCase(), addressOf(other).toLowerCase());
  const events = await net.events(jobId);
  const timedOut = events.find((e) => e.eventName === 'SolverTimedOut');
  assert.ok(timedOut, 'SolverTimedOut');
  assert.equal(String(timedOut.args.solver).toLowerCase(), addressOf(late).toLowerCase());
  assert.equal((await reputationOf(net.chain, nodeIdOf(late))).timeouts, 1);
  assert.equal((await stakeOf(net.chain, addressOf(late))).bonded, stakeBefore - claimed.collateral, 'its collateral was slashed');
  // Back online, the late solver sees the job is someone else's and leaves it alone.
  await net.cluster.restart(late);
  await waitFor(() => net.rows(late, `SELECT status FROM tasks WHERE job_id = ${jobId} AND role = 'solver'`).some((r) => r.status === 'lost' || r.status === 'abandoned'), 'the late solver to give the job up', 15_000);
  assert.equal(events.filter((e) => e.eventName === 'ResultSubmitted').length, 1);
});

test('a verifier cut off from the p2p network while the chain restarts on another port mid-job: the nodes follow the chain, the job finalizes, the partition heals, the cut-off node catches up and every node ends with the same job state', async () => {
  const flag = join(net.cluster.node('verifier-2').dataDir, 'PARTITION');
  writeFileSync(flag, '');
  await net.waitLog('verifier-2', /partitioned from the network/);
  const jobId = await post(300, 50, { name: 'partition', verifiers: 0, window: 8 });
  const claimed = await net.waitJob(jobId, (j) => j.committed >= 1);
  const solver = ['solver-1', 'solver-2'].find((n) => addressOf(n).toLowerCase() === claimed.solver.toLowerCase())!;
  // The chain goes away and comes back elsewhere: nodes re-read deployment.json and carry on. It
  // stays away until the solver has trained to the end, so its later checkpoint commits and its
  // submission meet no chain and must go in on the one that comes back (which mines nothing by
  // itself: the nodes must see it answer without a new block).
  const oldUrl = net.devnet.deployment.rpcUrl;
  const lastBlock = await net.chain.public.getBlock();
  await net.devnet.stop();
  await net.waitLog(solver, new RegExp(`job ${jobId}: trained to step 300`), 90_000);
  net.devnet = await startDevnet({ dataDir: net.dir, port: 0 });
  assert.notEqual(net.devnet.deployment.rpcUrl, oldUrl);
  net.chain = connect({ deployment: net.devnet.deployment, pollingInterval: 100 });
  assert.ok((await net.chain.public.getBlock({ blockNumber: lastBlock.number })).hash === lastBlock.hash, 'the restarted chain holds the blocks mined before the stop');
  await net.waitJob(jobId, (j) => j.state === 'submitted', 60_000);
  // The chain's clock went on from where it was (earlier tests moved it forward): no block is older than the one before it.
  const blocks = await Promise.all([...Array(Number((await net.chain.public.getBlockNumber()) - lastBlock.number) + 1).keys()].map((i) => net.chain.public.getBlock({ blockNumber: lastBlock.number + BigInt(i) })));
  for (let i = 1; i < blocks.length; i++) assert.ok(blocks[i].timestamp >= blocks[i - 1].timestamp, `block ${blocks[i].number} is older than block ${blocks[i - 1].number}`);
  await new Promise((r) => setTimeout(r, 1000));
  // Cut off, verifier-2 holds neither the checkpoint list nor the model.
  assert.equal(net.rows('verifier-2', `SELECT list FROM results WHERE job_id = ${jobId}`).length, 0);
  rmSync(flag);
  await net.waitLog('verifier-2', /partition healed/);
  await net.waitJob(jobId, 'finalized', 120_000);
  assertFinalizedWell(await net.events(jobId));
  for (const n of ['solver-1', 'verifier-1', 'verifier-2', 'watcher-1']) assert.match(net.log(n), /chain RPC moved/, n);
  // Converged: every running node holds the same row for the job, and the cut-off verifier learned
  // the result's checkpoint list (job-info) and holds the model (replicated after the heal).
  const rowOf = (name: string) => net.rows(name, `SELECT state, solver, root, model_hash, committed FROM jobs WHERE job_id = ${jobId}`)[0];
  await waitFor(() => net.cluster.nodes.every((n) => rowOf(n.name)?.state === 'finalized'), 'every node to see the job finalized', 10_000);
  const rows = net.cluster.nodes.map((n) => rowOf(n.name));
  for (const r of rows) assert.deepEqual(r, rows[0]);
  await waitFor(() => net.rows('verifier-2', `SELECT list FROM results WHERE job_id = ${jobId}`).length === 1, 'verifier-2 to learn the result list', 15_000);
  const { list } = net.rows('solver-1', `SELECT list FROM results WHERE job_id = ${jobId}`)[0] as { list: string };
  const listBlob = JSON.parse(readFileSync(join(net.cluster.node('verifier-2').dataDir, 'blobs', list), 'utf8'));
  const model = listBlob.checkpoints.at(-1).blob as string;
  await waitFor(() => readdirSync(join(net.cluster.node('verifier-2').dataDir, 'blobs')).includes(model), 'verifier-2 to replicate the model', 15_000);
});

test('a verifier that agrees without replaying reveals wrong probes: the solver finds them against its own states and disputes one', async () => {
  // solver-2 declares 64 MiB: it inspects the job, finds it needs more, and leaves it to solver-1.
  await net.cluster.restart('solver-2', ['--memory', '64']);
  await net.cluster.restart('verifier-3', ['--fault', 'lazy-verifier']);
  const jobId = await post(100, 25, { name: 'lazy', verifiers: 3 }); // every pool member is drawn
  const lazy = addressOf('verifier-3').toLowerCase();
  await waitFor(async () => (await net.events(jobId)).some((e) => e.eventName === 'ProbeDisputeOpened'), 'a probe dispute', 60_000);
  const events = await net.events(jobId);
  const disputed = events.find((e) => e.eventName === 'ProbeDisputeOpened')!;
  assert.equal(String(disputed.args.verifier).toLowerCase(), lazy, 'the lazy verifier is the one disputed');
  assert.match(net.log('solver-1'), /revealed a wrong state at step \d+: disputing its probe/);
  assert.ok(!events.some((e) => e.eventName === 'ProbeDisputeOpened' && String(e.args.verifier).toLowerCase() !== lazy), 'honest probes are not disputed');
  const skipped = net.rows('solver-2', `SELECT status, data FROM tasks WHERE job_id = ${jobId} AND role = 'solver'`)[0];
  assert.equal(skipped?.status, 'skipped', 'a solver claims only what its declared hardware runs');
  assert.match(String(skipped?.data), /needs ~\d+ MiB, this node declares 64/);
  // Both sides' dispute drivers take the game up (its end is test/adversary.test.ts's (g), in-process).
  await net.waitLog('solver-1', /dispute: playing dispute \d+ of job \d+ as the challenger \(level 1\)/, 30_000);
  await net.waitLog('verifier-3', /dispute: playing dispute \d+ of job \d+ as the defender \(level 1\)/, 30_000);
});
