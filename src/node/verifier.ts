// The verifier and watcher roles (docs/verification.md §6).
//
// After a result, someone draws the verifiers (any node may; the draw needs a block after the
// result's, which on an idle devnet this node mines itself with an empty transaction). A drawn
// verifier fetches the result's checkpoint list (checked against the committed root), replays the
// segments the market assigns it (probesOf: from the draw's seed and its address) and records, for
// each, the state one step before the segment's end (its probe, which no one published) and the
// end. It commits keccak(agree, probes, salt, itself) before its commit deadline, reveals once the
// commit phase is over, and challenges the result at level 0 when a segment end is not the
// committed leaf. Any node replaces a drawn verifier that missed its commit deadline while the
// window has room for a new round (a fresh draw follows).
//
// A watcher replays segments it draws privately (the solver cannot know them) for results it was
// not drawn for, challenges a wrong one, and checks the probes verifiers revealed in those segments.
// The dispute games are played by the dispute driver (src/verify, VA) once it lands; until then a
// challenge is opened and logged.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { ContractRevertError } from '../chain/errors.ts';
import {
  attest,
  challenge,
  commitmentOf,
  drawVerifiers,
  probePositions,
  replaceVerifier,
  reveal,
  revealOf,
  verifyTime,
  withdraw,
  withdrawable,
  type Probe,
} from '../chain/market.ts';
import { ensureAllowance } from '../chain/token.ts';
import { IntegrityError } from '../errors.ts';
import { GRIEFS, faultList, type Grief } from '../verify/dispute/cheats.ts';
import { checkListAgainstChain, checkpointSteps, decodeCheckpointList, parseSpecBlob, type CheckpointList } from './artifacts.ts';
import { askPeers, ensureBlob, jobIdHex, keyedRunner, say, type NodeContext } from './context.ts';
import type { JobRow, Role } from './state.ts';
import { runTask, WorkerError, type WorkerLine } from './work.ts';

export interface Replayed {
  segment: number;
  /** The state hash one step before the segment's end (the probe), and at its end. */
  probeHash: string;
  endHash: string;
  /** The committed leaf's state at the segment's end. */
  expected: string;
  /** The start was the committed state and the end matched. */
  agree: boolean;
}

export interface VerifyTaskData extends Record<string, unknown> {
  probes?: Probe[];
  replays?: Replayed[];
  agree?: boolean;
  salt?: Hex;
  commitment?: Hex;
  slot?: number;
  challenged?: boolean;
  gameId?: string;
  tx?: string;
  reason?: string;
  /** Watcher: slots whose revealed probes were compared. */
  checkedSlots?: number[];
  /** Fault tests only: a griefing watcher challenged this honest result with this story. */
  grief?: Grief;
  /** The result (committed root) the task is about: a job reopened and solved again is a new task. */
  root?: string;
}

// replay.ts loads the training engine; the daemon needs only its segment draw, for the watcher.
const replayModule = () => import('../verify/replay.ts');

export interface Verifier {
  tick(): void;
}

