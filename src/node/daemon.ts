// The node daemon: one process, several roles (solver, verifier, watcher), one data directory.
//
//   keystore.json   the libp2p key and the EVM account (created on first start, encrypted)
//   node.db         sqlite: peers, seen gossip, jobs as the chain shows them, this node's tasks
//   blobs/          specs, data, checkpoints and checkpoint lists, by SHA-256
//   runs/<job>/     the run directories of jobs this node trains (checkpoints, chain.json)
//   node.json       written once the node is up: peer id, addresses, node id (others bootstrap off it)
//
// Start: open the stores, join the p2p network (bootstrap addresses + peers remembered from
// earlier runs), catch up with the chain, then register on chain once (peer binding, declared
// hardware, roles), bond stake and join the verifier pool if it verifies. From then on every
// poll of the chain updates the job table and the roles act on it. A kill -9 at any moment and a
// restart continue every job from what the database and the run directories hold.
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { bytesToHex, type Address, type Hex } from 'viem';
import { InputError } from '../errors.ts';
import { connect, type ChainClient } from '../chain/client.ts';
import { ChainError } from '../chain/errors.ts';
import { readDeployment, type Deployment } from '../chain/deployment.ts';
import type { ChainEvent } from '../chain/events.ts';
import { getJob, jobPosting, verificationOf } from '../chain/market.ts';
import { registerNode, roleMask, updateNode, type Hardware, type RoleName } from '../chain/registry.ts';
import { bond, joinVerifierPool, stakeOf } from '../chain/staking.ts';
import { ensureAllowance, faucet, tokenBalance } from '../chain/token.ts';
import { serveBlobs } from '../net/blob-protocol.ts';
import { startGossip } from '../net/gossip.ts';
import { serveJobInfo, type JobInfo } from '../net/job-info.ts';
import { createNetNode } from '../net/node.ts';
import { createPeerScorer } from '../net/peers.ts';
import { openBlobStore } from './blobs.ts';
import type { NodeContext } from './context.ts';
import { openDb } from './db.ts';
import { writeFileAtomic } from '../files.ts';
import { followChain } from './follow.ts';
import { createDisputes } from './disputes.ts';
import { createIdentities } from './identities.ts';
import { openKeystore } from './keystore.ts';
import { createReplicator } from './replicate.ts';
import { createSolver } from './solver.ts';
import { openState, type JobRow, type Role } from './state.ts';
import { createVerifier } from './verifier.ts';

export const NODE_VERSION = '0.1.0';
export const NODE_FILE = 'node.json';

export interface DaemonOptions {
  dataDir: string;
  roles: Role[];
  deployment: Deployment;
  /** Re-read when the RPC stops answering (a devnet that restarted elsewhere). */
  deploymentFile?: string;
  rpcUrl?: string;
  passphrase: string;
  /** scrypt cost of a new keystore (tests and devnets use less than the default). */
  scryptN?: number;
  listen?: string[];
  bootstrap?: string[];
  mdns?: boolean;
  hardware?: Partial<Hardware>;
  /** Stake to keep bonded (default: the role minimums plus 100 VTT for job collateral). */
  stake?: bigint;
  threads?: number;
  /** Chain poll and role tick interval in ms (default 500). */
  pollMs?: number;
  /** Loopback networks (tests, devnets): no inbound rate limit, no same-IP gossip penalty. */
  loopback?: boolean;
  log?: (line: string) => void;
  /** Fault-test behaviours (e.g. "wrong-result"); never set in production. */
  faults?: string[];
  /** How often to redial known peers while fewer than 3 connections stand, in ms (default 5000). */
  reconnectMs?: number;
}

export interface NodeInfoFile {
  peerId: string;
  address: Address;
  nodeId: string;
  addrs: string[];
  roles: Role[];
  pid: number;
  dataDir: string;
  startedAt: string;
}

export interface Daemon {
  ctx: NodeContext;
  info: NodeInfoFile;
  stop(): Promise<void>;
}

