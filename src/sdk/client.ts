// The veritrain SDK: submit a training job, watch it, read its status, download its verified model.
//
//   const vt = createClient({ deployment, dataDir: '~/.veritrain/client', bootstrap });
//   const { jobId } = await vt.submitJob('examples/mnist-mlp.json');
//   for await (const u of vt.watchJob(jobId)) console.log(u);       // stages, progress, loss
//   const r = await vt.fetchResult(jobId, 'model.safetensors');      // hash checked against the chain
//   await vt.close();
//
// The chain is the truth for every answer; the p2p network carries the blobs (the spec and data
// out, the model back) and live progress. Reads need no key; submitting uses the keystore in
// `dataDir` (created on first use, like a node's).
import { resolve } from 'node:path';
import { parseUnits, type Address, type Hash, type Hex } from 'viem';
import { InputError, IntegrityError, VeritrainError } from '../errors.ts';
import { connect, type ChainClient } from '../chain/client.ts';
import type { Deployment } from '../chain/deployment.ts';
import { getEvents } from '../chain/events.ts';
import {
  defaultChallengeWindow,
  defaultCollateral,
  defaultSamples,
  getJob,
  jobCount,
  jobPosting,
  postJob,
  SAMPLING_DEFAULTS,
  stateEndsAt,
  verificationOf,
  verifyTime,
  type Job,
} from '../chain/market.ts';
import { ensureAllowance, faucet, tokenBalance } from '../chain/token.ts';
import { findBlobProviders } from '../net/blob-protocol.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';
import { checkListAgainstChain, decodeCheckpointList } from '../node/artifacts.ts';
import { announce, askPeers, ensureBlob, jobIdHex } from '../node/context.ts';
import { openKeystore, readPassphrase, type Keystore } from '../node/keystore.ts';
import { openBlobStore } from '../node/blobs.ts';
import { writeFileAtomic } from '../files.ts';
import { startLightPeer, type LightPeer } from './peer.ts';
import { prepareJobSpec } from './publish.ts';
import { isFinal, stageOf, type JobUpdate, type StageUpdate } from './stages.ts';

export type { JobUpdate, ProgressUpdate, Stage, StageUpdate } from './stages.ts';

const VTT = 10n ** 18n;

export interface ClientOptions {
  deployment: Deployment;
  rpcUrl?: string;
  /** The submitter's directory: keystore.json (its account and libp2p key) and blobs/. */
  dataDir: string;
  /** Keystore passphrase, or how to get it (default: VERITRAIN_PASSPHRASE or a prompt). */
  passphrase?: string | (() => Promise<string>);
  /** scrypt cost of a new keystore (devnets use less than the default). */
  scryptN?: number;
  /** Multiaddrs of nodes to join the p2p network through. */
  bootstrap?: string[];
  listen?: string[];
  /** Take devnet tokens from the faucet when the balance is short (default: on chains with a faucet). */
  faucet?: boolean;
  log?: (line: string) => void;
}

export interface SubmitOptions {
  /** Payment in token wei (default 10 VTT). */
  price?: bigint;
  /** Seconds a solver has from claim to result (default 1800). */
  duration?: number;
  /** Seconds from result to finalize (default: the market's default for the verifiers asked). */
  challengeWindow?: number;
  /** Verifiers to draw (default min(2, the deployment's maximum)). */
  verifiers?: number;
  /** Segments each verifier replays (default: the market's defaultSamples; 0 without verifiers). */
  samples?: number;
  /** Solver stake locked while it holds the job (default: the market's defaultCollateral). */
  collateral?: bigint;
  /** Wait until this many other nodes hold the spec and data (default 1; 0: do not wait). */
  replicas?: number;
  replicationTimeoutMs?: number;
}

export interface SubmitResult {
  jobId: bigint;
  specHash: string;
  datasetHash: string;
  manifestHash: Hex;
  challengeWindow: number;
  checkpoints: number;
  tx: Hash;
  blobs: string[];
  /** Fewest other providers found for any of the blobs when submitJob returned. */
  replicas: number;
}

export interface JobStatus {
  jobId: bigint;
  state: Job['state'];
  submitter: Address;
  solver: Address | null;
  price: bigint;
  specHash: string;
  datasetRoot: Hex;
  manifestHash: Hex;
  steps: number;
  checkpoints: number;
  committed: number;
  root: Hex | null;
  modelHash: Hex | null;
  /** Unix seconds the current state ends (claim priority, deadline, challenge window); 0: none. */
  stateEndsAt: number;
  /** The verifier round: who was drawn, how many committed and revealed (agree or not). */
  verifiers: { wanted: number; samples: number; drawn: Address[]; committed: number; revealed: number; agreed: number; replaced: number };
  stages: StageUpdate[];
}

