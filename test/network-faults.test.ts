// Faults, with real processes: anvil, `veritrain node` processes and loopback libp2p. One network
// (2 solvers, 2 verifiers, 1 watcher) lives through them in turn, one job each:
//   garbage on every p2p protocol of a live node → no crash, no state change, the sender scored out
//   kill -9 of the solver mid-training (a drawn verifier offline) → it restarts and resumes from its
//     last checkpoint; the job finalizes; the offline verifier earns nothing
//   the solver stays dead past its deadline → the other solver reopens the job, the late one is slashed
//   a verifier cut off from the p2p network, and the chain restarting on another port mid-job → the
//     nodes follow the deployment file; the partition heals, the verifier catches up (checkpoint list
//     by job-info, blobs) and attests; every node ends with the same job state
//   a solver that fakes its work → the verifiers' replay disagrees and they challenge the result
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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
import { assertFinalizedWell, mnistSpec, startTestNet, type TestNet } from './network-helpers.ts';

let net: TestNet;
const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

before(async () => {
  net = await startTestNet({ solvers: 2, verifiers: 2, watchers: 1, args: { 'verifier-2': ['--fault', 'partition-file', '--reconnect-ms', '1000'] } }, { params: { priorityWindow: 1 } });
});
after(async () => {
  await net?.stop();
});

async function post(steps: number, interval: number, opts: { window?: number; verifiers?: number; duration?: number; name?: string } = {}) {
  const vt = net.client();
  const r = await vt.submitJob({ spec: mnistSpec(steps, interval, opts.name ?? `fault-${steps}`), baseDir: EXAMPLES }, {
    challengeWindow: opts.window ?? 10,
    verifiers: opts.verifiers ?? 2,
    duration: opts.duration ?? 600,
  });
  return r.jobId;
}

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

test('kill -9 of the solver mid-training while a drawn verifier is offline: the solver restarts and resumes from its last checkpoint; the job finalizes; the absent verifier earns nothing', async () => {
  await net.cluster.node('solver-2').stop(); // one solver, so the restarted one gets its job back
  await net.cluster.node('verifier-1').kill(); // stays offline for the whole job
  const jobId = await post(400, 50, { name: 'resume' });
  await net.waitJob(jobId, (j) => j.committed >= 2);
  const runDir = join(net.cluster.node('solver-1').dataDir, 'runs', String(jobId));
  await net.cluster.node('solver-1').kill();
  const mid = await net.waitJob(jobId, () => true);
  assert.equal(mid.state, 'claimed', 'killed before it could submit');
  // Its compute worker notices that its daemon died and stops: no second trainer in that directory.
  await waitFor(() => workersIn(runDir).length === 0, 'the orphaned worker to stop', 5000);
  await net.cluster.restart('solver-1');
  await net.waitJob(jobId, 'finalized');
  const resumed = await net.waitLog('solver-1', /trained to step 400 \(resumed from the checkpoint at step (\d+)\)/);
  assert.ok(Number(/step (\d+)\)/.exec(resumed)![1]) >= 100, resumed);
  const events = await net.events(jobId);
  assertFinalizedWell(events, { attestations: 1 });
  // Both pool members were drawn; only the one online attested and is paid, the other share is refunded.
  // (Drawing a replacement for an absent verifier needs the market's replaceVerifier, not landed yet.)
  const drawn = events.find((e) => e.eventName === 'VerifiersDrawn')!.args.verifiers as string[];
  assert.equal(drawn.length, 2);
  const attested = events.filter((e) => e.eventName === 'Attested').map((e) => String(e.args.verifier).toLowerCase());
  assert.deepEqual(attested, [addressOf('verifier-2').toLowerCase()]);
  const fin = events.find((e) => e.eventName === 'JobFinalized')!;
  assert.equal(fin.args.refund, fin.args.verifierPay, 'the unearned share is refunded');
  await net.cluster.restart('verifier-1');
});

