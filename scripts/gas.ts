// Gas of every step of the coordination layer on a real anvil: one-time setup, an honest job's
// lifecycle (cold: first job on a fresh deployment; warm: the next one, the steady state), the
// same with verifiers, and each dispute move. `npm run gas -- --json` prints one JSON object.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, createTestClient, http, keccak256, toHex, type Hex } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import { answer, callJudge, nextIndex, reveal, timeoutGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import { merkleProof, merkleRoot } from '../src/chain/merkle.ts';
import { registerNode } from '../src/chain/registry.ts';
import { bond, joinVerifierPool } from '../src/chain/staking.ts';
import { approve, faucet } from '../src/chain/token.ts';
import { honestLeaves } from '../test/chain-leaves.ts';

const json = process.argv.includes('--json');
const VTT = 10n ** 18n;
const TARGET = 500_000;
const h = (s: string) => keccak256(toHex(s));
const g = (tx: { gasUsed: bigint }) => Number(tx.gasUsed);

const anvil = await startAnvil();
try {
  const d = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0) });
  const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  const later = async (seconds: number) => {
    await test.increaseTime({ seconds });
    await test.mine({ blocks: 1 });
  };
  const as = (i: number): ChainClient => connect({ deployment: d, account: devAccount(i) });
  const [submitter, solver, v1, v2, challenger] = [as(1), as(2), as(3), as(4), as(5)];
  const { market, staking } = d.contracts;

  const setup: Record<string, number> = {};
  for (const c of [submitter, solver, v1, v2, challenger]) await faucet(c);
  setup.approveMarket = g(await approve(submitter, market, 2n ** 256n - 1n));
  await approve(challenger, market, 2n ** 256n - 1n);
  setup.approveStaking = g(await approve(solver, staking, 2n ** 256n - 1n));
  for (const c of [v1, v2]) await approve(c, staking, 2n ** 256n - 1n);
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
  await bond(v2, 100n * VTT);
  await joinVerifierPool(v2);
  const node = reg.nodeId;

  const N = 16;
  const leaves = honestLeaves(m.jobInputsHash(h('spec'), h('dataset')), N);
  const root = merkleRoot(leaves);
  const job = (verifiers: number): m.PostJobParams => ({
    specHash: h('spec'),
    datasetHash: h('dataset'),
    price: 100n * VTT,
    duration: 3600,
    checkpoints: N,
    verifiers,
    challengeWindow: 600,
    collateral: 50n * VTT,
  });

  /** post → claim → commit half → submit → finalize → withdraw, with gas per step. */
  async function honest(verifiers: number) {
    const s: Record<string, number> = {};
    const post = await m.postJob(submitter, job(verifiers));
    s.post = g(post.tx);
    await later(d.params.priorityWindow + 1); // a node with no reputation yet waits out the priority window
    s.claim = g(await m.claimJob(solver, post.jobId, node));
    s.commit = g(await m.commitCheckpoints(solver, post.jobId, N / 2, merkleRoot(leaves.slice(0, N / 2))));
    s.submitResult = g(await m.submitResult(solver, post.jobId, root, leaves[N - 1]));
    if (verifiers > 0) {
      await test.mine({ blocks: 1 });
      const draw = await m.drawVerifiers(submitter, post.jobId);
      s.drawVerifiers = g(draw.tx);
      for (const [i, v] of draw.verifiers.entries()) {
        const c = [v1, v2].find((x) => x.wallet!.account.address === v)!;
        s[`attest${i + 1}`] = g(await m.attest(c, post.jobId, h('replay')));
      }
    }
    await later(601);
    s.finalize = g((await m.finalize(submitter, post.jobId)).tx);
    s.withdrawSolver = g((await m.withdraw(solver)).tx);
    if (verifiers > 0) {
      s.withdrawVerifier1 = g((await m.withdraw(v1)).tx);
      s.withdrawVerifier2 = g((await m.withdraw(v2)).tx);
    }
    return s;
  }
  const sum = (s: Record<string, number>, skip: string[] = []) =>
    Object.entries(s).reduce((a, [k, v]) => (skip.includes(k) ? a : a + v), 0);

  const cold = await honest(0);
  const warm = await honest(0);
  const withVerifiers = await honest(2);

  /** A full dispute over N leaves; `cheat` makes the solver's leaves wrong from leaf 5 on. */
  async function dispute(cheat: boolean) {
    const s: Record<string, number> = {};
    const post = await m.postJob(submitter, job(0));
    await later(d.params.priorityWindow + 1);
    await m.claimJob(solver, post.jobId, node);
    const mine = cheat ? leaves.map((l, i) => (i >= 5 ? h(`bad ${i}`) : l)) : leaves;
    await m.submitResult(solver, post.jobId, merkleRoot(mine), mine[N - 1]);
    const ch = await m.challenge(challenger, post.jobId);
    s.challenge = g(ch.tx);
    let round = 0;
    while (true) {
      const i = Number(await nextIndex(solver, ch.gameId));
      round++;
      s[`reveal${round}`] = g(await reveal(solver, ch.gameId, mine[i], merkleProof(mine, i)));
      const tx = await answer(challenger, ch.gameId, mine[i] === leaves[i]);
      s[`answer${round}`] = g(tx);
      if (tx.events.some((e) => e.eventName === 'LeafAnswered' && Number(e.args.disputed) - Number(e.args.agreed) === 1)) break;
    }
    s.callJudge = g(await callJudge(challenger, ch.gameId));
    s.settleDispute = g((await m.settleDispute(submitter, post.jobId)).tx);
    s.withdrawWinner = g((await m.withdraw(cheat ? challenger : solver)).tx);
    if (!cheat) {
      await later(601);
      await m.finalize(submitter, post.jobId);
      await m.withdraw(solver);
    }
    return s;
  }
  const disputeSolverHonest = await dispute(false);
  const disputeSolverCheats = await dispute(true);

  // A dispute lost by timeout, and a solver that misses its deadline.
  const other: Record<string, number> = {};
  {
    const post = await m.postJob(submitter, job(0));
    await later(d.params.priorityWindow + 1);
    await m.claimJob(solver, post.jobId, node);
    await m.submitResult(solver, post.jobId, root, leaves[N - 1]);
    const ch = await m.challenge(challenger, post.jobId);
    await later(d.params.moveTimeout + 1);
    other.timeoutGame = g(await timeoutGame(challenger, ch.gameId));
    await m.settleDispute(submitter, post.jobId);
    await later(d.params.priorityWindow + 1);
    await m.claimJob(solver, post.jobId, node);
    await later(3601);
    other.reopenExpired = g(await m.reopenExpired(submitter, post.jobId));
    other.cancelJob = g(await m.cancelJob(submitter, post.jobId));
  }

  const core = ['post', 'claim', 'submitResult', 'finalize', 'withdrawSolver'];
  const pick = (s: Record<string, number>, keys: string[]) => keys.reduce((a, k) => a + (s[k] ?? 0), 0);
  const result = {
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
      },
      dispute: { solverHonest: disputeSolverHonest, solverCheats: disputeSolverCheats },
      other,
    },
    disputeLeaves: N,
    target: TARGET,
    honestUnderTarget: sum(cold) < TARGET && sum(warm) < TARGET,
    anvil: '1.7.1',
  };
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const show = (title: string, s: Record<string, number>) => {
      console.log(`\n${title}`);
      for (const [k, v] of Object.entries(s)) console.log(`  ${k.padEnd(34)} ${v.toLocaleString('en').padStart(10)}`);
    };
    show('one-time setup', setup);
    show('honest job, cold (first job of the deployment)', cold);
    show('honest job, warm (steady state)', warm);
    show('honest job with 2 verifiers (warm)', withVerifiers);
    show(`dispute over ${N} leaves, solver honest`, disputeSolverHonest);
    show(`dispute over ${N} leaves, solver cheats`, disputeSolverCheats);
    show('timeouts and cancel', other);
    show('totals', result.gas.totals);
    console.log(`\nhonest lifecycle under ${TARGET.toLocaleString('en')} gas: ${result.honestUnderTarget ? 'yes' : 'NO'}`);
  }
} finally {
  await anvil.stop();
}
