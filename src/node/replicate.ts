// Every node keeps a copy of the blobs of the jobs it sees (the spec, the data, each result's
// checkpoint list and final model), serves them and announces them in the DHT, so a submitter or
// a solver can go offline and the job still completes and its model can still be downloaded.
// Each copy is checked against the chain before it is kept: the spec against the spec hash, a
// checkpoint list against the committed root, the model against the model hash.
import type { Hex } from 'viem';
import { IntegrityError } from '../errors.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';
import { checkListAgainstChain, dataBlobsOf, decodeCheckpointList, parseSpecBlob } from './artifacts.ts';
import { announce, askPeers, ensureBlob, type NodeContext } from './context.ts';
import type { JobRow } from './state.ts';

export interface Replicator {
  tick(): void;
  /** Announces every blob in the store again (after a restart; provider records expire). */
  reannounce(): void;
}

export function createReplicator(ctx: NodeContext): Replicator {
  const busy = new Set<string>();
  const lastTry = new Map<string, number>();
  const done = new Set<string>();

  function run(key: string, fn: () => Promise<void>, everyMs = 3000) {
    if (done.has(key) || busy.has(key) || Date.now() - (lastTry.get(key) ?? 0) < everyMs) return;
    lastTry.set(key, Date.now());
    busy.add(key);
    fn()
      .then(() => void done.add(key))
      .catch((e: unknown) => {
        // A blob that fails its check against the chain stays refused; anything else (nobody
        // serves it yet, the result is not known yet) is tried again on a later tick.
        if (e instanceof IntegrityError) {
          done.add(key);
          ctx.log(`not replicating ${key}: ${e.shortMessage}`);
        }
      })
      .finally(() => busy.delete(key));
  }

  async function inputs(j: JobRow): Promise<void> {
    await ensureBlob(ctx, j.specHash, [], 30_000);
    const spec = parseSpecBlob(await ctx.store.get(j.specHash), j.specHash);
    for (const h of dataBlobsOf(spec)) await ensureBlob(ctx, h, [], 300_000);
  }

  async function result(j: JobRow): Promise<void> {
    const solverPeer = j.solverNode === null ? undefined : ctx.identities.byNode(j.solverNode)?.peerId;
    let r = ctx.state.results.get(j.jobId, j.root!);
    if (!r) {
      for (const info of await askPeers(ctx, j.jobId, solverPeer)) {
        const hit = info.results.find((x) => x.root === j.root);
        if (hit) {
          r = { jobId: j.jobId, root: hit.root as Hex, modelHash: hit.modelHash as Hex, list: hit.list, solver: j.solver!, at: Date.now() };
          break;
        }
      }
    }
    if (!r) throw new Error('result list not known yet');
    await ensureBlob(ctx, r.list, solverPeer ? [solverPeer] : [], 30_000);
    const list = decodeCheckpointList(await ctx.store.get(r.list));
    checkListAgainstChain(list, { jobId: j.jobId, solver: j.solver!, root: j.root!, modelHash: j.modelHash!, checkpoints: j.checkpoints, specHash: j.specHash });
    ctx.state.results.put(r);
    const last = list.checkpoints[list.checkpoints.length - 1];
    await ensureBlob(ctx, last.blob, solverPeer ? [solverPeer] : [], 120_000);
    const model = decodeCheckpoint(await ctx.store.get(last.blob), `model of job ${j.jobId}`);
    if (`0x${model.stateHash}` !== j.modelHash) {
      ctx.store.delete(last.blob);
      throw new IntegrityError(`the model blob of job ${j.jobId} does not have the committed state hash`);
    }
  }

  return {
    tick() {
      for (const j of ctx.state.jobs.list({ states: ['open', 'claimed', 'submitted', 'disputed', 'finalized'] })) {
        run(`in:${j.jobId}`, () => inputs(j));
        if (j.root !== null && (j.state === 'submitted' || j.state === 'finalized')) run(`res:${j.jobId}:${j.root}`, () => result(j));
      }
    },
    reannounce() {
      for (const h of ctx.store.list()) announce(ctx, h, true);
    },
  };
}
