// The verifier and watcher roles. After a result is submitted, someone draws the verifiers (any
// node may; the draw needs one block after the result's, which on an idle devnet this node mines
// itself with an empty transaction). A drawn verifier fetches the result's checkpoint list (checked
// against the committed root), replays the segments drawn for it from the on-chain seed and its
// address, and attests when every replay ends on the committed state, or challenges the result.
// A watcher does the same for results it was not drawn for, with segments it draws privately (the
// solver cannot know them), and challenges a wrong one. The dispute itself is driven by the
// dispute driver (src/verify, VA) once it lands; until then the challenge is opened and logged.
import { randomBytes } from 'node:crypto';
import { encodeAbiParameters, keccak256, type Hex } from 'viem';
import { addressOf } from '../chain/client.ts';
import { ContractRevertError } from '../chain/errors.ts';
import { attest, challenge, drawVerifiers, withdraw, withdrawable } from '../chain/market.ts';
import { ensureAllowance } from '../chain/token.ts';
import { checkListAgainstChain, checkpointSteps, decodeCheckpointList, parseSpecBlob, type CheckpointList } from './artifacts.ts';
import { askPeers, ensureBlob, jobIdHex, say, type NodeContext } from './context.ts';
import type { JobRow, Role } from './state.ts';
import { runTask } from './work.ts';
import { join } from 'node:path';

export interface VerifyTaskData extends Record<string, unknown> {
  segments?: number[];
  /** Per segment: the replayed end hash and whether it is the committed one. */
  replays?: Array<{ segment: number; endHash: string; expected: string; agree: boolean }>;
  salt?: string;
  gameId?: string;
  tx?: string;
  reason?: string;
}

// replay.ts loads the training engine; the daemon needs only its segment draw, once it verifies.
const replayModule = () => import('../verify/replay.ts');

export interface Verifier {
  tick(): void;
}

