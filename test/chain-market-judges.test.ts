// The market wired to the verification layer's judges (deployContracts({ judges: 'verification' })):
// OpJudgePrograms + OpJudge, StepJudge and CheckpointJudge deployed with the market's predicted
// address, each reading the market through jobShape; a challenge opens its game with the
// CheckpointJudge, a probe dispute with the StepJudge, and the deployment file records them all.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestClient, http, maxUint256, type Address } from 'viem';
import { startAnvil, type Anvil } from '../src/chain/anvil.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import { parseDeployment, type Deployment } from '../src/chain/deployment.ts';
import { getGame } from '../src/chain/game.ts';
import * as m from '../src/chain/market.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { registerTestNode } from './chain.ts';
import { honestStates, resultOf, testManifest } from './chain-jobs.ts';

const VTT = 10n ** 18n;
let anvil: Anvil;
let d: Deployment;
const c = (i: number): ChainClient => connect({ deployment: d, account: devAccount(i) });

before(async () => {
  anvil = await startAnvil();
  d = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), judges: 'verification' });
});
after(() => anvil?.stop());

const view = (name: string, type = 'address') =>
  [{ type: 'function', name, inputs: [], outputs: [{ type }], stateMutability: 'view' }] as const;
const read = (address: Address, name: string, type = 'address') =>
  c(0).public.readContract({ address, abi: view(name, type), functionName: name } as never) as Promise<unknown>;

test('the judges are wired to the market, the game and each other; the deployment file names them', async () => {
  assert.equal(parseDeployment(d).judgeKind, 'StepJudge');
  assert.equal(d.checkpointJudgeKind, 'CheckpointJudge');
  const { market, game, judge, checkpointJudge, opJudge, opJudgePrograms } = d.contracts;
  assert.ok(opJudge && opJudgePrograms);
  for (const a of [judge, checkpointJudge, opJudge!, opJudgePrograms!]) assert.notEqual(await c(0).public.getCode({ address: a }), undefined);
  const lower = (x: unknown) => String(x).toLowerCase();
  assert.equal(lower(await read(checkpointJudge, 'market')), market.toLowerCase());
  assert.equal(lower(await read(judge, 'market')), market.toLowerCase());
  assert.equal(lower(await read(checkpointJudge, 'game')), game.toLowerCase());
  assert.equal(lower(await read(checkpointJudge, 'stepJudge')), judge.toLowerCase());
  assert.equal(lower(await read(judge, 'opJudge')), opJudge!.toLowerCase());
  assert.equal(lower(await read(opJudge!, 'programs')), opJudgePrograms!.toLowerCase());
  assert.equal(Number(await read(judge, 'moveTimeout', 'uint32')), d.params.moveTimeout);
  const cfg = (name: string) => c(0).public.readContract({ address: market, abi: view(name), functionName: name } as never);
  assert.equal(lower(await cfg('checkpointJudge')), checkpointJudge.toLowerCase());
  assert.equal(lower(await cfg('stepJudge')), judge.toLowerCase());
});

test('a challenge opens its game with the CheckpointJudge; a probe dispute with the StepJudge', async () => {
  const [submitter, solver, v1, v2, challenger] = [1, 2, 3, 4, 5].map(c);
  for (const x of [submitter, solver, v1, v2, challenger]) {
    await tok.faucet(x);
    await tok.approve(x, d.contracts.market, maxUint256);
    await tok.approve(x, d.contracts.staking, maxUint256);
  }
  await stk.bond(solver, 200n * VTT);
  const node = await registerTestNode(solver, 1);
  for (const v of [v1, v2]) {
    await stk.bond(v, 100n * VTT);
    await stk.joinVerifierPool(v);
  }
  const manifest = testManifest('judges');
  const states = honestStates(manifest, 4);
  const { jobId } = await m.postJob(submitter, { manifest, price: 10n * VTT, duration: 3600, steps: 16, checkpointInterval: 4, verifiers: 2, samples: 1, collateral: 20n * VTT });
  const t = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  await t.increaseTime({ seconds: 61 });
  await t.mine({ blocks: 1 });
  await m.claimJob(solver, jobId, node);
  const r = resultOf(jobId, devAccount(2).address, states);
  await m.submitResult(solver, jobId, r.root, r.modelHash);
  // The judges read the job through jobShape.
  assert.deepEqual(await m.jobShape(c(0), jobId), { inputs: m.manifestHash(manifest), solver: devAccount(2).address, steps: 16, checkpointInterval: 4 });
  await t.mine({ blocks: 1 });
  const { verifiers } = await m.drawVerifiers(c(0), jobId);
  const byAddress = (a: Address) => [v1, v2].find((x) => x.wallet!.account.address === a)!;
  const verifier = byAddress(verifiers[0]);
  const probes = await m.probesOf(c(0), jobId, verifiers[0]);
  const reveal = { agree: true, probes: probes.map(() => m.manifestHash(manifest)), salt: m.manifestHash(manifest) };
  await m.attest(verifier, jobId, m.commitmentOf(reveal.agree, reveal.probes, reveal.salt, verifiers[0]));
  await t.increaseTime({ seconds: d.params.commitPeriod + 1 });
  await t.mine({ blocks: 1 });
  await m.reveal(verifier, jobId, reveal);
  const ev = m.checkpointEvidence({ segment: probes[0].segment, manifest, states, leaves: states.map((s) => m.checkpointLeaf(jobId, devAccount(2).address, s)) });
  const probe = await m.disputeProbe(solver, jobId, { slot: 0, probes: reveal.probes, salt: reveal.salt, index: 0, ...ev });
  const pg = await getGame(c(0), probe.gameId);
  assert.deepEqual([pg.judge.toLowerCase(), pg.context, pg.n], [d.contracts.judge.toLowerCase(), m.probeContext(jobId, probe.fromStep), 3]);
  const { gameId } = await m.challenge(challenger, jobId, 0n);
  const g = await getGame(c(0), gameId);
  assert.deepEqual([g.judge.toLowerCase(), g.pre, g.post], [d.contracts.checkpointJudge.toLowerCase(), m.manifestHash(manifest), m.checkpointLeaf(jobId, devAccount(2).address, states[3])]);
});
