// Gas of every step of the coordination layer on a real anvil: one-time setup, an honest job's
// lifecycle (cold: first job on a fresh deployment; warm: the next one, the steady state), the same
// with two verifiers (draw, commit, reveal), a verifier replaced after missing its commit, no-shows,
// each level-0 dispute move, and a probe dispute both ways. `npm run gas -- --json` prints one JSON
// object; scripts/econ.ts imports measureGas() so its expected values rest on these figures.
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, createTestClient, http, keccak256, toHex, type Address, type Hex } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { connect, devAccount, type ChainClient, type TxResult } from '../src/chain/client.ts';
import { deployContracts, DEVNET_PARAMS, type DeployParams } from '../src/chain/deploy.ts';
import { answer, callJudge, getGame, nextIndex, reveal, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import { merkleProof } from '../src/chain/merkle.ts';
import { registerNode } from '../src/chain/registry.ts';
import { bond, joinVerifierPool } from '../src/chain/staking.ts';
import { approve, faucet } from '../src/chain/token.ts';
import { honestStates, leafJudgeProof, leavesOf, lyingStates, resultOf, stepStates, testManifest } from '../test/chain-jobs.ts';

const VTT = 10n ** 18n;
export const GAS_TARGET = 500_000;
/** Checkpoints of the measured jobs and steps per checkpoint (a probe game has up to K - 1 steps). */
export const GAS_JOB = { checkpoints: 16, interval: 16 } as const;

type Steps = Record<string, number>;

export interface GasReport {
  gas: {
    setup: Steps;
    honestLifecycle: { cold: Steps; warm: Steps; withVerifiers: Steps };
    totals: Record<string, number>;
    /** Level 0 over GAS_JOB.checkpoints leaves. */
    dispute: { solverHonest: Steps; solverCheats: Steps };
    /** Verifier rounds beyond the honest path: replacement, no-shows, probe disputes. */
    verifiers: { replacement: Steps; noShows: Steps; probeLazyVerifier: Steps; probeGriefingSolver: Steps };
    other: Steps;
  };
  disputeLeaves: number;
  probeSteps: { lazyVerifier: number; griefingSolver: number };
  target: number;
  honestUnderTarget: boolean;
  params: DeployParams;
  anvil: string;
}

const g = (tx: { gasUsed: bigint } | TxResult) => Number(tx.gasUsed);
const sum = (s: Steps, skip: string[] = []) => Object.entries(s).reduce((a, [k, v]) => (skip.includes(k) ? a : a + v), 0);

/** Run every flow once on a fresh anvil with `params` (default DEVNET_PARAMS) and return the gas of each step. */
export async function measureGas(params: Partial<DeployParams> = {}): Promise<GasReport> {
  const anvil = await startAnvil();
  try {
    const d = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), params });
    const p = { ...DEVNET_PARAMS, ...params };
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
    const later = async (seconds: number) => {
      await test.increaseTime({ seconds });
      await test.mine({ blocks: 1 });
    };
    const as = (i: number): ChainClient => connect({ deployment: d, account: devAccount(i) });
    const [submitter, solver, v1, v2, challenger, v3] = [as(1), as(2), as(3), as(4), as(5), as(6)];
    const verifierClients = [v1, v2, v3];
    const { market, staking } = d.contracts;
    const solverAddress = devAccount(2).address;

    const setup: Steps = {};
    for (const c of [submitter, solver, v1, v2, challenger, v3]) await faucet(c);
    setup.approveMarket = g(await approve(submitter, market, 2n ** 256n - 1n));
    for (const c of [challenger, solver, v1, v2, v3]) await approve(c, market, 2n ** 256n - 1n);
    setup.approveStaking = g(await approve(solver, staking, 2n ** 256n - 1n));
    for (const c of verifierClients) await approve(c, staking, 2n ** 256n - 1n);
    setup.bond = g(await bond(solver, 500n * VTT));
    const secp = await generateKeyPair('secp256k1');
    const hw = { cores: 2, memoryMiB: 4096, accelerator: 'none' };
    const reg = await registerNode(solver, { peerId: bytesToHex(peerIdFromPrivateKey(secp).toMultihash().bytes), peer: secp, roles: 3, hardware: hw });
    setup.registerNodeSecp256k1 = g(reg.tx);
    const ed = await generateKeyPair('Ed25519');
    setup.registerNodeEd25519 = g(
      (await registerNode(v1, { peerId: bytesToHex(peerIdFromPrivateKey(ed).toMultihash().bytes), peer: ed, roles: 2, hardware: hw })).tx,
    );
    setup.bondVerifier = g(await bond(v1, 100n * VTT));
    setup.joinVerifierPool = g(await joinVerifierPool(v1));
    for (const c of [v2, v3]) {
      await bond(c, 100n * VTT);
      await joinVerifierPool(c);
    }
    const node = reg.nodeId;

    const { checkpoints: N, interval: K } = GAS_JOB;
    const manifest = testManifest('gas');
    const genesis = m.manifestHash(manifest);
    const truth = honestStates(manifest, N);
    const windowOf = (verifiers: number, w?: number) => w ?? (verifiers === 0 ? 600 : m.defaultChallengeWindow(d.params, verifiers));
    const job = (verifiers: number, challengeWindow?: number): m.PostJobParams => ({
      manifest,
      price: 100n * VTT,
      duration: 3600,
      steps: N * K,
      checkpointInterval: K,
      verifiers,
      samples: verifiers === 0 ? 0 : 2,
      challengeWindow: windowOf(verifiers, challengeWindow),
      collateral: 50n * VTT,
    });
    const clientOf = (a: Address) => verifierClients.find((x) => x.wallet!.account.address === a)!;
    /** The honest state after `step` steps (the probe games' TestJudge world). */
    const trueProbe = (pr: m.Probe): Hex => {
      const pre = pr.segment === 0 ? manifest.initState : truth[pr.segment - 1];
      return stepStates(pre, pr.step - pr.segment * K)[pr.step - pr.segment * K - 1];
    };
    const revealFor = async (jobId: bigint, a: Address, lazy = false): Promise<m.Reveal> => {
      const probes = await m.probesOf(submitter, jobId, a);
      return { agree: true, probes: probes.map((pr, i) => (lazy ? keccak256(toHex(`guess ${i}`)) : trueProbe(pr))), salt: keccak256(toHex(`salt ${a}`)) };
    };

    /** post → claim (after the priority window) → submit; returns the job id and the gas. */
    async function submitted(verifiers: number, s: Steps, states: readonly Hex[] = truth, window?: number) {
      const post = await m.postJob(submitter, job(verifiers, window));
      s.post = g(post.tx);
      await later(d.params.priorityWindow + 1); // a node with no reputation yet waits out the priority window
      s.claim = g(await m.claimJob(solver, post.jobId, node));
      s.commit = g(await m.commitCheckpoints(solver, post.jobId, N / 2, resultOf(post.jobId, solverAddress, states.slice(0, N / 2)).root));
      const r = resultOf(post.jobId, solverAddress, states);
      s.submitResult = g(await m.submitResult(solver, post.jobId, r.root, r.modelHash));
      return post.jobId;
    }

    /** Draw, then every drawn verifier commits and reveals (`lazy` ones with guesses). */
    async function verifyAll(jobId: bigint, s: Steps, lazy: Address[] = []) {
      await test.mine({ blocks: 1 });
      const draw = await m.drawVerifiers(submitter, jobId);
      s.drawVerifiers = g(draw.tx);
      const reveals = new Map<Address, m.Reveal>();
      for (const [i, a] of draw.verifiers.entries()) {
        const r = await revealFor(jobId, a, lazy.includes(a));
        reveals.set(a, r);
        s[`attest${i + 1}`] = g(await m.attest(clientOf(a), jobId, m.commitmentOf(r.agree, r.probes, r.salt, a)));
      }
      for (const [i, a] of draw.verifiers.entries()) s[`reveal${i + 1}`] = g(await m.reveal(clientOf(a), jobId, reveals.get(a)!));
      return draw.verifiers;
    }

    /** An honest job to its payout, with gas per step. */
    async function honest(verifiers: number) {
      const s: Steps = {};
      const jobId = await submitted(verifiers, s);
      const drawn = verifiers > 0 ? await verifyAll(jobId, s) : [];
      await later(windowOf(verifiers) + 1);
      s.finalize = g((await m.finalize(submitter, jobId)).tx);
      s.withdrawSolver = g((await m.withdraw(solver)).tx);
      for (const [i, a] of drawn.entries()) s[`withdrawVerifier${i + 1}`] = g((await m.withdraw(clientOf(a))).tx);
      return s;
    }

    const cold = await honest(0);
    const warm = await honest(0);
    const withVerifiers = await honest(2);

    /** A full level-0 dispute over N leaves; `cheat` makes the solver's states wrong from 5 on. */
    async function dispute(cheat: boolean) {
      const s: Steps = {};
      const mine = cheat ? lyingStates(truth, 5, 'bad') : truth;
      const jobId = await submitted(0, {}, mine);
      const leaves = leavesOf(jobId, solverAddress, mine);
      const honestLeaves = leavesOf(jobId, solverAddress, truth);
      const ch = await m.challenge(challenger, jobId);
      s.challenge = g(ch.tx);
      for (let round = 1; ; round++) {
        const i = await nextIndex(solver, ch.gameId);
        s[`reveal${round}`] = g(await reveal(solver, ch.gameId, leaves[i], merkleProof(leaves, i)));
        const tx = await answer(challenger, ch.gameId, leaves[i] === honestLeaves[i]);
        s[`answer${round}`] = g(tx);
        if (tx.events.some((e) => e.eventName === 'LeafAnswered' && Number(e.args.disputed) - Number(e.args.agreed) === 1)) break;
      }
      const game = await getGame(solver, ch.gameId);
      s.callJudge = g(await callJudge(solver, ch.gameId, leafJudgeProof(genesis, mine, game.agreed)));
      s.settleDispute = g((await m.settleDispute(submitter, jobId)).tx);
      s.withdrawWinner = g((await m.withdraw(cheat ? challenger : solver)).tx);
      if (!cheat) {
        await later(601);
        await m.finalize(submitter, jobId);
        await m.withdraw(solver);
      }
      return s;
    }
    const disputeSolverHonest = await dispute(false);
    const disputeSolverCheats = await dispute(true);

    // A verifier misses its commit deadline: replaced, the replacement draws, commits and reveals.
    const replacement: Steps = {};
    {
      const jobId = await submitted(2, {});
      await test.mine({ blocks: 1 });
      const draw = await m.drawVerifiers(submitter, jobId);
      const [missing, present] = draw.verifiers;
      const rp = await revealFor(jobId, present);
      await m.attest(clientOf(present), jobId, m.commitmentOf(true, rp.probes, rp.salt, present));
      await later(d.params.commitPeriod + 1);
      replacement.replaceVerifier = g((await m.replaceVerifier(submitter, jobId, draw.verifiers.indexOf(missing))).tx);
      await test.mine({ blocks: 1 });
      const redraw = await m.drawVerifiers(submitter, jobId);
      replacement.drawReplacement = g(redraw.tx);
      const [fresh] = redraw.verifiers;
      const rf = await revealFor(jobId, fresh);
      replacement.attestReplacement = g(await m.attest(clientOf(fresh), jobId, m.commitmentOf(true, rf.probes, rf.salt, fresh)));
      await m.reveal(clientOf(present), jobId, rp);
      replacement.revealReplacement = g(await m.reveal(clientOf(fresh), jobId, rf));
      await later(windowOf(2) + 1);
      replacement.finalize = g((await m.finalize(submitter, jobId)).tx);
    }

    // Both drawn verifiers never show: finalize takes the penalties.
    const noShows: Steps = {};
    {
      const jobId = await submitted(2, {}, truth, 60 + m.verifyTime(d.params));
      await test.mine({ blocks: 1 });
      await m.drawVerifiers(submitter, jobId);
      await later(60 + m.verifyTime(d.params) + 1);
      noShows.finalizeTwoNoShows = g((await m.finalize(submitter, jobId)).tx);
    }

    /**
     * A probe dispute played to the end against the first drawn verifier: `lazy`, it guessed its probes
     * (it reveals true states inside the game, its best try, and loses at the last step); otherwise it
     * replayed and the solver griefs, disagreeing with every state (the verifier wins at step 0).
     */
    async function probeDispute(lazy: boolean): Promise<{ s: Steps; n: number }> {
      const s: Steps = {};
      const jobId = await submitted(2, {});
      await test.mine({ blocks: 1 });
      const draw = await m.drawVerifiers(submitter, jobId);
      const target = draw.verifiers[0];
      const reveals = new Map<Address, m.Reveal>();
      for (const a of draw.verifiers) {
        const r = await revealFor(jobId, a, lazy && a === target);
        reveals.set(a, r);
        await m.attest(clientOf(a), jobId, m.commitmentOf(true, r.probes, r.salt, a));
      }
      for (const a of draw.verifiers) await m.reveal(clientOf(a), jobId, reveals.get(a)!);
      const rv = reveals.get(target)!;
      const probes = await m.probesOf(submitter, jobId, target);
      // Dispute the probe deepest into its segment: the longest probe game.
      const depth = (pr: m.Probe) => pr.step - pr.segment * K;
      const index = probes.reduce((best, pr, i) => (depth(pr) > depth(probes[best]) ? i : best), 0);
      const evidence = m.checkpointEvidence({ segment: probes[index].segment, manifest, states: truth, leaves: leavesOf(jobId, solverAddress, truth) });
      const dp = await m.disputeProbe(solver, jobId, { slot: 0, probes: rv.probes, salt: rv.salt, index, ...evidence });
      s.disputeProbe = g(dp.tx);
      const n = dp.probeStep - dp.fromStep;
      const chain = stepStates(evidence.preState, n);
      const mine = chain.map((x, i) => (i === n - 1 ? rv.probes[index] : x));
      for (let round = 1; ; round++) {
        const game = await getGame(solver, dp.gameId);
        if (game.phase === 'defender-moves') {
          const i = await nextIndex(solver, dp.gameId);
          s[`reveal${round}`] = g(await reveal(clientOf(target), dp.gameId, mine[i], []));
          s[`answer${round}`] = g(await answer(solver, dp.gameId, lazy && mine[i] === chain[i]));
        } else if (game.phase === 'judging') {
          s.callJudge = g(await callJudge(clientOf(target), dp.gameId));
        } else break;
      }
      s.settleProbeDispute = g((await m.settleProbeDispute(submitter, dp.gameId)).tx);
      await later(windowOf(2) + 1);
      s.finalize = g((await m.finalize(submitter, jobId)).tx);
      return { s, n };
    }
    const lazy = await probeDispute(true);
    const griefing = await probeDispute(false);

    // A dispute lost by timeout, and a solver that misses its deadline.
    const other: Steps = {};
    {
      const jobId = await submitted(0, {});
      const ch = await m.challenge(challenger, jobId);
      await later(d.params.moveTimeout + 1);
      other.timeoutGame = g(await timeoutGame(challenger, ch.gameId));
      await m.settleDispute(submitter, jobId);
      await later(d.params.priorityWindow + 1);
      await m.claimJob(solver, jobId, node);
      await later(3601);
      other.reopenExpired = g(await m.reopenExpired(submitter, jobId));
      other.cancelJob = g(await m.cancelJob(submitter, jobId));
    }

    const core = ['post', 'claim', 'submitResult', 'finalize', 'withdrawSolver'];
    const pick = (s: Steps, keys: string[]) => keys.reduce((a, k) => a + (s[k] ?? 0), 0);
    return {
      gas: {
        setup,
        honestLifecycle: { cold, warm, withVerifiers },
        totals: {
          honestCold: sum(cold),
          honestWarm: sum(warm),
          honestWarmWithoutProgressCommit: pick(warm, core),
          honestWithTwoVerifiers: sum(withVerifiers),
          disputeSolverHonest: sum(disputeSolverHonest),
          disputeSolverCheats: sum(disputeSolverCheats),
          probeDisputeLazyVerifier: sum(lazy.s, ['finalize']),
          probeDisputeGriefingSolver: sum(griefing.s, ['finalize']),
        },
        dispute: { solverHonest: disputeSolverHonest, solverCheats: disputeSolverCheats },
        verifiers: { replacement, noShows, probeLazyVerifier: lazy.s, probeGriefingSolver: griefing.s },
        other,
      },
      disputeLeaves: N,
      probeSteps: { lazyVerifier: lazy.n, griefingSolver: griefing.n },
      target: GAS_TARGET,
      honestUnderTarget: sum(cold) < GAS_TARGET && sum(warm) < GAS_TARGET,
      params: p,
      anvil: '1.7.1',
    };
  } finally {
    await anvil.stop();
  }
}