export function createVerifier(ctx: NodeContext, opts: { samples?: number; watchSamples?: number } = {}): Verifier {
  const busy = new Set<string>();
  const me = () => ctx.address.toLowerCase();
  let drawAttempt = { head: -1n, at: 0 };

  const lastTry = new Map<string, number>();
  function run(key: string, fn: () => Promise<void>, everyMs = 2000) {
    if (busy.has(key) || Date.now() - (lastTry.get(key) ?? 0) < everyMs) return;
    lastTry.set(key, Date.now());
    busy.add(key);
    fn()
      .catch((e: Error) => ctx.log(`verify ${key}: ${e.message.split('\n')[0]}`))
      .finally(() => busy.delete(key));
  }

  /** The result's checkpoint list: known from gossip, or asked of the peers, then checked against the chain. */
  async function listOf(j: JobRow): Promise<CheckpointList> {
    const solverPeer = j.solverNode === null ? undefined : ctx.identities.byNode(j.solverNode)?.peerId;
    let r = ctx.state.results.get(j.jobId, j.root!);
    if (!r) {
      for (const info of await askPeers(ctx, j.jobId, solverPeer)) {
        const hit = info.results.find((x) => x.root === j.root && x.solver === j.solver!.toLowerCase());
        if (hit) {
          r = { jobId: j.jobId, root: hit.root as Hex, modelHash: hit.modelHash as Hex, list: hit.list, solver: j.solver!, at: Date.now() };
          ctx.state.results.put(r);
          break;
        }
      }
    }
    if (!r) throw new Error(`no peer knows the checkpoint list of job ${j.jobId} yet`);
    await ensureBlob(ctx, r.list, solverPeer ? [solverPeer] : []);
    const list = decodeCheckpointList(await ctx.store.get(r.list));
    checkListAgainstChain(list, { jobId: j.jobId, solver: j.solver!, root: j.root!, modelHash: j.modelHash!, checkpoints: j.checkpoints, specHash: j.specHash });
    for (const c of list.checkpoints) if (solverPeer) ctx.db.providers.add(c.blob, solverPeer);
    return list;
  }

  async function check(j: JobRow, role: Role, segments: number[]): Promise<VerifyTaskData['replays']> {
    const list = await listOf(j);
    await ensureBlob(ctx, j.specHash);
    const spec = parseSpecBlob(await ctx.store.get(j.specHash), j.specHash);
    const steps = checkpointSteps(spec.steps, spec.checkpointInterval);
    const solverPeer = j.solverNode === null ? [] : [ctx.identities.byNode(j.solverNode)?.peerId].filter((p): p is string => !!p);
    const work = [];
    for (const s of segments) {
      const from = s === 0 ? null : list.checkpoints[s - 1];
      if (from) await ensureBlob(ctx, from.blob, solverPeer, 120_000);
      work.push({ index: s, fromPath: from ? join(ctx.store.dir, from.blob) : null, steps: steps[s] - (s === 0 ? 0 : steps[s - 1]) });
    }
    ctx.log(`job ${j.jobId}: ${role} replays segment${segments.length > 1 ? 's' : ''} ${segments.join(', ')}`);
    const lines = await runTask({ kind: 'replay', spec, baseDir: ctx.dataDir, threads: ctx.threads, segments: work });
    const out: NonNullable<VerifyTaskData['replays']> = [];
    for (const l of lines) {
      if (l.type !== 'replayed') continue;
      const expected = list.checkpoints[l.index].stateHash;
      // The start must be the committed state too (the worker checked the file hashes to it).
      const startOk = l.index === 0 || l.fromHash === list.checkpoints[l.index - 1].stateHash;
      out.push({ segment: l.index, endHash: l.endHash, expected, agree: startOk && l.endHash === expected });
      await say(ctx, 'attestation', {
        jobId: jobIdHex(j.jobId),
        segment: l.index,
        fromHash: l.fromHash,
        toHash: l.endHash,
        verdict: startOk && l.endHash === expected ? 'agree' : 'disagree',
      });
    }
    return out;
  }

  async function dispute(j: JobRow, role: Role, replays: NonNullable<VerifyTaskData['replays']>): Promise<void> {
    const bad = replays.filter((r) => !r.agree).map((r) => r.segment);
    ctx.log(`job ${j.jobId}: MISMATCH at segment ${bad.join(', ')}: challenging the result`);
    const c = ctx.client();
    try {
      await ctx.tx(() => ensureAllowance(c, c.deployment.contracts.market, BigInt(c.deployment.params.disputeBond)));
      const { gameId, tx } = await ctx.tx(() => challenge(c, j.jobId, ctx.nodeId() ?? 0n));
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, role, 'challenged', { gameId: gameId.toString(), tx: tx.hash });
      ctx.log(`job ${j.jobId}: challenged, dispute game ${gameId} open (the dispute driver plays it once it lands)`);
    } catch (e) {
      if (e instanceof ContractRevertError) {
        // Someone challenged first (the job is disputed) or the window closed.
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, role, 'mismatch', { reason: e.shortMessage });
        ctx.log(`job ${j.jobId}: could not challenge: ${e.shortMessage}`);
        return;
      }
      throw e;
    }
  }

  async function verify(j: JobRow): Promise<void> {
    const { drawSegments } = await replayModule();
    const samples = opts.samples ?? 2;
    const segments = drawSegments(j.seed!, `${j.jobId}:${me()}`, j.checkpoints, samples);
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'replaying', { segments });
    const replays = (await check(j, 'verifier', segments))!;
    if (replays.every((r) => r.agree)) {
      if (ctx.faults.has('no-attest')) return;
      const digest = keccak256(
        encodeAbiParameters(
          [{ type: 'uint256' }, { type: 'address' }, { type: 'uint32[]' }, { type: 'bytes32[]' }],
          [j.jobId, addressOf(ctx.client()), replays.map((r) => r.segment), replays.map((r) => `0x${r.endHash}` as Hex)],
        ),
      );
      try {
        const tx = await ctx.tx(() => attest(ctx.client(), j.jobId, digest));
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'attested', { replays, tx: tx.hash });
        ctx.log(`job ${j.jobId}: verified segments ${segments.join(', ')}, attested`);
      } catch (e) {
        if (!(e instanceof ContractRevertError)) throw e;
        ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'late', { replays, reason: e.shortMessage });
      }
      return;
    }
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'verifier', 'mismatch', { replays });
    await dispute(j, 'verifier', replays);
  }

  async function watch(j: JobRow): Promise<void> {
    const { drawSegments } = await replayModule();
    const salt = randomBytes(16).toString('hex');
    const segments = drawSegments(`0x${salt}${salt}`, `${j.jobId}:${me()}:watch`, j.checkpoints, opts.watchSamples ?? 1);
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'replaying', { segments, salt });
    const replays = (await check(j, 'watcher', segments))!;
    if (replays.every((r) => r.agree)) {
      ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'agreed', { replays });
      ctx.log(`job ${j.jobId}: watched segment ${segments.join(', ')}: agrees`);
      return;
    }
    ctx.state.tasks.put<VerifyTaskData>(j.jobId, 'watcher', 'mismatch', { replays });
    await dispute(j, 'watcher', replays);
  }

  async function draw(j: JobRow): Promise<void> {
    try {
      const r = await ctx.tx(() => drawVerifiers(ctx.client(), j.jobId));
      if (r.verifiers.length) ctx.log(`job ${j.jobId}: drew verifiers ${r.verifiers.map((v) => v.slice(0, 10)).join(', ')}`);
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
      if (e.errorName !== 'RandomnessNotReady') return;
      // The draw needs a block after the result's; an idle devnet mines only on transactions.
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

  return {
    tick() {
      for (const j of ctx.state.jobs.list({ states: ['submitted', 'finalized'] })) {
        const key = String(j.jobId);
        if (j.state === 'finalized') {
          const t = ctx.state.tasks.get(j.jobId, 'verifier');
          if (t?.status === 'attested') {
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
        if (ctx.chainNow() >= j.since + j.challengeWindow) continue; // too late to act
        const drawn = j.drawn.map((a) => a.toLowerCase());
        if (j.verifiers > 0 && drawn.length === 0 && j.seedBlock !== null) {
          run(`draw:${key}`, () => draw(j), 300);
          continue;
        }
        // A task still 'replaying' was cut short (a restart, a peer that did not answer): do it again.
        const open = (role: Role) => {
          const t = ctx.state.tasks.get(j.jobId, role);
          return t === undefined || t.status === 'replaying';
        };
        if (ctx.roles.has('verifier') && drawn.includes(me()) && j.seed && open('verifier')) {
          run(`v:${key}`, () => verify(j));
        } else if (ctx.roles.has('watcher') && !drawn.includes(me()) && (j.verifiers === 0 || drawn.length > 0) && open('watcher')) {
          run(`w:${key}`, () => watch(j));
        }
      }
    },
  };
}
