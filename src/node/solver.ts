// The solver role: find open jobs (the chain's JobPosted is the truth, a gossip announcement only
// brings it sooner), fetch the spec and data by hash, check them and measure what the job needs,
// claim what the declared hardware can run (respecting the reputation priority window), train in
// the compute worker with progress on gossip, publish every checkpoint as a blob and commit the
// checkpoint root as training goes, submit the result, finalize after the challenge window and
// withdraw. Every step is recorded in the task table before the next, so a restart (kill -9 at
// any moment) picks up where the node stopped: training resumes from its last checkpoint.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { ContractRevertError } from '../chain/errors.ts';
import {
  checkpointEvidence,
  claimJob,
  commitCheckpoints,
  disputeProbe,
  finalize,
  getJob,
  probePositions,
  reopenExpired,
  revealOf,
  submitResult,
  withdraw,
  withdrawable,
  type Manifest,
} from '../chain/market.ts';
import { ensureAllowance } from '../chain/token.ts';
import { reputationScore } from '../chain/reputation.ts';
import { readChainFromCheckpoints } from '../train/checkpoint.ts';
import type { JobSpec } from '../train/spec.ts';
import { alive } from '../chain/devnet.ts';
import { SOLVER_CHEATS, faultList, type SolverCheat } from '../verify/dispute/cheats.ts';
import { checkListAgainstChain, checkpointSteps, dataBlobsOf, decodeCheckpointList, encodeCheckpointList, leafOf, listRoot, modelHashOf, parseSpecBlob, type CheckpointList } from './artifacts.ts';
import { ensureBlob, jobIdHex, keyedRunner, publishBlob, say, type NodeContext } from './context.ts';
import type { JobRow } from './state.ts';
import { isWorker, runTask, startTask, type Inspection, type RunningTask } from './work.ts';

export interface SolverTaskData extends Record<string, unknown> {
  reason?: string;
  inspection?: Inspection;
  /** The contract's `since` right after our claim: tells our claim apart from a later one. */
  claimedSince?: number;
  outDir?: string;
  workerPid?: number;
  root?: string;
  list?: string;
  attempts?: number;
  /** Verifier slots whose revealed probes were checked, and this node's state hashes at probed steps. */
  checkedSlots?: number[];
  probeHashes?: Record<string, string>;
  /** Fault tests only: the cheat this node plays on the job (`--fault cheats=...`). */
  cheat?: SolverCheat;
  /** A copying cheat: the level-0 leaves it copied (another solver's, of another job). */
  copied?: string[];
  /** Skipped for want of memory: what this node declared then (restarted with more, it looks again). */
  declaredMiB?: number;
}

const SAFETY = 1.5; // estimated training time × SAFETY + startup must fit the job's duration

export interface Solver {
  tick(): void;
  /** Job ids being trained now. */
  training(): bigint[];
  stop(): void;
}