export interface FetchedResult {
  jobId: bigint;
  modelPath: string;
  /** The on-chain model hash (the final checkpoint's state hash). */
  modelHash: Hex;
  /** True: the file's state hash is the model hash and the job is finalized (no successful challenge). */
  verified: boolean;
  finalized: boolean;
  bytes: number;
  step: number;
}

export interface WatchOptions {
  /** Also listen to live training progress on gossip (default true). */
  progress?: boolean;
  /** Chain poll interval in ms (default 300). */
  pollMs?: number;
  signal?: AbortSignal;
}

export interface VeritrainClient {
  readonly chain: ChainClient;
  submitJob(spec: string | { spec: unknown; baseDir: string }, opts?: SubmitOptions): Promise<SubmitResult>;
  watchJob(jobId: bigint, opts?: WatchOptions): AsyncIterable<JobUpdate>;
  jobStatus(jobId: bigint): Promise<JobStatus>;
  listJobs(opts?: { limit?: number }): Promise<JobStatus[]>;
  fetchResult(jobId: bigint, out: string, opts?: { timeoutMs?: number; requireFinalized?: boolean }): Promise<FetchedResult>;
  close(): Promise<void>;
}

/** The job is not where the call needs it (not finalized, cancelled, unknown). */
export class JobStateError extends VeritrainError {
  override name = 'JobStateError';
}


