// Whole disputes on a devnet (anvil + every contract, the verification judges wired to the market),
// played by two dispute drivers with real training: on-chain rounds, transactions and gas of a
// dispute as functions of job length and model size, the wall time of a full dispute for the tiny
// GPT at 1,000 and 10,000 steps, and the honest-case commitment cost as a share of training time.
//
//   npm run bench:dispute [-- --json] [-- --quick]
//
// Training is shortened where that is honest: the solver's fault is in the first segment, so the
// level-0 bisection over all checkpoints has its full depth while both sides only ever train the
// first segment. The cheating solver commits made-up leaves after it (it cheats anyway); the honest
// challenger, having found the first divergence at checkpoint 0, knows that every later leaf of
// this solver differs (a diverged run stays diverged) and disagrees without training further.
// Everything below the checkpoints — the segment's steps, the step's ops, the op's scalar steps —
// is computed for real by both sides.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, createTestClient, decodeFunctionData, http, keccak256, maxUint256, toHex, type Abi, type Hex } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { bisectionGameAbi, jobMarketAbi } from '../src/chain/abi.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { artifactOf } from '../src/chain/compile.ts';
import { deployContracts } from '../src/chain/deploy.ts';
import type { Deployment } from '../src/chain/deployment.ts';
import { disputePort } from '../src/chain/dispute-port.ts';
import { childOf, judgeAbis, type JudgesDeployment } from '../src/chain/judges.ts';
import * as m from '../src/chain/market.ts';
import { merkleRoot } from '../src/chain/merkle.ts';
import { compileOpJudge, opJudgeClient, type OpJudgeDeployment } from '../src/chain/op-judge.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { getBackend, setBackend } from '../src/engine/kernels/current.ts';
import { createWasmBackend } from '../src/engine/kernels/wasm/index.ts';
import { registerNode } from '../src/chain/registry.ts';
import { stateHash } from '../src/train/checkpoint.ts';
import { loadSpecFile, parseSpec, type JobSpec } from '../src/train/spec.ts';
import { prepareJob, stateAt, trainStep } from '../src/train/train.ts';
import { DisputeDriver } from '../src/verify/dispute/driver.ts';
import { RunParty, type Party } from '../src/verify/dispute/party.ts';
import { checkpointLeaf } from '../src/verify/dispute/proofs.ts';
import { bitFlip, Run } from '../src/verify/dispute/run.ts';
import { memoryStore } from '../src/verify/dispute/store.ts';
import { computeManifest } from '../src/verify/manifest.ts';
import { tinyJob } from '../src/verify/testing.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const log = (...a: unknown[]) => {
  if (!json) console.log(...a);
};
const VTT = 10n ** 18n;
const SUBMITTER = 1, SOLVER = 2, CHALLENGER = 3;