test('the solver stays dead past its deadline: the other solver reopens the job, the late one is slashed and loses reputation', async () => {
  await net.cluster.restart('solver-2');
  const jobId = await post(100, 25, { duration: 40, name: 'deadline' });
  const claimed = await net.waitJob(jobId, 'claimed');
  const late = claimed.solver.toLowerCase() === addressOf('solver-1').toLowerCase() ? 'solver-1' : 'solver-2';
  const other = late === 'solver-1' ? 'solver-2' : 'solver-1';
  await net.cluster.node(late).kill();
  const stakeBefore = (await stakeOf(net.chain, addressOf(late))).bonded;
  // Move the chain's clock past the deadline (the other nodes read it from the blocks).
  await rpcCall(net.devnet.deployment.rpcUrl, 'evm_increaseTime', [45]);
  await rpcCall(net.devnet.deployment.rpcUrl, 'evm_mine', []);
  const done = await net.waitJob(jobId, 'finalized');
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

test('a verifier cut off from the p2p network while the chain restarts on another port mid-job: the nodes follow the chain, the partition heals, the verifier catches up and attests, every node ends with the same job state', async () => {
  const flag = join(net.cluster.node('verifier-2').dataDir, 'PARTITION');
  writeFileSync(flag, '');
  await net.waitLog('verifier-2', /partitioned from the network/);
  const jobId = await post(300, 50, { window: 20, name: 'partition' });
  await net.waitJob(jobId, (j) => j.committed >= 1);
  // The chain goes away and comes back elsewhere: nodes re-read deployment.json and carry on.
  const oldUrl = net.devnet.deployment.rpcUrl;
  await net.devnet.stop();
  await new Promise((r) => setTimeout(r, 2000));
  net.devnet = await startDevnet({ dataDir: net.dir, port: 0 });
  assert.notEqual(net.devnet.deployment.rpcUrl, oldUrl);
  net.chain = connect({ deployment: net.devnet.deployment, pollingInterval: 100 });
  await net.waitJob(jobId, (j) => j.state === 'submitted', 60_000);
  await waitFor(async () => (await net.events(jobId)).some((e) => e.eventName === 'VerifiersDrawn'), 'the verifier draw', 20_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(!(await net.events(jobId)).some((e) => e.eventName === 'Attested' && String(e.args.verifier).toLowerCase() === addressOf('verifier-2').toLowerCase()), 'cut off, it could not verify');
  rmSync(flag);
  await net.waitLog('verifier-2', /partition healed/);
  await net.waitJob(jobId, 'finalized', 60_000);
  assertFinalizedWell(await net.events(jobId), { attestations: 2 });
  for (const n of ['solver-1', 'verifier-1', 'verifier-2', 'watcher-1']) assert.match(net.log(n), /chain RPC moved/, n);
  // Converged: every running node holds the same row for the job, and the partitioned verifier
  // learned the result's checkpoint list after the heal.
  const rowOf = (name: string) => net.rows(name, `SELECT state, solver, root, model_hash, committed FROM jobs WHERE job_id = ${jobId}`)[0];
  await waitFor(() => net.cluster.nodes.every((n) => rowOf(n.name)?.state === 'finalized'), 'every node to see the job finalized', 10_000);
  const rows = net.cluster.nodes.map((n) => rowOf(n.name));
  for (const r of rows) assert.deepEqual(r, rows[0]);
  assert.equal(net.rows('verifier-2', `SELECT list FROM results WHERE job_id = ${jobId}`).length, 1, 'it learned the result list');
});

test('a solver that fakes its work is caught: the verifiers replay, disagree and challenge the result', async () => {
  await net.cluster.node('solver-2').stop();
  await net.cluster.restart('solver-1', ['--fault', 'fake-work']);
  const jobId = await post(100, 25, { name: 'cheat' });
  await net.waitJob(jobId, 'disputed', 60_000);
  const opened = (await net.events(jobId)).find((e) => e.eventName === 'DisputeOpened')!;
  const challenger = String(opened.args.challenger).toLowerCase();
  const who = ['verifier-1', 'verifier-2', 'watcher-1'].find((n) => addressOf(n).toLowerCase() === challenger)!;
  assert.ok(who, 'a verifier or the watcher challenged');
  assert.match(net.log(who), /MISMATCH at segment/);
  assert.ok(!(await net.events(jobId)).some((e) => e.eventName === 'Attested'), 'nobody attested the fake');
});