export function createClient(opts: ClientOptions): VeritrainClient {
  const dataDir = resolve(opts.dataDir);
  const log = opts.log ?? (() => {});
  let keys: Keystore | undefined;
  let peer: Promise<LightPeer> | undefined;
  let blobStore: ReturnType<typeof openBlobStore> | undefined;
  // One blob store per directory and process: opening one clears its unfinished writes.
  const storeOf = () => (blobStore ??= openBlobStore(dataDir));
  const reader = connect({ deployment: opts.deployment, rpcUrl: opts.rpcUrl, pollingInterval: 100 });

  async function keystore(): Promise<Keystore> {
    if (!keys) {
      const passphrase = typeof opts.passphrase === 'string' ? opts.passphrase : opts.passphrase ? await opts.passphrase() : await readPassphrase();
      keys = await openKeystore({ dataDir, passphrase, scryptN: opts.scryptN });
    }
    return keys;
  }

  function p2p(withKeys: boolean): Promise<LightPeer> {
    if (!peer) {
      peer = (async () => {
        const k = withKeys ? await keystore() : undefined;
        return startLightPeer({ dataDir, store: storeOf(), client: reader, bootstrap: opts.bootstrap ?? [], listen: opts.listen, privateKey: k?.libp2pKey, signer: k?.account });
      })();
      peer.catch(() => {
        peer = undefined;
      });
    }
    return peer;
  }

  async function history(jobId: bigint): Promise<StageUpdate[]> {
    const posting = await jobPosting(reader, jobId);
    const events = await getEvents(reader, { fromBlock: posting.blockNumber });
    return events.map((e) => stageOf(e, jobId)).filter((s): s is StageUpdate => s !== null);
  }

  async function jobStatus(jobId: bigint): Promise<JobStatus> {
    const [j, posting] = await Promise.all([getJob(reader, jobId), jobPosting(reader, jobId)]);
    const zero = /^0x0+$/;
    const [ends, v, stages] = await Promise.all([stateEndsAt(reader, jobId), verificationOf(reader, jobId), history(jobId)]);
    return {
      jobId,
      state: j.state,
      submitter: j.submitter,
      solver: zero.test(j.solver) ? null : j.solver,
      price: j.price,
      specHash: posting.specHash.slice(2),
      datasetRoot: posting.datasetRoot,
      manifestHash: posting.manifestHash,
      steps: posting.steps,
      checkpoints: j.checkpoints,
      committed: j.committed,
      root: zero.test(j.root) ? null : j.root,
      modelHash: zero.test(j.modelHash) ? null : j.modelHash,
      stateEndsAt: ends,
      verifiers: {
        wanted: j.verifiers,
        samples: j.samples,
        drawn: v.drawn,
        committed: v.slots.filter((s) => s.status === 'committed' || s.status === 'revealed').length,
        revealed: v.slots.filter((s) => s.status === 'revealed').length,
        agreed: v.slots.filter((s) => s.status === 'revealed' && s.agree).length,
        replaced: v.slots.filter((s) => s.status === 'replaced').length,
      },
      stages,
    };
  }

  return {
    chain: reader,

    async submitJob(spec, so = {}) {
      const k = await keystore();
      const store = storeOf();
      // The p2p side starts while the manifest is computed (both take a while).
      const peerUp = p2p(true);
      peerUp.catch(() => {});
      const prepared = await prepareJobSpec(spec, store, dataDir);
      const d = opts.deployment;
      const c = connect({ deployment: d, rpcUrl: opts.rpcUrl, account: k.account, pollingInterval: 100 });
      const price = so.price ?? 10n * VTT;
      const verifiers = so.verifiers ?? Math.min(SAMPLING_DEFAULTS.verifiers, d.params.maxVerifiers);
      const samples = so.samples ?? defaultSamples(prepared.checkpoints, verifiers, d.params.verifierFeeBps);
      const challengeWindow = so.challengeWindow ?? defaultChallengeWindow(d.params, verifiers);
      const collateral = so.collateral ?? defaultCollateral(price, d.params.disputeBond);
      const least = verifiers === 0 ? d.params.minChallengeWindow : d.params.minChallengeWindow + verifyTime(d.params);
      if (challengeWindow < least) {
        throw new InputError(`a challenge window of ${challengeWindow} s is below this deployment's minimum of ${least} s${verifiers ? ' for a job with verifiers' : ''}`, {
          hint: `leave it out for the default (${defaultChallengeWindow(d.params, verifiers)} s)`,
        });
      }
      if ((await c.public.getBalance({ address: k.address })) === 0n) {
        throw new InputError(`the submitter account ${k.address} has no ETH to pay for gas`, { hint: 'fund it (veritrain devnet up funds <devnet>/client)' });
      }
      const balance = await tokenBalance(c, k.address);
      if (balance < price) {
        if ((opts.faucet ?? true) && BigInt(d.params.faucetAmount) > 0n) await faucet(c);
        else throw new InputError(`the submitter holds ${balance} token wei, the job costs ${price}`, { hint: 'get tokens first' });
      }
      // The blobs are served and announced before the job exists on chain: nodes react to it at once.
      const lp = await peerUp;
      await lp.connected(1).catch((e) => log(`warning: ${(e as Error).message}`));
      for (const h of prepared.blobs) announce(lp, h, true);
      await ensureAllowance(c, d.contracts.market, price);
      const { jobId, tx } = await postJob(c, {
        manifest: prepared.manifest,
        price,
        duration: so.duration ?? 1800,
        steps: prepared.spec.steps,
        checkpointInterval: prepared.spec.checkpointInterval,
        verifiers,
        samples,
        challengeWindow,
        collateral,
      });
      log(`job ${jobId} posted (tx ${tx.hash})`);
      await lp.gossip
        .publish('job', { jobId: jobIdHex(jobId), specHash: prepared.specHash, datasetHash: prepared.datasetHash, reward: price.toString(), deadline: 0 })
        .catch(() => undefined);
      // Wait until other nodes hold every blob, so this process may exit.
      const want = so.replicas ?? 1;
      const end = Date.now() + (so.replicationTimeoutMs ?? 60_000);
      let replicas = 0;
      while (want > 0) {
        const counts = await Promise.all(prepared.blobs.map(async (h) => (await findBlobProviders(lp.net, h, { timeoutMs: 2000 })).length));
        replicas = Math.min(...counts);
        if (replicas >= want || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      if (replicas < want) log(`warning: the job's blobs have ${replicas} replica(s), wanted ${want}; keep this process up until nodes fetched them`);
      return {
        jobId,
        specHash: prepared.specHash,
        datasetHash: prepared.datasetHash,
        manifestHash: prepared.manifestHash,
        challengeWindow,
        checkpoints: prepared.checkpoints,
        tx: tx.hash,
        blobs: prepared.blobs,
        replicas,
      };
    },

    watchJob(jobId, wo = {}) {
      return watch(jobId, wo);
    },

    jobStatus,

    async listJobs(lo = {}) {
      const n = Number(await jobCount(reader));
      const limit = lo.limit ?? 20;
      const ids: bigint[] = [];
      for (let i = n; i >= 1 && ids.length < limit; i--) ids.push(BigInt(i));
      return Promise.all(ids.map((id) => jobStatus(id)));
    },

    async fetchResult(jobId, out, fo = {}) {
      const j = await getJob(reader, jobId);
      if (j.state === 'cancelled') throw new JobStateError(`job ${jobId} was cancelled`);
      if (fo.requireFinalized !== false && j.state !== 'finalized') {
        throw new JobStateError(`job ${jobId} is ${j.state}, not finalized`, { hint: 'wait for the challenge window to end (veritrain job watch), or pass --unverified to take a submitted result' });
      }
      if (/^0x0+$/.test(j.modelHash)) throw new JobStateError(`job ${jobId} has no result yet (${j.state})`);
      const lp = await p2p(false);
      await lp.connected(1);
      const end = Date.now() + (fo.timeoutMs ?? 60_000);
      const posting = await jobPosting(reader, jobId);
      for (;;) {
        try {
          const infos = await askPeers(lp, jobId);
          const hit = infos.flatMap((i) => i.results).find((r) => r.root === j.root && r.solver === j.solver.toLowerCase());
          if (!hit) throw new JobStateError(`no connected peer knows job ${jobId}'s checkpoint list yet`);
          await ensureBlob(lp, hit.list, [], 30_000);
          const list = decodeCheckpointList(await lp.store.get(hit.list));
          checkListAgainstChain(list, { jobId, solver: j.solver, root: j.root, modelHash: j.modelHash, checkpoints: j.checkpoints, specHash: posting.specHash.slice(2) });
          const last = list.checkpoints[list.checkpoints.length - 1];
          await ensureBlob(lp, last.blob, [], 120_000);
          const bytes = await lp.store.get(last.blob);
          const model = decodeCheckpoint(bytes, `model of job ${jobId}`);
          if (`0x${model.stateHash}` !== j.modelHash) throw new IntegrityError(`the model's state hash ${model.stateHash} is not the job's model hash ${j.modelHash}`);
          const modelPath = resolve(out);
          writeFileAtomic(modelPath, bytes);
          return { jobId, modelPath, modelHash: j.modelHash, verified: j.state === 'finalized', finalized: j.state === 'finalized', bytes: bytes.length, step: model.step };
        } catch (e) {
          if (Date.now() > end) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },

    async close() {
      if (peer) await (await peer.catch(() => undefined))?.stop();
      peer = undefined;
    },
  };

  async function* watch(jobId: bigint, wo: WatchOptions): AsyncGenerator<JobUpdate> {
    const queue: JobUpdate[] = [];
    let wake: (() => void) | undefined;
    const push = (u: JobUpdate) => {
      queue.push(u);
      wake?.();
    };
    let stop = false;
    let off: (() => void) | undefined;
    if (wo.progress !== false) {
      try {
        const lp = await p2p(false);
        off = lp.gossip.on('progress', (m) => {
          const b = m.envelope.body;
          if (BigInt(b.jobId) === jobId) push({ type: 'progress', jobId, step: b.step, steps: b.steps, loss: b.loss, losses: b.losses ?? [b.loss], solver: m.envelope.from });
        });
      } catch (e) {
        log(`no live progress: ${(e as Error).message}`);
      }
    }
    const posting = await jobPosting(reader, jobId);
    let from = posting.blockNumber;
    let failure: unknown;
    const poller = (async () => {
      while (!stop && !wo.signal?.aborted) {
        try {
          const head = await reader.public.getBlockNumber({ cacheTime: 0 });
          if (head >= from) {
            const events = await getEvents(reader, { fromBlock: from, toBlock: head });
            for (const e of events) {
              const s = stageOf(e, jobId);
              if (s) push(s);
            }
            if (peer) await (await peer).syncIdentities().catch(() => {});
            from = head + 1n;
          }
        } catch (e) {
          failure = e;
          wake?.();
          return;
        }
        await new Promise((r) => setTimeout(r, wo.pollMs ?? 300));
      }
    })();
    try {
      for (;;) {
        while (queue.length > 0) {
          const u = queue.shift()!;
          yield u;
          if (u.type === 'stage' && isFinal(u.stage)) return;
        }
        if (failure) throw failure;
        if (wo.signal?.aborted) return;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000);
        });
        wake = undefined;
      }
    } finally {
      stop = true;
      off?.();
      await poller;
    }
  }
}

/** Token amounts in VTT for options ("12.5" → wei). */
export function vtt(amount: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(amount)) throw new InputError(`expected an amount in VTT like 10 or 2.5, got "${amount}"`);
  return parseUnits(amount, 18);
}