setBackend(await createWasmBackend({ threads: 1 }));
const anvil = await startAnvil({ args: ['--accounts', '6', '--gas-limit', '100000000'] });
try {
  const d = await deployContracts({ rpcUrl: anvil.url, account: devAccount(0), judges: 'verification' });
  const t = createTestClient({ mode: 'anvil', transport: http(anvil.url) });
  const c = (i: number): ChainClient => connect({ deployment: d, account: devAccount(i), pollingInterval: 2 });
  const arts = await compileOpJudge();
  const opd: OpJudgeDeployment = {
    rpcUrl: anvil.url, chainId: d.chainId, opJudge: d.contracts.opJudge!, programs: d.contracts.opJudgePrograms!, arity: 16,
    abi: artifactOf(arts, 'OpJudge').abi, programsAbi: artifactOf(arts, 'OpJudgePrograms').abi,
  };
  const judges: JudgesDeployment = { checkpointJudge: d.contracts.checkpointJudge, stepJudge: d.contracts.judge, opJudge: opd.opJudge, moveTimeout: d.params.moveTimeout, arity: 16 };
  for (const i of [SUBMITTER, SOLVER, CHALLENGER]) {
    await tok.faucet(c(i));
    await tok.approve(c(i), d.contracts.market, maxUint256);
    await tok.approve(c(i), d.contracts.staking, maxUint256);
  }
  await stk.bond(c(SOLVER), 200n * VTT);
  const key = await generateKeyPair('secp256k1');
  const { nodeId } = await registerNode(c(SOLVER), {
    peerId: bytesToHex(peerIdFromPrivateKey(key).toMultihash().bytes), peer: key, roles: 1, hardware: { cores: 2, memoryMiB: 4096, accelerator: 'none' },
  });

  const rows = [];
  const cases: { name: string; spec: JobSpec; baseDir: string; model: string }[] = [];
  const mlp = (width: number, steps: number) => {
    const tj = tinyJob({ kind: 'mlp', width, steps, checkpointInterval: 4, seed: 5 });
    cases.push({ name: `mlp width ${width}, ${steps} steps`, spec: tj.spec, baseDir: tj.baseDir, model: `mlp ${width}` });
  };
  for (const steps of quick ? [16, 256] : [16, 256, 4096]) for (const w of quick ? [8] : [8, 64]) mlp(w, steps);
  const gpt = (steps: number) => {
    const s = loadSpecFile('examples/tiny-gpt.json');
    cases.push({ name: `tiny GPT (examples/tiny-gpt.json), ${steps} steps`, spec: parseSpec({ ...s, steps, schedule: { ...s.schedule, warmupSteps: Math.min(30, steps) } }), baseDir: 'examples', model: 'tiny-gpt' });
  };
  if (!quick) {
    gpt(1000);
    gpt(10000);
  }
  for (const k of cases) {
    const r = await benchDispute(k);
    log(`${k.name}: ${r.rounds.total} rounds, ${r.transactions} tx, ${(r.gas.total / 1e6).toFixed(2)} M gas, judge calls ${r.gas.judgeCalls.map((g) => `${(g / 1e3).toFixed(0)}k`).join(' / ')}, ${r.wallSeconds.toFixed(1)} s`);
    rows.push({ case: k.name, model: k.model, ...r });
  }

  const commitment = commitmentCost();
  for (const x of commitment) log(`commitment cost ${x.spec}: ${x.percent.toFixed(2)} % of training at the checkpoint interval ${x.interval}`);
  const out = { disputes: rows, commitment };
  if (json) console.log(JSON.stringify(out));

  // ---- one dispute -----------------------------------------------------------------------------

  async function benchDispute(k: (typeof cases)[number]) {
    const t0 = performance.now();
    const details = computeManifest(k.spec, k.baseDir);
    const tManifest = (performance.now() - t0) / 1000;
    const { jobId } = await m.postJob(c(SUBMITTER), {
      manifest: details.manifest, price: 20n * VTT, duration: 30 * 24 * 3600, steps: k.spec.steps, checkpointInterval: k.spec.checkpointInterval,
      verifiers: 0, samples: 0, collateral: 40n * VTT, challengeWindow: 30 * 24 * 3600,
    });
    await t.increaseTime({ seconds: d.params.priorityWindow + 1 });
    await t.mine({ blocks: 1 });
    const bonded = (await stk.stakeOf(c(0), devAccount(SOLVER).address)).bonded;
    if (bonded < 200n * VTT) await stk.bond(c(SOLVER), 200n * VTT - bonded);
    await m.claimJob(c(SOLVER), jobId, nodeId);
    const solver = devAccount(SOLVER).address;
    const interval = k.spec.checkpointInterval;
    // The fault: the sign of the largest element of the step's last matmul (a weight gradient) at the
    // last step of segment 0.
    const honestRun = new Run(k.spec, k.baseDir, { details, traces: 2 });
    const step = interval - 1;
    const op = details.program.ops.filter((o) => o.kind === 'matmul').at(-1)!.index;
    const tTrain0 = performance.now();
    const outData = Array.from(honestRun.trace(step, [op]).captured.get(op)!.output.data);
    const tTrain = (performance.now() - tTrain0) / 1000;
    const element = outData.reduce((best: number, v: number, i: number) => (Math.abs(v) > Math.abs(outData[best]) ? i : best), 0);
    const faulty = new Run(k.spec, k.baseDir, { details, fault: bitFlip(step, op, element, 31), traces: 2 });
    const n = Math.ceil(k.spec.steps / interval);
    const fake = (i: number) => keccak256(toHex(`made up checkpoint ${i}`));
    const defender = shortcut(new RunParty(faulty, jobId, solver), n, (i) => checkpointLeaf(jobId, solver, fake(i)));
    const challenger = shortcut(new RunParty(honestRun, jobId, solver), n, (i) => keccak256(toHex(`diverged after checkpoint 0: ${i}`)));
    const leaves = defender.level0Leaves();
    await m.submitResult(c(SOLVER), jobId, merkleRoot(leaves), fake(n - 1));
    const start = await c(0).public.getBlockNumber();
    const tDispute = performance.now();
    const { gameId } = await m.challenge(c(CHALLENGER), jobId);
    const sides: [number, Party, 'defender' | 'challenger'][] = [[SOLVER, defender, 'defender'], [CHALLENGER, challenger, 'challenger']];
    const drivers = [];
    for (const [who, party, role] of sides) {
      const dr = new DisputeDriver({
        port: disputePort({ client: c(who), judges, op: await opJudgeClient(opd, devAccount(who)), fromBlock: start }),
        store: memoryStore(),
        party: () => party,
      });
      dr.track({ game: String(gameId), jobId: String(jobId), role, level: 0 });
      drivers.push({ dr, who, role });
    }
    for (let i = 0; i < 500 && drivers.some((x) => x.dr.active().length); i++) for (const x of drivers) await x.dr.tick();
    const wallSeconds = (performance.now() - tDispute) / 1000;
    const end = await c(0).public.getBlockNumber();
    const won = (await m.getJob(c(0), jobId)).state === 'open';
    const path = await disputePath(gameId);
    const tx = await transactions(start + 1n, end, path);
    return { ...tx, wallSeconds, won, manifestSeconds: tManifest, traceSeconds: tTrain, checkpoints: n, ops: details.program.ops.length, judgedOp: details.program.ops[op].kind };
  }

  /** Level-0 answers past checkpoint 0 without training (see the header). */
  function shortcut(p: RunParty, n: number, later: (c: number) => Hex): Party {
    return {
      jobId: p.jobId,
      solver: p.solver,
      level0Leaf: (i) => (i === 0 ? p.level0Leaf(0) : later(i)),
      level0Leaves: () => Array.from({ length: n }, (_, i) => (i === 0 ? p.level0Leaf(0) : later(i))),
      level0Proof: (i) => (i === 0 ? p.level0Proof(0) : null),
      level1Leaf: (s) => p.level1Leaf(s),
      level1Proof: (s) => p.level1Proof(s),
      level2Leaf: (s, j) => p.level2Leaf(s, j),
      level2Proof: (s, j) => p.level2Proof(s, j),
      opProver: (s, j) => p.opProver(s, j),
    };
  }

  async function disputePath(gameId: bigint) {
    const seg = await childOf(c(0), judges, gameId, judges.checkpointJudge);
    const ops = seg && (await childOf(c(0), judges, seg.id, judges.stepJudge));
    const op = ops && (await childOf(c(0), judges, ops.id, judges.stepJudge));
    return { level: new Map<string, number>([[String(gameId), 0], ...(seg ? [[String(seg.id), 1] as [string, number]] : []), ...(ops ? [[String(ops.id), 2] as [string, number]] : [])]), opId: op?.kind === 'op' ? op.id : null };
  }

  /** Every transaction of the dispute, classified by level and kind, with its gas. */
  async function transactions(from: bigint, to: bigint, path: Awaited<ReturnType<typeof disputePath>>) {
    const ja = await judgeAbis();
    const byAddress = new Map<string, { abi: Abi; what: string }>([
      [d.contracts.game.toLowerCase(), { abi: bisectionGameAbi as Abi, what: 'game' }],
      [d.contracts.market.toLowerCase(), { abi: jobMarketAbi as Abi, what: 'market' }],
      [judges.checkpointJudge.toLowerCase(), { abi: ja.checkpointJudge, what: 'checkpointJudge' }],
      [judges.stepJudge.toLowerCase(), { abi: ja.stepJudge, what: 'stepJudge' }],
      [opd.opJudge.toLowerCase(), { abi: opd.abi, what: 'opJudge' }],
    ]);
    const perLevel = [0, 0, 0, 0].map(() => ({ rounds: 0, tx: 0, gas: 0 }));
    const judgeCalls: number[] = [];
    let total = 0, count = 0, challengeGas = 0, settleGas = 0;
    for (let b = from; b <= to; b++) {
      const block = await c(0).public.getBlock({ blockNumber: b, includeTransactions: true });
      for (const x of block.transactions) {
        const who = byAddress.get((x.to ?? '').toLowerCase());
        if (!who) continue;
        const r = await c(0).public.getTransactionReceipt({ hash: x.hash });
        const gas = Number(r.gasUsed);
        total += gas;
        count++;
        const f = decodeFunctionData({ abi: who.abi, data: x.input });
        if (who.what === 'market') {
          if (f.functionName === 'challenge') challengeGas += gas;
          else settleGas += gas;
          continue;
        }
        if (who.what === 'opJudge') {
          perLevel[3].tx++;
          perLevel[3].gas += gas;
          if (f.functionName === 'judge') judgeCalls[3] = gas;
          else perLevel[3].rounds++;
          continue;
        }
        if (who.what !== 'game') {
          settleGas += gas;
          continue;
        }
        const level = path.level.get(String((f.args as unknown[])[0])) ?? 0;
        perLevel[level].tx++;
        perLevel[level].gas += gas;
        if (f.functionName === 'callJudge') judgeCalls[level] = gas;
        if (f.functionName === 'reveal' || f.functionName === 'revealMany') perLevel[level].rounds++;
      }
    }
    return {
      rounds: { total: perLevel.reduce((a, l) => a + l.rounds, 0), byLevel: perLevel.map((l) => l.rounds) },
      transactions: count,
      gas: { total, challenge: challengeGas, settle: settleGas, byLevel: perLevel.map((l) => l.gas), judgeCalls: judgeCalls.map((g) => g ?? 0) },
    };
  }
} finally {
  await anvil.stop();
  await getBackend().close?.();
}