function show(r: GasReport) {
  const table = (title: string, s: Steps) => {
    console.log(`\n${title}`);
    for (const [k, v] of Object.entries(s)) console.log(`  ${k.padEnd(34)} ${v.toLocaleString('en').padStart(10)}`);
  };
  const x = r.gas;
  table('one-time setup', x.setup);
  table('honest job, cold (first job of the deployment)', x.honestLifecycle.cold);
  table('honest job, warm (steady state)', x.honestLifecycle.warm);
  table('honest job with 2 verifiers (commit + reveal each)', x.honestLifecycle.withVerifiers);
  table(`level-0 dispute over ${r.disputeLeaves} leaves, solver honest`, x.dispute.solverHonest);
  table(`level-0 dispute over ${r.disputeLeaves} leaves, solver cheats`, x.dispute.solverCheats);
  table('a verifier replaced after missing its commit', x.verifiers.replacement);
  table('two verifiers never show', x.verifiers.noShows);
  table(`probe dispute, lazy verifier (${r.probeSteps.lazyVerifier} steps)`, x.verifiers.probeLazyVerifier);
  table(`probe dispute, griefing solver (${r.probeSteps.griefingSolver} steps)`, x.verifiers.probeGriefingSolver);
  table('timeouts and cancel', x.other);
  table('totals', x.totals);
  console.log(`\nhonest lifecycle under ${r.target.toLocaleString('en')} gas: ${r.honestUnderTarget ? 'yes' : 'NO'}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await measureGas();
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
  else show(r);
}