export function createVerifier(ctx: NodeContext): Verifier {
  const runner = keyedRunner('verify', (m) => ctx.log(m));
  const run = (key: string, fn: () => Promise<void>, everyMs = 2000) => runner.run(key, fn, everyMs);
  const me = () => ctx.address.toLowerCase();
  let drawAttempt = { head: -1n, at: 0 };
  // Fault tests only: `--fault griefs=loud,silent` makes a watcher challenge the n-th result it
  // watches whatever its replay says, and defend the n-th story in the dispute (adversary.ts).
  const griefs = faultList(ctx.faults, 'griefs', GRIEFS);
  const GRIEFS_USED = 'griefs:used';

  /**
   * This node's task of `role` for the job's current result, or undefined when there is none: a task
   * recorded for an earlier result (the job was reopened and solved again, a new verifier round) is over.
   */
  const taskOf = (j: JobRow, role: 'verifier' | 'watcher') => {
    const t = ctx.state.tasks.get<VerifyTaskData>(j.jobId, role);
    return t && t.data.root !== undefined && t.data.root !== j.root ? undefined : t;
  };

  const solverPeerOf = (j: JobRow) => (j.solverNode === null ? undefined : ctx.identities.byNode(j.solverNode)?.peerId);

  /**
   * The result's checkpoint list: known from gossip, or asked of the peers, then checked against
   * the chain. A list the solver itself announced (signed gossip) that has the job's shape but not
   * its committed root is returned with `mismatch`: the solver published states it did not commit
   * to (e.g. another solver's result copied), which is a reason to disagree. A peer's answer that
   * does not match proves nothing about the solver and is passed over.
   */
  async function listOf(j: JobRow): Promise<{ list: CheckpointList; mismatch?: string }> {
    const solverPeer = solverPeerOf(j);
    const chain = { jobId: j.jobId, solver: j.solver!, root: j.root!, modelHash: j.modelHash!, checkpoints: j.checkpoints, specHash: j.specHash };
    const fetchList = async (hash: string) => {
      await ensureBlob(ctx, hash, solverPeer ? [solverPeer] : []);
      return decodeCheckpointList(await ctx.store.get(hash));
    };
    const accept = (list: CheckpointList) => {
      for (const c of list.checkpoints) if (solverPeer) ctx.db.providers.add(c.blob, solverPeer);
      return list;
    };
    const announced = ctx.state.results.get(j.jobId, j.root!);
    if (announced) {
      const list = await fetchList(announced.list);
      try {
        checkListAgainstChain(list, chain);
        return { list: accept(list) };
      } catch (e) {
        if (!(e instanceof IntegrityError)) throw e;
        const bySolver = announced.solver.toLowerCase() === j.solver!.toLowerCase();
        if (bySolver && list.specHash === j.specHash && list.checkpoints.length === j.checkpoints) return { list: accept(list), mismatch: e.message };
        if (!bySolver) throw e;
        throw new IntegrityError(`the checkpoint list job ${j.jobId}'s solver announced cannot be replayed: ${e.message}`);
      }
    }
    for (const info of await askPeers(ctx, j.jobId, solverPeer)) {
      const hit = info.results.find((x) => x.root === j.root && x.solver === j.solver!.toLowerCase());
      if (!hit) continue;
      const list = await fetchList(hit.list).catch(() => null);
      if (!list) continue;
      try {
        checkListAgainstChain(list, chain);
      } catch {
        continue;
      }
      ctx.state.results.put({ jobId: j.jobId, root: hit.root as Hex, modelHash: hit.modelHash as Hex, list: hit.list, solver: j.solver!, at: Date.now() });
      return { list: accept(list) };
    }
    throw new Error(`no peer knows the checkpoint list of job ${j.jobId} yet`);
  }

  /** Replays each segment from its committed start to one step before its end, then to its end. */
  async function replay(j: JobRow, role: Role, segments: number[]): Promise<Replayed[]> {
    const { list, mismatch } = await listOf(j);
    if (mismatch) ctx.log(`job ${j.jobId}: ${mismatch}: its states are not what the solver committed to, so no segment can agree`);
    await ensureBlob(ctx, j.specHash);
    const spec = parseSpecBlob(await ctx.store.get(j.specHash), j.specHash);
    const ends = checkpointSteps(spec.steps, spec.checkpointInterval);
    const solverPeer = solverPeerOf(j);
    const work = [];
    for (const s of segments) {
      const from = s === 0 ? null : list.checkpoints[s - 1];
      if (from) await ensureBlob(ctx, from.blob, solverPeer ? [solverPeer] : [], 120_000);
      work.push({ index: s, fromPath: from ? join(ctx.store.dir, from.blob) : null, probeStep: ends[s] - 1, toStep: ends[s] });
    }
    ctx.log(`job ${j.jobId}: ${role} replays segment${segments.length > 1 ? 's' : ''} ${segments.join(', ')}`);
    const task = { kind: 'replay', spec, baseDir: ctx.dataDir, threads: ctx.threads } as const;
    let lines: WorkerLine[];
    const refused = new Map<number, string>();
    try {
      lines = await runTask({ ...task, segments: work });
    } catch (e) {
      if (!(e instanceof WorkerError) || e.workerError === undefined) throw e;
      // The engine refused a replay (non-finite values from the committed start, a start that does
      // not decode or hash to its state): the solver's states cannot be what honest training gives,
      // which is a disagreement, not a reason to stall. Which segment: each alone.
      lines = [];
      for (const w of work) {
        try {
          lines.push(...(await runTask({ ...task, segments: [w] })));
        } catch (e2) {
          if (!(e2 instanceof WorkerError) || e2.workerError === undefined) throw e2;
          refused.set(w.index, e2.message.split('\n')[0]);
        }
      }
    }
    const out: Replayed[] = [];
    for (const seg of segments) {
      if (refused.has(seg)) {
        ctx.log(`job ${j.jobId}: the replay of segment ${seg} from the solver's checkpoint fails (${refused.get(seg)}): disagree`);
        out.push({ segment: seg, probeHash: '0'.repeat(64), endHash: '', expected: list.checkpoints[seg].stateHash, agree: false });
        await say(ctx, 'attestation', { jobId: jobIdHex(j.jobId), segment: seg, fromHash: seg === 0 ? '0'.repeat(64) : list.checkpoints[seg - 1].stateHash, toHash: '0'.repeat(64), verdict: 'disagree' });
        continue;
      }
      const l = lines.find((x) => x.type === 'replayed' && x.index === seg);
      if (!l || l.type !== 'replayed') throw new Error(`the replay of segment ${seg} reported nothing`);
      const expected = list.checkpoints[seg].stateHash;
      // The start must be the committed state too (the worker checked that the file hashes to it).
      const startOk = seg === 0 || l.fromHash === list.checkpoints[seg - 1].stateHash;
      const agree = startOk && l.endHash === expected && !mismatch;
      out.push({ segment: seg, probeHash: l.probeHash!, endHash: l.endHash, expected, agree });
      await say(ctx, 'attestation', { jobId: jobIdHex(j.jobId), segment: seg, fromHash: l.fromHash, toHash: l.endHash, verdict: agree ? 'agree' : 'disagree' });
    }
    return out;
  }

  async function challengeResult(j: JobRow, role: Role, replays: Replayed[]): Promise<void> {
    const bad = replays.filter((r) => !r.agree).map((r) => r.segment);
    ctx.log(`job ${j.jobId}: MISMATCH at segment ${bad.join(', ')}: challenging the result`);
    if (j.state !== 'submitted') {
      ctx.log(`job ${j.jobId}: already ${j.state}; no second challenge`);
      return;
    }
    ctx.warmDisputes?.(); // this node plays the dispute it opens
    const c = ctx.client();
    try {
      await ctx.tx(() => ensureAllowance(c, c.deployment.contracts.market, BigInt(c.deployment.params.disputeBond)));
      const { gameId, tx } = await ctx.tx(() => challenge(c, j.jobId, ctx.nodeId() ?? 0n));
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, role, ctx.state.tasks.get(j.jobId, role)!.status, { challenged: true, gameId: gameId.toString(), tx: tx.hash });
      ctx.log(`job ${j.jobId}: challenged, dispute game ${gameId} open (the dispute driver plays it once it lands)`);
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
      // Someone challenged first (the job is disputed) or the window closed.
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, role, ctx.state.tasks.get(j.jobId, role)!.status, { challenged: true, reason: e.shortMessage });
      ctx.log(`job ${j.jobId}: could not challenge: ${e.shortMessage}`);
    }
  }

  /** A drawn verifier's round: replay, commit, reveal (each step recorded before the next). */
  async function verify(j: JobRow, slot: number): Promise<void> {
    const v = j.verification!;
    const s = v.slots[slot];
    let t = taskOf(j, 'verifier');
    if (s.status === 'drawn' && (!t || t.status === 'replaying')) {
      const probes = probePositions({ seed: v.seed!, verifier: ctx.address, samples: j.samples, steps: j.steps, checkpointInterval: j.checkpointInterval });
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'replaying', { probes, slot, root: j.root! }, { replace: true });
      const lazy = ctx.faults.has('lazy-verifier');
      // A lazy verifier (fault tests only) agrees without replaying and makes its probes up.
      const replays = lazy
        ? probes.map((p) => ({ segment: p.segment, probeHash: randomBytes(32).toString('hex'), endHash: '', expected: '', agree: true }))
        : await replay(j, 'verifier', probes.map((p) => p.segment));
      const agree = replays.every((r) => r.agree);
      const salt = `0x${randomBytes(32).toString('hex')}` as Hex;
      const probeHashes = replays.map((r) => `0x${r.probeHash}` as Hex);
      // Salt and probes are on disk before the commitment leaves: a restart can still reveal.
      t = ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'replayed', { replays, agree, salt, commitment: commitmentOf(agree, probeHashes, salt, ctx.address) });
    }
    if (s.status === 'drawn' && t?.status === 'replayed') {
      if (ctx.faults.has('no-commit')) return;
      try {
        const tx = await ctx.tx(() => attest(ctx.client(), j.jobId, t!.data.commitment!));
        t = ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'committed', { tx: tx.hash });
        ctx.log(`job ${j.jobId}: replayed segments ${t.data.replays!.map((r) => r.segment).join(', ')}: ${t.data.agree ? 'they match' : 'MISMATCH'}; committed`);
      } catch (e) {
        if (!(e instanceof ContractRevertError)) throw e;
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'late', { reason: e.shortMessage });
        ctx.log(`job ${j.jobId}: could not commit: ${e.shortMessage}`);
        return;
      }
      if (!t.data.agree && !t.data.challenged) await challengeResult(j, 'verifier', t.data.replays!);
      return;
    }
    if (s.status === 'committed' && t && (t.status === 'committed' || t.status === 'replayed')) {
      // Reveals open after the commit deadline, or as soon as every drawn slot committed.
      if (!(ctx.chainNow() > s.commitBy || v.uncommitted === 0)) return;
      try {
        const probes = t.data.replays!.map((r) => `0x${r.probeHash}` as Hex);
        await ctx.tx(() => reveal(ctx.client(), j.jobId, { agree: t!.data.agree!, probes, salt: t!.data.salt! }));
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'revealed');
        ctx.log(`job ${j.jobId}: revealed (${t.data.agree ? 'agree' : 'disagree'})`);
      } catch (e) {
        if (!(e instanceof ContractRevertError)) throw e;
        if (e.errorName === 'RevealNotOpen') return;
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'late', { reason: e.shortMessage });
        ctx.log(`job ${j.jobId}: could not reveal: ${e.shortMessage}`);
      }
    }
  }

  async function watch(j: JobRow): Promise<void> {
    const { drawSegments } = await replayModule();
    const salt = randomBytes(16).toString('hex');
    const segments = drawSegments(`0x${salt}${salt}`, `${j.jobId}:${me()}:watch`, j.checkpoints, 1);
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'replaying', { salt: `0x${salt}` as Hex, root: j.root! }, { replace: true });
    const replays = await replay(j, 'watcher', segments);
    const used = Number(ctx.state.kv.get(GRIEFS_USED) ?? 0);
    const grief = griefs?.[used];
    if (grief) {
      // The griefing watcher (fault test): challenges an honest result with a made-up story.
      ctx.state.kv.set(GRIEFS_USED, String(used + 1));
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'mismatch', { replays, grief });
      ctx.log(`job ${j.jobId}: griefing (${grief}, fault test): challenging a result its replay ${replays.every((r) => r.agree) ? 'agrees with' : 'disputes'}`);
      await challengeResult(j, 'watcher', replays.map((r) => ({ ...r, agree: false })));
      return;
    }
    if (replays.every((r) => r.agree)) {
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'agreed', { replays });
      ctx.log(`job ${j.jobId}: watched segment ${segments.join(', ')}: agrees`);
      return;
    }
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'mismatch', { replays });
    await challengeResult(j, 'watcher', replays);
  }

  /** Watcher: compares the probes verifiers revealed in the segments it replayed with its own states. */
  async function checkRevealed(j: JobRow): Promise<void> {
    const t = taskOf(j, 'watcher');
    const v = j.verification;
    if (!t?.data.replays || !v?.seed) return;
    const checked = new Set(t.data.checkedSlots ?? []);
    for (const [slot, s] of v.slots.entries()) {
      if (s.status !== 'revealed' || checked.has(slot)) continue;
      const r = await revealOf(ctx.client(), j.jobId, slot);
      const probes = probePositions({ seed: v.seed, verifier: s.verifier, samples: j.samples, steps: j.steps, checkpointInterval: j.checkpointInterval });
      for (const [i, p] of probes.entries()) {
        const mine = t.data.replays.find((x) => x.segment === p.segment);
        if (mine && r.probes[i]?.toLowerCase() !== `0x${mine.probeHash}`) {
          ctx.log(`job ${j.jobId}: verifier ${s.verifier.slice(0, 10)} revealed a WRONG probe at step ${p.step} (segment ${p.segment}): it did not replay; the solver can dispute it`);
        }
      }
      checked.add(slot);
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', t.status, { checkedSlots: [...checked] });
    }
  }

  async function draw(j: JobRow): Promise<void> {
    try {
      const r = await ctx.tx(() => drawVerifiers(ctx.client(), j.jobId));
      if (r.verifiers.length) ctx.log(`job ${j.jobId}: drew verifier${r.verifiers.length > 1 ? 's' : ''} ${r.verifiers.map((x) => x.slice(0, 10)).join(', ')} (slot ${r.firstSlot}..)`);
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
      if (e.errorName !== 'RandomnessNotReady') return;
      // The draw needs a block after the one that armed it; an idle devnet mines only on transactions.
      const head = ctx.head();
      if (head !== drawAttempt.head) drawAttempt = { head, at: Date.now() };
      else if (Date.now() - drawAttempt.at > 500) {
        drawAttempt.at = Date.now();
        await ctx.tx(async () => {
          const c = ctx.client();
          const hash = await c.wallet!.sendTransaction({ to: ctx.address, value: 0n });
          await c.public.waitForTransactionReceipt({ hash, pollingInterval: 50 });
        });
      }
    }
  }

  async function replace(j: JobRow, slot: number, who: Address): Promise<void> {
    try {
      await ctx.tx(() => replaceVerifier(ctx.client(), j.jobId, slot));
      ctx.log(`job ${j.jobId}: verifier ${who.slice(0, 10)} missed its commit deadline: replaced (slot ${slot})`);
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
    }
  }

  return {
    tick() {
      for (const j of ctx.state.jobs.list({ states: ['submitted', 'disputed', 'finalized'] })) {
        const key = String(j.jobId);
        const v = j.verification;
        if (j.state === 'finalized') {
          const t = ctx.state.tasks.get(j.jobId, 'verifier');
          if (t?.status === 'revealed') {
            run(`pay:${key}`, async () => {
              if ((await withdrawable(ctx.client())) > 0n) {
                const w = await ctx.tx(() => withdraw(ctx.client()));
                ctx.log(`withdrew ${w.amount} wei (verifier fee)`);
              }
              ctx.state.tasks.put(j.jobId, 'verifier', 'paid');
            });
          }
          continue;
        }
        if (j.root === null || j.solver?.toLowerCase() === me()) continue;
        const ends = j.since + j.challengeWindow;
        if (j.state === 'submitted' && ctx.chainNow() >= ends) continue; // too late to act
        if (j.verifiers > 0 && v) {
          // A draw is armed (the first, or replacements) and not done yet.
          if (v.seedBlock > 0 && (v.seed === null || v.pending > 0)) run(`draw:${key}`, () => draw(j), 300);
          // Replace a drawn verifier that missed its commit deadline while a new round still fits.
          for (const [slot, s] of v.slots.entries()) {
            if (s.status === 'drawn' && ctx.chainNow() > s.commitBy + 1 && ctx.chainNow() + verifyTime(ctx.deployment.params) <= ends) {
              run(`replace:${key}:${slot}`, () => replace(j, slot, s.verifier), 2000);
            }
          }
          const mySlot = v.slots.findIndex((s) => s.verifier.toLowerCase() === me() && s.status !== 'replaced');
          if (ctx.roles.has('verifier') && mySlot >= 0 && v.seed) {
            const t = taskOf(j, 'verifier');
            if (!t || ['replaying', 'replayed', 'committed'].includes(t.status)) run(`v:${key}`, () => verify(j, mySlot), 500);
            continue;
          }
        }
        if (ctx.roles.has('watcher') && j.state === 'submitted') {
          const drawn = v?.slots.some((s) => s.verifier.toLowerCase() === me()) ?? false;
          const t = taskOf(j, 'watcher');
          if (!drawn && (t === undefined || t.status === 'replaying')) run(`w:${key}`, () => watch(j));
          else if (t && t.status === 'agreed') run(`wp:${key}`, () => checkRevealed(j), 1000);
        }
      }
    },
  };
}