/** The state hash at a checkpoint as a share of the training time of one checkpoint interval (CPU time, 1 thread). */
function commitmentCost() {
  const out: { spec: string; interval: number; stepMs: number; hashMs: number; percent: number }[] = [];
  for (const f of ['mnist-mlp', 'mnist-cnn', 'tiny-gpt']) {
    const spec = loadSpecFile(`examples/${f}.json`);
    const job = prepareJob(spec, 'examples');
    const n = f === 'tiny-gpt' ? (quick ? 3 : 10) : quick ? 20 : 100;
    for (let s = 0; s < 3; s++) trainStep(job, s);
    let c0 = process.cpuUsage();
    for (let s = 3; s < 3 + n; s++) trainStep(job, s);
    let cu = process.cpuUsage(c0);
    const stepMs = (cu.user + cu.system) / 1000 / n;
    const st = stateAt(job, 3 + n);
    stateHash(st);
    c0 = process.cpuUsage();
    for (let i = 0; i < 10; i++) stateHash(st);
    cu = process.cpuUsage(c0);
    const hashMs = (cu.user + cu.system) / 1000 / 10;
    out.push({ spec: `examples/${f}.json`, interval: spec.checkpointInterval, stepMs, hashMs, percent: (100 * hashMs) / (stepMs * spec.checkpointInterval) });
  }
  return out;
}