const VTT = 10n ** 18n;

export function defaultHardware(): Hardware {
  return { cores: Math.min(availableParallelism(), 65535), memoryMiB: Math.floor(totalmem() / 2 ** 20), accelerator: 'none' };
}


const JOB_EVENTS = new Set([
  'JobPosted',
  'JobStateChanged',
  'JobClaimed',
  'CheckpointsCommitted',
  'ResultSubmitted',
  'VerifiersDrawn',
  'VerifierDrawRearmed',
  'Attested',
  'Revealed',
  'VerifierSlotReplaced',
  'VerifierNoShow',
  'ProbeDisputeOpened',
  'ProbeDisputeSettled',
  'DisputeOpened',
  'DisputeSettled',
  'SolverTimedOut',
  'JobFinalized',
  'JobCancelled',
]);

/** Event args as JSON (bigints as decimal strings). */
function plain(args: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`));
  const roles = new Set<Role>(opts.roles);
  if (roles.size === 0) throw new InputError('a node needs at least one role', { hint: '--role solver, verifier or watcher (comma-separated)' });
  mkdirSync(opts.dataDir, { recursive: true });
  const keys = await openKeystore({ dataDir: opts.dataDir, passphrase: opts.passphrase, scryptN: opts.scryptN });
  const db = openDb(join(opts.dataDir, 'node.db'));
  const state = openState(db);
  const store = openBlobStore(opts.dataDir);
  let deployment = opts.deployment;
  let client: ChainClient = connect({ deployment, rpcUrl: opts.rpcUrl, account: keys.account, pollingInterval: 100 });
  const hardware: Hardware = { ...defaultHardware(), ...opts.hardware };
  const faults = new Set(opts.faults ?? []);

  const identities = createIdentities({ client: () => client, submitterOf: (id) => state.jobs.get(id)?.submitter });
  const scorer = createPeerScorer({ store: db.peers });
  const remembered = state.peerAddrs.list(16).map((a) => a.addr);
  // Fault tests only ("partition-file"): while <dataDir>/PARTITION exists the node refuses every
  // peer, as if the network between it and the others were cut; the chain stays reachable.
  let partitioned = false;
  const net = await createNetNode({
    privateKey: keys.libp2pKey,
    listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'],
    bootstrap: [...new Set([...(opts.bootstrap ?? []), ...remembered])],
    mdns: opts.mdns ?? true,
    isBlocked: (p) => partitioned || scorer.isBlocked(p),
    gossipHeartbeatMs: 500,
    ...(opts.loopback ? { allow: ['/ip4/127.0.0.0/ipcidr/8'], colocationWhitelist: ['127.0.0.1'] } : {}),
  });
  scorer.attach(net);
  net.addEventListener('peer:identify', (evt) => {
    const { peerId, listenAddrs } = evt.detail;
    for (const a of listenAddrs.slice(0, 4)) state.peerAddrs.add(peerId.toString(), `${a.toString()}/p2p/${peerId.toString()}`);
  });

  let nodeId: bigint | undefined = state.kv.get('nodeId') === undefined ? undefined : BigInt(state.kv.get('nodeId')!);
  let head = 0n;
  let chainOffset = 0;
  let txQueue: Promise<unknown> = Promise.resolve();
  // A transaction's receipt is awaited on the client it was sent with. When the chain goes away
  // with the transaction in flight, that wait would last viem's 3 minutes: if the RPC moved, that
  // URL is gone for good; if the chain came back after an outage, a receipt it has shows up at once
  // and one it has not will never come (a stopped devnet keeps only what it mined, devnet.ts). So
  // the wait is given up (at once, or after a few seconds) and the caller sees a ChainError: every
  // role reads the chain again on its next tick and retries what did not land.
  const chainChanges = new Set<(kind: 'moved' | 'back') => void>();
  const chainChanged = (kind: 'moved' | 'back') => {
    for (const f of [...chainChanges]) f(kind);
  };
  function givenUpOnChainChange<T>(p: Promise<T>, sent: () => boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const on = (kind: 'moved' | 'back') => {
        if (!sent() || timer) return; // not sent yet: it goes out on the current client
        timer = setTimeout(
          () => reject(new ChainError(`a transaction's receipt was lost: the chain ${kind === 'moved' ? 'RPC moved' : 'was unreachable'} while it was in flight`, {
            hint: 'the node reads the chain again and retries what did not land',
          })),
          kind === 'moved' ? 0 : 5000,
        );
      };
      chainChanges.add(on);
      p.then(resolve, reject).finally(() => {
        chainChanges.delete(on);
        clearTimeout(timer);
      });
    });
  }
  const gossip = startGossip({ node: net, chainId: deployment.chainId, signer: keys.account, isStakedNode: identities.check, scorer, seen: db.seen });

  const ctx: NodeContext = {
    dataDir: opts.dataDir,
    keys,
    address: keys.address,
    db,
    state,
    store,
    deployment,
    client: () => client,
    net,
    gossip,
    scorer,
    identities,
    roles,
    hardware,
    threads: opts.threads ?? 1,
    nodeId: () => nodeId,
    chainNow: () => Date.now() / 1000 + chainOffset,
    head: () => head,
    log: (m) => log(m),
    tx<T>(send: () => Promise<T>): Promise<T> {
      let sent = false;
      const go = () => {
        sent = true;
        return send();
      };
      const p = txQueue.then(go, go);
      // The next transaction waits for this one, but not forever: a receipt that never comes (the
      // chain went away with the transaction in flight) must not hold every later one.
      let timer: NodeJS.Timeout | undefined;
      const released = new Promise<void>((r) => (timer = setTimeout(r, 10_000)));
      txQueue = Promise.race([p.then(() => undefined, () => undefined), released]).finally(() => clearTimeout(timer));
      return givenUpOnChainChange(p, () => sent);
    },
    faults,
  };

  // Disputes this node is a party of, played by VA's driver in a process of its own (disputes.ts).
  // Made before the first chain poll, so a dispute opened while the node was down is found too.
  const disputes = faults.has('no-disputes') ? undefined : createDisputes(ctx, { passphrase: opts.passphrase });

  // ---- gossip: hints that make the node act before the chain poll shows the same -------------
  gossip.on('job', (m) => {
    db.providers.add(m.envelope.body.specHash, m.envelope.peer);
  });
  gossip.on('checkpoint', (m) => {
    const b = m.envelope.body;
    db.providers.add(b.blob, m.envelope.peer);
    state.checkpoints.put({ jobId: BigInt(b.jobId), solver: m.envelope.from as Address, index: b.index, step: b.step, stateHash: b.stateHash, blob: b.blob });
  });
  gossip.on('result', (m) => {
    const b = m.envelope.body;
    db.providers.add(b.list, m.envelope.peer);
    state.results.put({ jobId: BigInt(b.jobId), root: b.root as Hex, modelHash: b.modelHash as Hex, list: b.list, solver: m.envelope.from as Address, at: Date.now() });
  });
  gossip.on('progress', (m) => {
    const b = m.envelope.body;
    state.log.add(BigInt(b.jobId), 'progress', { step: b.step, steps: b.steps, loss: b.loss, solver: m.envelope.from }, `p:${BigInt(b.jobId)}:${m.envelope.from}:${b.step}`);
  });
  gossip.on('heartbeat', (m) => db.peers.touch(m.envelope.peer, { address: m.envelope.from }));

  const blobServer = await serveBlobs({ node: net, store, scorer });
  const answer = (jobId: bigint): JobInfo => {
    const results = state.results.list(jobId).slice(0, 64);
    const solvers = new Set(results.map((r) => r.solver.toLowerCase()));
    const j = state.jobs.get(jobId);
    if (j?.solver) solvers.add(j.solver.toLowerCase());
    const checkpoints = [...solvers].flatMap((s) => state.checkpoints.list(jobId, s as Address)).slice(0, 512);
    return {
      v: 1,
      jobId: jobId.toString(),
      results: results.map((r) => ({ root: r.root, modelHash: r.modelHash, list: r.list, solver: r.solver.toLowerCase() })),
      checkpoints: checkpoints.map((c) => ({ solver: c.solver.toLowerCase(), index: c.index, step: c.step, stateHash: c.stateHash, blob: c.blob })),
    };
  };
  const infoServer = await serveJobInfo({ node: net, answer, scorer });

  // ---- the chain ----------------------------------------------------------------------------
  async function refreshJob(jobId: bigint, block: bigint): Promise<void> {
    const c = client;
    const j = await getJob(c, jobId);
    let row = state.jobs.get(jobId);
    if (!row) {
      const p = await jobPosting(c, jobId);
      row = {
        jobId,
        state: j.state,
        submitter: j.submitter,
        specHash: p.specHash.slice(2),
        datasetRoot: p.datasetRoot,
        manifestHash: p.manifestHash,
        price: j.price,
        duration: j.duration,
        steps: p.steps,
        checkpointInterval: p.checkpointInterval,
        checkpoints: j.checkpoints,
        verifiers: j.verifiers,
        samples: j.samples,
        challengeWindow: j.challengeWindow,
        collateral: j.collateral,
        postedBlock: Number(p.blockNumber),
        since: j.since,
        solver: null,
        solverNode: null,
        committed: 0,
        root: null,
        modelHash: null,
        verification: null,
        updatedBlock: 0,
      };
    }
    const zero = /^0x0+$/;
    const next: JobRow = {
      ...row,
      state: j.state,
      since: j.since,
      solver: zero.test(j.solver) ? null : j.solver,
      solverNode: j.solverNode === 0n ? null : j.solverNode,
      committed: j.committed,
      root: zero.test(j.root) ? null : j.root,
      modelHash: zero.test(j.modelHash) ? null : j.modelHash,
      verification: null,
      updatedBlock: Number(block),
    };
    if ((j.state === 'submitted' || j.state === 'disputed' || j.state === 'finalized') && j.verifiers > 0) {
      const v = await verificationOf(c, jobId);
      next.verification = {
        seed: zero.test(v.seed) ? null : v.seed,
        seedBlock: Number(v.seedBlock),
        pending: v.pending,
        uncommitted: v.uncommitted,
        openProbes: v.openProbes,
        slots: v.slots.map((x) => ({ verifier: x.verifier, commitBy: x.commitBy, revealBy: x.revealBy, status: x.status, agree: x.agree, probe: x.probe })),
      };
    }
    state.jobs.put(next);
  }

  async function onBatch(events: ChainEvent[], toBlock: bigint, info: { rewound: boolean }): Promise<void> {
    await identities.apply(events);
    const touched = new Set<bigint>();
    for (const e of events) {
      if (!JOB_EVENTS.has(e.eventName) || typeof e.args.jobId !== 'bigint') continue;
      touched.add(e.args.jobId);
      state.log.add(e.args.jobId, e.eventName, plain(e.args), `${e.blockNumber}:${e.logIndex}`);
    }
    if (info.rewound) for (const j of state.jobs.list({ states: ['open', 'claimed', 'submitted', 'disputed'] })) touched.add(j.jobId);
    for (const id of [...touched].sort((a, b) => (a < b ? -1 : 1))) await refreshJob(id, toBlock);
    disputes?.apply(events);
    head = toBlock;
    const b = await client.public.getBlock({ blockNumber: toBlock });
    chainOffset = Math.max(0, Number(b.timestamp) - Date.now() / 1000);
    state.kv.set('cursor', toBlock.toString());
  }

  async function reloadDeployment(): Promise<void> {
    if (!opts.deploymentFile || !existsSync(opts.deploymentFile)) return;
    try {
      const d = readDeployment(opts.deploymentFile);
      if (d.rpcUrl !== deployment.rpcUrl && opts.rpcUrl === undefined) {
        log(`chain RPC moved: ${deployment.rpcUrl} -> ${d.rpcUrl}`);
        deployment = d;
        client = connect({ deployment, account: keys.account, pollingInterval: 100 });
        disputes?.rpcMoved();
        chainChanged('moved');
        follower.wake(); // not after the backoff of the failures on the old URL
      }
    } catch {
      // A half-written file: the next failure reads it again.
    }
  }

  let rpcDown = false;
  const cursor = state.kv.get('cursor');
  // Who is who (gossip validation) is held in memory: a restarted node reads the registry's
  // history up to where it stopped; the follower brings it up to date from there.
  if (cursor !== undefined) await identities.load(BigInt(cursor));
  const follower = followChain({
    client: () => client,
    fromBlock: cursor === undefined ? BigInt(deployment.deployedAtBlock) : BigInt(cursor) + 1n,
    intervalMs: opts.pollMs ?? 500,
    onBatch,
    // Any complete poll, with or without a new block: a chain back from a restart may have none
    // until this node's roles (which wait while it is down) send the next transaction.
    onPolled: () => {
      if (!rpcDown) return;
      log('chain RPC reachable again');
      rpcDown = false;
      chainChanged('back');
    },
    onError: (e) => {
      if (!rpcDown) log(`chain: ${e.message.split('\n')[0]}`);
      rpcDown = true;
      void reloadDeployment();
    },
  });
  await follower.poll();

  // ---- joining: register, stake, verifier pool (each step checks the chain first) --------------
  const names: RoleName[] = [...roles];
  async function onboard(): Promise<void> {
    const c = client;
    if ((await c.public.getBalance({ address: keys.address })) === 0n) {
      throw new InputError(`node account ${keys.address} has no ETH to pay for gas`, { hint: 'send it some ETH (veritrain devnet up funds its nodes)' });
    }
    const mask = roleMask(names);
    if (nodeId === undefined) {
      const known = identities.byOwner(keys.address).find((n) => n.peerId === keys.peerId.toString());
      if (known) nodeId = known.nodeId;
      else {
        const r = await ctx.tx(() => registerNode(c, { peerId: bytesToHex(keys.peerId.toMultihash().bytes), peer: keys.libp2pKey, roles: mask, hardware }));
        nodeId = r.nodeId;
        log(`registered as node ${nodeId} (${names.join(', ')}; ${hardware.cores} cores, ${hardware.memoryMiB} MiB)`);
      }
      state.kv.set('nodeId', nodeId.toString());
    } else {
      const known = identities.byNode(nodeId);
      if (known && (known.roles !== mask || known.cores !== hardware.cores || known.memoryMiB !== hardware.memoryMiB)) {
        await ctx.tx(() => updateNode(c, nodeId!, mask, hardware));
        log(`node ${nodeId}: roles/hardware updated`);
      }
    }
    await topUpStake();
    if (roles.has('verifier') && !(await stakeOf(c, keys.address)).inVerifierPool) {
      await ctx.tx(() => joinVerifierPool(c));
      log('joined the verifier pool');
    }
  }
  // The stake to keep bonded: the role minimums plus room for what jobs lock (a solver's collateral,
  // a drawn verifier's lock: the draw weighs free stake only). Penalties and slashes are made good.
  const p = deployment.params;
  const mins: bigint[] = [];
  if (roles.has('solver')) mins.push(BigInt(p.minSolverStake) + 100n * VTT);
  if (roles.has('verifier') || roles.has('watcher')) mins.push(BigInt(p.minVerifierStake) + 50n * VTT);
  const stakeTarget = opts.stake ?? mins.reduce((a, b) => (a > b ? a : b), 0n);
  async function topUpStake(): Promise<void> {
    const c = client;
    const s = await stakeOf(c, keys.address);
    if (s.bonded >= stakeTarget) return;
    const need = stakeTarget - s.bonded;
    if ((await tokenBalance(c, keys.address)) < need) {
      if (BigInt(p.faucetAmount) === 0n) {
        log(`stake ${s.bonded / VTT} VTT is below the ${stakeTarget / VTT} VTT wanted and this account holds too few tokens to bond more`);
        return;
      }
      await ctx.tx(() => faucet(c));
    }
    await ctx.tx(() => ensureAllowance(c, deployment.contracts.staking, need));
    await ctx.tx(() => bond(c, need));
    log(`bonded ${need / VTT} VTT (stake ${stakeTarget / VTT} VTT)`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await onboard();
      break;
    } catch (e) {
      if (e instanceof InputError || attempt >= 20) throw e;
      log(`joining the chain failed (${(e as Error).message.split('\n')[0]}), retrying`);
      await new Promise((r) => setTimeout(r, 500 * Math.min(attempt, 6)));
    }
  }

  // ---- roles --------------------------------------------------------------------------------
  const solver = roles.has('solver') ? createSolver(ctx) : undefined;
  const verifier = roles.has('verifier') || roles.has('watcher') ? createVerifier(ctx) : undefined;
  const replicator = createReplicator(ctx);
  replicator.reannounce();
  const tick = () => {
    if (rpcDown) return;
    try {
      solver?.tick();
      verifier?.tick();
      replicator.tick();
    } catch (e) {
      log(`tick: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  const ticker = setInterval(tick, opts.pollMs ?? 500);
  tick();
  const heartbeat = setInterval(() => {
    void gossip.publish('heartbeat', { roles: names, freeSlots: solver && solver.training().length === 0 ? 1 : 0, version: NODE_VERSION }).catch(() => {});
  }, 10_000);
  const reannounce = setInterval(() => replicator.reannounce(), 10 * 60_000);
  reannounce.unref();
  const restake = setInterval(() => {
    if (!rpcDown) topUpStake().catch((e: Error) => log(`stake top-up: ${e.message.split('\n')[0]}`));
  }, 15_000);
  // Stay connected: after a partition heals, a restart of the others or a quiet spell, dial the
  // bootstrap addresses and the peers remembered from identify until a few connections stand.
  const bootstrapAddrs = opts.bootstrap ?? [];
  const reconnect = setInterval(() => {
    if (faults.has('partition-file')) {
      const cut = existsSync(join(opts.dataDir, 'PARTITION'));
      if (cut && !partitioned) {
        partitioned = true;
        log('partitioned from the network (fault test)');
        for (const c of net.getConnections()) void c.close().catch(() => c.abort(new Error('partition')));
      } else if (!cut && partitioned) {
        partitioned = false;
        log('partition healed (fault test)');
      }
    }
    if (partitioned || net.getConnections().length >= 3) return;
    const addrs = [...new Set([...bootstrapAddrs, ...state.peerAddrs.list(16).map((a) => a.addr)])];
    for (const a of addrs) {
      if (a.endsWith(`/p2p/${keys.peerId.toString()}`)) continue;
      void net.dial(multiaddr(a), { signal: AbortSignal.timeout(5000) }).catch(() => {});
    }
  }, opts.reconnectMs ?? 5000);

  const info: NodeInfoFile = {
    peerId: keys.peerId.toString(),
    address: keys.address,
    nodeId: String(nodeId),
    addrs: net.getMultiaddrs().map((a) => a.toString()),
    roles: [...roles],
    pid: process.pid,
    dataDir: opts.dataDir,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(join(opts.dataDir, NODE_FILE), JSON.stringify(info, null, 2) + '\n');
  log(`node ${nodeId} up: ${names.join(', ')}; peer ${info.peerId}; ${info.addrs[0] ?? 'no address'}`);

  return {
    ctx,
    info,
    async stop() {
      clearInterval(ticker);
      clearInterval(heartbeat);
      clearInterval(reannounce);
      clearInterval(reconnect);
      clearInterval(restake);
      solver?.stop();
      await disputes?.stop();
      await follower.stop();
      gossip.stop();
      await infoServer.stop().catch(() => {});
      await blobServer.stop().catch(() => {});
      await net.stop();
      db.close();
    },
  };
}