export function createSolver(ctx: NodeContext): Solver {
  const { run, busy } = keyedRunner('solver', (m) => ctx.log(m));
  const workers = new Map<bigint, RunningTask>();
  const specs = new Map<bigint, JobSpec>();
  let score: { value: bigint; at: number } | undefined;
  let claiming = false;
  // Fault tests only: `--fault cheats=a,b,...` trains the n-th job this node claims with the n-th
  // cheat (src/verify/dispute/adversary.ts) and defends it in the dispute; past the list's end it
  // claims nothing more (a cheat has no honest work to offer).
  const cheats = faultList(ctx.faults, 'cheats', SOLVER_CHEATS);
  const CHEATS_USED = 'cheats:used';
  // A verifier that replayed one of our results and disagrees is about to challenge it: the dispute
  // process starts now rather than when the challenge lands (it takes seconds to load).
  const unwatch = ctx.gossip.on('attestation', (m) => {
    if (m.envelope.body.verdict !== 'disagree') return;
    const j = ctx.state.jobs.get(BigInt(m.envelope.body.jobId));
    if (j && mine(j)) ctx.warmDisputes?.();
  });

  const me = () => ctx.address.toLowerCase();
  const mine = (j: JobRow) => j.solver?.toLowerCase() === me();

  async function specOf(j: JobRow): Promise<JobSpec> {
    let spec = specs.get(j.jobId);
    if (!spec) {
      await ensureBlob(ctx, j.specHash);
      spec = parseSpecBlob(await ctx.store.get(j.specHash), j.specHash);
      specs.set(j.jobId, spec);
    }
    return spec;
  }

  /** Fetch, check and measure a job; decide whether this node can run it. */
  async function prepare(j: JobRow): Promise<void> {
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'preparing');
    let spec: JobSpec;
    try {
      spec = await specOf(j);
    } catch (e) {
      // A spec nobody serves (yet): try again on a later tick.
      ctx.state.tasks.put(j.jobId, 'solver', 'waiting', { reason: (e as Error).message.split('\n')[0] });
      return;
    }
    const skip = (reason: string, data: Partial<SolverTaskData> = {}) => {
      ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'skipped', { reason, ...data });
      ctx.log(`job ${j.jobId}: skipped (${reason})`);
    };
    if (spec.steps !== j.steps || spec.checkpointInterval !== j.checkpointInterval) {
      return skip(`the job was posted with ${j.steps} steps every ${j.checkpointInterval}, its spec says ${spec.steps} every ${spec.checkpointInterval}`);
    }
    for (const h of dataBlobsOf(spec)) await ensureBlob(ctx, h, [], 300_000);
    const inspect = startTask({ kind: 'inspect', spec, baseDir: ctx.dataDir, threads: ctx.threads, manifestHash: j.manifestHash });
    const lines = await inspect.done;
    const ins = lines.find((l) => l.type === 'inspected') as Inspection;
    if (ins.specHash !== j.specHash) return skip(`spec hash ${ins.specHash} is not the posted ${j.specHash}`);
    // docs/verification.md §1: a manifest that is not what the spec and data give commits to other work.
    if (!ins.manifestOk) return skip(`its manifest hash ${j.manifestHash} is not the ${ins.manifestHash} its spec and data give`);
    if (ins.peakRssMiB > ctx.hardware.memoryMiB) {
      return skip(`needs ~${Math.ceil(ins.peakRssMiB)} MiB, this node declares ${ctx.hardware.memoryMiB}`, { declaredMiB: ctx.hardware.memoryMiB });
    }
    const estSec = (ins.stepMs * spec.steps) / 1000;
    if (estSec * SAFETY + 10 > j.duration) return skip(`needs ~${Math.ceil(estSec)} s of training, the job allows ${j.duration} s`);
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'ready', { inspection: ins, reason: undefined });
    ctx.log(`job ${j.jobId}: fits (${ins.params} parameters, ~${estSec.toFixed(1)} s, ~${Math.ceil(ins.peakRssMiB)} MiB)`);
  }

  async function myScore(): Promise<bigint> {
    if (score && Date.now() - score.at < 5000) return score.value;
    const id = ctx.nodeId();
    const value = id === undefined ? 0n : await reputationScore(ctx.client(), id);
    score = { value, at: Date.now() };
    return value;
  }

  async function claim(j: JobRow): Promise<void> {
    const nodeId = ctx.nodeId();
    if (nodeId === undefined) return;
    if (workers.size > 0 || claiming) return; // one job at a time
    const used = Number(ctx.state.kv.get(CHEATS_USED) ?? 0);
    if (cheats) {
      if (used >= cheats.length) return;
      // A cheat finishes one lie before the next, and does not come back to a job it lost.
      if (ctx.state.tasks.list({ role: 'solver', statuses: ['training', 'trained'] }).length > 0) return;
      if (ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver')?.data.cheat) {
        ctx.state.tasks.put(j.jobId, 'solver', 'skipped', { reason: 'this node cheated on it before (fault test)' });
        return;
      }
    }
    claiming = true;
    try {
      await claimOne(j, nodeId, cheats?.[used], used);
    } finally {
      claiming = false;
    }
  }

  async function claimOne(j: JobRow, nodeId: bigint, cheat: SolverCheat | undefined, used: number): Promise<void> {
    const priorityEnds = j.since + ctx.deployment.params.priorityWindow;
    if (ctx.chainNow() < priorityEnds && (await myScore()) <= 0n) return; // reputable nodes first
    try {
      const tx = await ctx.tx(() => claimJob(ctx.client(), j.jobId, nodeId));
      const after = await getJob(ctx.client(), j.jobId);
      if (cheat) ctx.state.kv.set(CHEATS_USED, String(used + 1));
      ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'training', { claimedSince: after.since, outDir: join(ctx.dataDir, 'runs', String(j.jobId)), attempts: 0, cheat });
      ctx.log(`job ${j.jobId}: claimed (tx ${tx.hash.slice(0, 10)})${cheat ? `; will cheat: ${cheat} (fault test)` : ''}`);
      await say(ctx, 'claim', { jobId: jobIdHex(j.jobId), txHash: tx.hash });
    } catch (e) {
      if (e instanceof ContractRevertError && e.errorName === 'PriorityWindow') return;
      if (e instanceof ContractRevertError && e.errorName === 'BadState') {
        ctx.state.tasks.put(j.jobId, 'solver', 'lost', { reason: 'another solver claimed it first' });
        return;
      }
      throw e;
    }
  }

  /** Puts a checkpoint file into the blob store and the table, tells the network, commits progress. */
  async function publishCheckpoint(j: JobRow, spec: JobSpec, step: number, stateHash: string, path: string): Promise<void> {
    const steps = checkpointSteps(spec.steps, spec.checkpointInterval);
    const index = steps.indexOf(step);
    if (index < 0) return;
    const known = ctx.state.checkpoints.list(j.jobId, ctx.address);
    if (!known.some((c) => c.index === index && c.stateHash === stateHash)) {
      const blob = await publishBlob(ctx, new Uint8Array(readFileSync(path)));
      ctx.state.checkpoints.put({ jobId: j.jobId, solver: ctx.address, index, step, stateHash, blob });
      await say(ctx, 'checkpoint', { jobId: jobIdHex(j.jobId), index, step, stateHash, blob });
    }
    await commitProgress(j);
  }

  /** Commits the root over the checkpoints so far (not the last: submitResult covers it). */
  async function commitProgress(j: JobRow): Promise<void> {
    const cks = ctx.state.checkpoints.list(j.jobId, ctx.address);
    let count = 0;
    while (count < cks.length && cks[count].index === count) count++;
    if (count === 0 || count >= j.checkpoints) return;
    const onChain = await getJob(ctx.client(), j.jobId);
    if (onChain.committed >= count || onChain.solver.toLowerCase() !== me()) return;
    const root = listRoot(j.jobId, ctx.address, cks.slice(0, count).map((c) => c.stateHash));
    await ctx.tx(() => commitCheckpoints(ctx.client(), j.jobId, count, root));
    ctx.log(`job ${j.jobId}: committed ${count}/${j.checkpoints} checkpoints`);
  }

  async function train(j: JobRow): Promise<void> {
    const task = ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver')!;
    if (task.data.cheat === 'copy') return copy(j);
    const spec = await specOf(j);
    const outDir = task.data.outDir!;
    // A worker of an earlier life of this daemon stops by itself; make sure before starting another.
    if (task.data.workerPid && alive(task.data.workerPid) && isWorker(task.data.workerPid)) process.kill(task.data.workerPid, 'SIGKILL');
    // Checkpoints written before a crash but not yet published.
    for (const e of readChainFromCheckpoints(outDir).entries) await publishCheckpoint(j, spec, e.step, e.stateHash, join(outDir, e.file));
    if (ctx.faults.has('crash-before-train')) process.exit(99);
    let lastSaid = 0;
    let recent: number[] = [];
    let publishing: Promise<void> = Promise.resolve();
    const w = startTask(
      { kind: 'train', spec, baseDir: ctx.dataDir, outDir, threads: ctx.threads, cheat: task.data.cheat },
      {
        onLine: (l) => {
          if (l.type === 'step') {
            ctx.state.log.add(j.jobId, 'progress', { step: l.step, steps: l.steps, loss: l.loss, solver: ctx.address }, `p:${j.jobId}:${me()}:${l.step}`);
            recent.push(...l.losses);
            if (Date.now() - lastSaid > 500 || l.step === l.steps) {
              lastSaid = Date.now();
              void say(ctx, 'progress', { jobId: jobIdHex(j.jobId), step: l.step, steps: l.steps, loss: l.loss, losses: recent.slice(-128) });
              recent = [];
            }
          } else if (l.type === 'trained') {
            ctx.log(`job ${j.jobId}: trained to step ${l.steps}${l.resumedFrom > 0 ? ` (resumed from the checkpoint at step ${l.resumedFrom})` : ''}, final state ${l.finalHash.slice(0, 16)}`);
          } else if (l.type === 'checkpoint') {
            publishing = publishing.then(() => publishCheckpoint(j, spec, l.step, l.stateHash, l.path)).catch((e: Error) => ctx.log(`job ${j.jobId}: checkpoint ${l.step}: ${e.message.split('\n')[0]}`));
          }
        },
        log: (t) => ctx.log(`worker: ${t.trimEnd()}`),
      },
    );
    workers.set(j.jobId, w);
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'training', { workerPid: w.pid });
    ctx.log(`job ${j.jobId}: training (worker ${w.pid})`);
    try {
      await w.done;
    } catch (e) {
      const attempts = (task.data.attempts ?? 0) + 1;
      ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', attempts >= 3 ? 'failed' : 'training', { attempts }, { error: (e as Error).message });
      throw e;
    } finally {
      workers.delete(j.jobId);
    }
    await publishing;
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'trained', { workerPid: undefined });
    await submit(j);
  }

  async function submit(j: JobRow): Promise<void> {
    if (ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver')?.data.cheat === 'copy') return copy(j);
    const cks = ctx.state.checkpoints.list(j.jobId, ctx.address);
    if (cks.length !== j.checkpoints) throw new Error(`have ${cks.length} of ${j.checkpoints} checkpoints`);
    const hashes = cks.map((c) => c.stateHash);
    const list: CheckpointList = {
      v: 1,
      jobId: j.jobId.toString(),
      solver: me(),
      specHash: j.specHash,
      checkpoints: cks.map((c, i) => ({ index: c.index, step: c.step, stateHash: hashes[i], blob: c.blob })),
    };
    const listHash = await publishBlob(ctx, encodeCheckpointList(list));
    const root = listRoot(j.jobId, ctx.address, hashes);
    const modelHash = modelHashOf(hashes[hashes.length - 1]);
    // Submitting again is safe: a submission that landed while its receipt was lost (the chain
    // restarted with it in flight) is recognised on chain, not sent twice nor taken for a refusal.
    const landed = async () => {
      const x = await getJob(ctx.client(), j.jobId);
      return ['submitted', 'disputed', 'finalized'].includes(x.state) && x.solver.toLowerCase() === me() && x.root.toLowerCase() === root.toLowerCase();
    };
    if (!(await landed())) {
      try {
        await ctx.tx(() => submitResult(ctx.client(), j.jobId, root, modelHash));
      } catch (e) {
        if (e instanceof ContractRevertError && (e.errorName === 'DeadlinePassed' || e.errorName === 'BadState' || e.errorName === 'NotSolver')) {
          if (!(await landed())) {
            ctx.state.tasks.put(j.jobId, 'solver', 'abandoned', { reason: e.shortMessage });
            return;
          }
        } else throw e;
      }
    }
    ctx.state.results.put({ jobId: j.jobId, root, modelHash, list: listHash, solver: ctx.address, at: Date.now() });
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'submitted', { root, list: listHash });
    ctx.log(`job ${j.jobId}: result submitted (model ${modelHash.slice(0, 14)})`);
    // A cheat (fault tests) expects its dispute: its dispute process loads now, not when it comes.
    if (ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver')?.data.cheat) ctx.warmDisputes?.();
    await say(ctx, 'result', { jobId: jobIdHex(j.jobId), root, modelHash, list: listHash });
  }

  /**
   * A copying solver (fault tests only) trains nothing: it submits the root and model another
   * solver committed for another job of the same spec, and announces that solver's checkpoint list
   * as its own. The states are right (the spec is the same), but the leaves are bound to the other
   * job and solver, so the root matches no list of this job: verifiers refuse it and the dispute
   * asks for leaves it cannot show.
   */
  async function copy(j: JobRow): Promise<void> {
    const other = ctx.state.jobs
      .list({ states: ['submitted', 'disputed', 'finalized'] })
      .find((o) => o.jobId !== j.jobId && o.specHash === j.specHash && o.root && o.solver && o.solver.toLowerCase() !== me() && ctx.state.results.get(o.jobId, o.root));
    if (!other) throw new Error('no result of the same spec to copy yet');
    const r = ctx.state.results.get(other.jobId, other.root!)!;
    await ensureBlob(ctx, r.list);
    const theirs = decodeCheckpointList(await ctx.store.get(r.list));
    checkListAgainstChain(theirs, { jobId: other.jobId, solver: other.solver!, root: other.root!, modelHash: other.modelHash!, checkpoints: other.checkpoints, specHash: other.specHash });
    const list: CheckpointList = { v: 1, jobId: j.jobId.toString(), solver: me(), specHash: j.specHash, checkpoints: theirs.checkpoints };
    const listHash = await publishBlob(ctx, encodeCheckpointList(list));
    const copied = theirs.checkpoints.map((c) => leafOf(other.jobId, other.solver!, c.stateHash));
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'training', { copied });
    await ctx.tx(() => submitResult(ctx.client(), j.jobId, other.root!, other.modelHash!));
    ctx.state.results.put({ jobId: j.jobId, root: other.root!, modelHash: other.modelHash!, list: listHash, solver: ctx.address, at: Date.now() });
    ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'submitted', { root: other.root!, list: listHash });
    ctx.log(`job ${j.jobId}: submitted job ${other.jobId}'s result as its own (copy, fault test)`);
    ctx.warmDisputes?.();
    await say(ctx, 'result', { jobId: jobIdHex(j.jobId), root: other.root!, modelHash: other.modelHash!, list: listHash });
  }

  /**
   * Our result was submitted but the job shows 'claimed': either this node's view lags the chain by
   * a poll, or the chain lost the block with our submission (a devnet that crashed and came back
   * shorter). The chain decides: still claimed by us, the result goes in again.
   */
  async function resubmitIfLost(j: JobRow): Promise<void> {
    const x = await getJob(ctx.client(), j.jobId);
    if (x.state !== 'claimed' || x.solver.toLowerCase() !== me()) return;
    ctx.log(`job ${j.jobId}: the chain does not hold our result (it lost the block): submitting again`);
    await submit(j);
  }

  /**
   * Checks every revealed probe of the job's verifiers against this node's own states (a replay
   * from its checkpoint to the probe step) and disputes a wrong one: a verifier that agreed without
   * replaying cannot know the state there.
   */
  async function checkProbes(j: JobRow): Promise<void> {
    const v = j.verification;
    if (!v?.seed) return;
    const task = ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver')!;
    if (task.data.cheat) return; // a cheat has no honest states to hold probes against
    const checked = new Set(task.data.checkedSlots ?? []);
    const todo = v.slots.map((s, slot) => ({ ...s, slot })).filter((s) => s.status === 'revealed' && !checked.has(s.slot));
    if (todo.length === 0) return;
    const spec = await specOf(j);
    const cks = ctx.state.checkpoints.list(j.jobId, ctx.address);
    const known: Record<string, string> = { ...(task.data.probeHashes ?? {}) };
    for (const s of todo) {
      const r = await revealOf(ctx.client(), j.jobId, s.slot);
      const probes = probePositions({ seed: v.seed, verifier: s.verifier, samples: j.samples, steps: j.steps, checkpointInterval: j.checkpointInterval });
      const missing = probes.filter((p) => known[p.step] === undefined);
      if (missing.length > 0) {
        const lines = await runTask({
          kind: 'replay',
          spec,
          baseDir: ctx.dataDir,
          threads: ctx.threads,
          segments: missing.map((p) => ({ index: p.segment, fromPath: p.segment === 0 ? null : join(ctx.store.dir, cks[p.segment - 1].blob), toStep: p.step })),
        });
        for (const l of lines) if (l.type === 'replayed') known[l.toStep] = `0x${l.endHash}`;
        ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', task.status, { probeHashes: known });
      }
      const wrong = probes.findIndex((p, i) => r.probes[i]?.toLowerCase() !== known[p.step]);
      if (wrong >= 0 && ctx.chainNow() < j.since + j.challengeWindow) {
        const p = probes[wrong];
        ctx.log(`job ${j.jobId}: verifier ${s.verifier.slice(0, 10)} revealed a wrong state at step ${p.step}: disputing its probe`);
        const manifest = task.data.inspection!.manifest as Manifest;
        const states = cks.map((c) => `0x${c.stateHash}` as Hex);
        const leaves = cks.map((c) => leafOf(j.jobId, ctx.address, c.stateHash));
        const c = ctx.client();
        ctx.warmDisputes?.();
        try {
          await ctx.tx(() => ensureAllowance(c, c.deployment.contracts.market, BigInt(c.deployment.params.disputeBond)));
          const d = await ctx.tx(() =>
            disputeProbe(c, j.jobId, { slot: s.slot, probes: r.probes, salt: r.salt, index: wrong, ...checkpointEvidence({ segment: p.segment, manifest, states, leaves }) }),
          );
          ctx.log(`job ${j.jobId}: probe dispute game ${d.gameId} open over steps ${d.fromStep}..${d.probeStep} (the dispute driver plays it once it lands)`);
        } catch (e) {
          if (!(e instanceof ContractRevertError)) throw e;
          ctx.log(`job ${j.jobId}: could not dispute the probe: ${e.shortMessage}`);
        }
      }
      if (wrong < 0) ctx.log(`job ${j.jobId}: verifier ${s.verifier.slice(0, 10)}'s probes at steps ${probes.map((p) => p.step).join(', ')} are this node's states`);
      checked.add(s.slot);
      ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', task.status, { checkedSlots: [...checked] });
    }
  }

  async function settle(j: JobRow): Promise<void> {
    if (j.state === 'submitted' && ctx.chainNow() < j.since + j.challengeWindow) {
      await checkProbes(j);
      return;
    }
    if (j.state === 'submitted' && ctx.chainNow() >= j.since + j.challengeWindow) {
      try {
        await ctx.tx(() => finalize(ctx.client(), j.jobId));
        ctx.log(`job ${j.jobId}: finalized`);
      } catch (e) {
        if (!(e instanceof ContractRevertError)) throw e; // window not over by the chain's clock, or finalized by someone else
      }
      return;
    }
    if (j.state === 'finalized') {
      if ((await withdrawable(ctx.client())) > 0n) {
        const w = await ctx.tx(() => withdraw(ctx.client()));
        ctx.log(`withdrew ${w.amount} wei`);
      }
      ctx.state.tasks.put(j.jobId, 'solver', 'done');
    }
  }

  return {
    tick() {
      const jobs = ctx.state.jobs.list({ states: ['open', 'claimed', 'submitted', 'disputed', 'finalized'] });
      for (const j of jobs) {
        const t = ctx.state.tasks.get<SolverTaskData>(j.jobId, 'solver');
        const key = String(j.jobId);
        if (t && j.state !== 'open' && !mine(j) && ['training', 'trained', 'submitted', 'ready', 'preparing', 'waiting'].includes(t.status)) {
          // Claimed, trained or finished by another solver (we were offline, late, or lost the race).
          workers.get(j.jobId)?.kill();
          ctx.state.tasks.put(j.jobId, 'solver', 'lost', { reason: `the job is ${j.state} by another solver` });
          ctx.log(`job ${j.jobId}: lost to another solver (${j.state})`);
        }
        if (j.state === 'open' && t?.status === 'skipped' && t.data.declaredMiB !== undefined && t.data.declaredMiB !== ctx.hardware.memoryMiB) {
          // Skipped for want of memory by an earlier life of this node that declared less (or more).
          ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'waiting', { reason: 'this node declares other hardware now', declaredMiB: undefined });
          continue;
        }
        if (j.state === 'open') {
          // One job inspected at a time: each inspection is a worker process that trains two steps.
          if (t === undefined || t.status === 'waiting' || (t.status === 'preparing' && !busy.has(`prep:${key}`))) {
            if (![...busy].some((k) => k.startsWith('prep:'))) run(`prep:${key}`, () => prepare(j));
          } else if (t.status === 'ready') run(key, () => claim(j));
          else if ((t.status === 'lost' || t.status === 'abandoned' || t.status === 'training' || t.status === 'submitted') && t.data.inspection) {
            // Reopened (a solver timed out or lost a dispute): it is claimable again.
            ctx.state.tasks.put(j.jobId, 'solver', 'ready', { reason: undefined });
            const w = workers.get(j.jobId);
            w?.kill();
          }
          continue;
        }
        if (j.state === 'claimed' && !mine(j)) {
          // Someone else's claim past its deadline: reopen it (that solver is slashed) and compete for it.
          if (ctx.chainNow() > j.since + j.duration + 1) {
            run(`reopen:${key}`, async () => {
              try {
                await ctx.tx(() => reopenExpired(ctx.client(), j.jobId));
                ctx.log(`job ${j.jobId}: reopened (its solver missed the deadline)`);
              } catch (e) {
                if (!(e instanceof ContractRevertError)) throw e;
              }
            });
          }
          continue;
        }
        if (j.state === 'claimed' && mine(j) && t) {
          if (ctx.chainNow() > j.since + j.duration) {
            workers.get(j.jobId)?.kill();
            if (t.status !== 'abandoned') {
              ctx.state.tasks.put(j.jobId, 'solver', 'abandoned', { reason: 'deadline passed' });
              ctx.log(`job ${j.jobId}: deadline passed, abandoned`);
            }
            continue;
          }
          if (!['training', 'trained', 'submitted', 'abandoned', 'failed'].includes(t.status)) {
            // Our claim went through but the node stopped before recording it.
            ctx.state.tasks.put<SolverTaskData>(j.jobId, 'solver', 'training', { claimedSince: j.since, outDir: join(ctx.dataDir, 'runs', String(j.jobId)), attempts: 0 });
            continue;
          }
          if (t.status === 'training' && !workers.has(j.jobId)) run(key, () => train(j));
          else if (t.status === 'trained') run(key, () => submit(j));
          else if (t.status === 'submitted') run(key, () => resubmitIfLost(j));
          continue;
        }
        if (mine(j) && t && (t.status === 'submitted' || t.status === 'trained') && (j.state === 'submitted' || j.state === 'finalized')) {
          if (t.status === 'trained') ctx.state.tasks.put(j.jobId, 'solver', 'submitted');
          run(key, () => settle(j));
        }
      }
    },
    training: () => [...workers.keys()],
    stop() {
      unwatch();
      for (const w of workers.values()) w.kill();
    },
  };
}
