// One share of the randomized disputes of test/dispute-random.test.ts, played in its own process
// (node is single-threaded; two processes use both cores): `node test/dispute-random-lane.ts
// <setup.json> <process> <processes> <count>` prints the outcomes as one JSON line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, encodeAbiParameters, http, type Account, type Address, type Hex } from 'viem';
import { NumericError, VeritrainError } from '../src/errors.ts';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { bisectionGameAbi } from '../src/chain/abi.ts';
import { chainOf, connect, devAccount, send, type ChainClient } from '../src/chain/client.ts';
import { artifactOf } from '../src/chain/compile.ts';
import type { Deployment } from '../src/chain/deployment.ts';
import { getGame } from '../src/chain/game.ts';
import { setJobShape, type JudgesDeployment } from '../src/chain/judges.ts';
import { disputePort } from '../src/chain/dispute-port.ts';
import { compileOpJudge, type OpJudgeClient, type OpJudgeDeployment } from '../src/chain/op-judge.ts';
import { DisputeDriver, type DisputePort } from '../src/verify/dispute/driver.ts';
import { RunParty } from '../src/verify/dispute/party.ts';
import { bitFlip, Run } from '../src/verify/dispute/run.ts';
import { memoryStore } from '../src/verify/dispute/store.ts';
import { computeManifest, type ManifestDetails } from '../src/verify/manifest.ts';
import { fromHex, hex, MerkleTree } from '../src/verify/merkle.ts';
import { tinyJob, type TinyJob, type TinyJobOptions } from '../src/verify/testing.ts';

export const LANES = 3; // disputes played at once per process (each lane has its own two accounts)
export const SEED = 20261201;

export interface Setup {
  rpcUrl: string;
  deployment: Deployment;
  judges: JudgesDeployment;
  opJudge: Address;
  programs: Address;
  shape: Address;
  timeout: number;
}

export interface Outcome {
  i: number;
  job: string;
  liar: 'solver' | 'challenger';
  kind: string;
  result: 'honest won' | 'no visible effect' | 'not finite' | 'index out of range';
  moves: number;
  judgedOp?: string;
}

interface Job {
  name: string;
  tj: TinyJob;
  details: ManifestDetails;
  honest: Run;
  ops: number[]; // op indices a fault may hit (engine records, not the trace's view reshapes)
}

export function jobs(): Job[] {
  const specs: [string, TinyJobOptions][] = [];
  for (let i = 0; i < 10; i++) {
    const seed = 100 + i;
    const v = i % 5;
    specs.push([
      ['mlp adamw', 'mlp sgd clipped', 'gpt adamw clipped', 'gpt dropout 0.2', 'mlp adamw wide'][v],
      [
        { kind: 'mlp', seed, steps: 6, checkpointInterval: 2 },
        { kind: 'mlp', optimizer: 'sgd', gradClip: 0.05, seed, steps: 8, checkpointInterval: 4 },
        { kind: 'gpt', seed, steps: 6, checkpointInterval: 3 },
        { kind: 'gpt', dropout: 0.2, seed, steps: 4, checkpointInterval: 2 },
        { kind: 'mlp', seed, steps: 9, checkpointInterval: 3, width: 12, batchSize: 6 },
      ][v] as TinyJobOptions,
    ]);
  }
  return specs.map(([name, o]) => {
    const tj = tinyJob(o);
    const details = computeManifest(tj.spec, tj.baseDir);
    return { name, tj, details, honest: new Run(tj.spec, tj.baseDir, { details, traces: 16 }), ops: details.program.ops.filter((op) => !op.view).map((op) => op.index) };
  });
}

/** Play disputes `indices` (of the seeded sequence) on `LANES` lanes from account `firstAccount` on. */
export async function playShare(s: Setup, indices: number[], firstAccount: number): Promise<Outcome[]> {
  const arts = await compileOpJudge();
  const opd: OpJudgeDeployment = {
    rpcUrl: s.rpcUrl, chainId: s.deployment.chainId, opJudge: s.opJudge, programs: s.programs, arity: 16,
    abi: artifactOf(arts, 'OpJudge').abi, programsAbi: artifactOf(arts, 'OpJudgePrograms').abi,
  };
  // Fast clients: anvil mines at once, so poll receipts every millisecond; anvil signs for its dev
  // accounts (json-rpc accounts), and moves are sent with a fixed gas limit instead of an estimate.
  const rpcAccount = (i: number) => ({ address: devAccount(i).address, type: 'json-rpc' }) as unknown as Account;
  const fast = new Map<number, ChainClient>();
  const client = (i: number): ChainClient => {
    if (!fast.has(i)) fast.set(i, connect({ deployment: s.deployment, account: rpcAccount(i), pollingInterval: 1, fixedGas: 8_000_000n }));
    return fast.get(i)!;
  };
  const chain = chainOf(s.deployment.chainId, s.rpcUrl);
  const opClient = (i: number): OpJudgeClient => ({
    d: opd,
    account: rpcAccount(i),
    public: createPublicClient({ chain, transport: http(s.rpcUrl, { retryCount: 0 }), pollingInterval: 1 }) as OpJudgeClient['public'],
    wallet: createWalletClient({ chain, account: rpcAccount(i), transport: http(s.rpcUrl, { retryCount: 0 }), pollingInterval: 1 }),
  });
  const reader: DisputePort = disputePort({ client: client(0), judges: s.judges, op: opClient(0) });
  const js = jobs();
  const count = Math.max(...indices) + 1;
  const u = randomU32s(rngStream(SEED, 'random-disputes'), 0, 8 * count);

  async function playOne(lane: number, i: number): Promise<Outcome> {
    const job = js[i % js.length];
    const w = u.subarray(8 * i, 8 * i + 8);
    const jobId = BigInt(i + 1);
    const step = w[0] % job.tj.spec.steps;
    const op = job.ops[w[1] % job.ops.length];
    const kind = job.details.program.ops[op].kind;
    const liar = w[4] & 1 ? 'solver' : 'challenger';
    const fault = bitFlip(step, op, w[2], w[3] % 32);
    const base = { i, job: job.name, liar, kind, moves: 0 } as const;
    const faulty = new Run(job.tj.spec, job.tj.baseDir, { details: job.details, fault, traces: 2 });
    const [C, D] = [firstAccount + 2 * lane, firstAccount + 2 * lane + 1];
    const solver = devAccount(D).address;
    const honestP = new RunParty(job.honest, jobId, solver), faultyP = new RunParty(faulty, jobId, solver);
    let differs: boolean;
    try {
      differs = faulty.checkpointHashes().some((h, k) => h !== job.honest.checkpointHashes()[k]);
    } catch (e) {
      // A flipped bit that makes the engine stop (a NaN/Inf, a token or label index out of range):
      // such a solver has no run to commit to.
      if (e instanceof VeritrainError) return { ...base, result: e instanceof NumericError ? 'not finite' : 'index out of range' };
      throw e;
    }
    // Nothing to dispute: the flipped value did not change any committed state.
    if (!differs) return { ...base, result: 'no visible effect' };
    const defender = liar === 'solver' ? faultyP : honestP, challenger = liar === 'solver' ? honestP : faultyP;
    await setJobShape(client(D), s.shape, { jobId, inputs: job.details.hash, solver, steps: job.tj.spec.steps, checkpointInterval: job.tj.spec.checkpointInterval });
    const leaves = defender.level0Leaves();
    const tx = await send(client(D), (wc, x) =>
      wc.writeContract({
        ...x,
        address: s.deployment.contracts.game,
        abi: bisectionGameAbi,
        functionName: 'open',
        args: [{
          challenger: devAccount(C).address, defender: solver, judge: s.judges.checkpointJudge, moveTimeout: s.timeout,
          n: leaves.length, root: hex(new MerkleTree(leaves.map(fromHex)).root), genesis: job.details.hash,
          claim: leaves[leaves.length - 1], context: encodeAbiParameters([{ type: 'uint256' }], [jobId]) as Hex,
        }],
      }),
    );
    const gameId = tx.events.find((e) => e.eventName === 'GameOpened')!.args.gameId as bigint;
    const drivers = ([[D, defender, 'defender'], [C, challenger, 'challenger']] as const).map(([who, party, role]) => {
      const d = new DisputeDriver({
        port: disputePort({ client: client(who), judges: s.judges, op: opClient(who), settleRoot: async () => false, fromBlock: tx.receipt.blockNumber }),
        store: memoryStore(),
        party: () => party,
      });
      d.track({ game: String(gameId), jobId: String(jobId), role, level: 0 });
      return d;
    });
    let moves = 0;
    for (let k = 0; k < 200 && drivers.some((d) => d.active().length); k++) {
      for (const d of drivers) moves += (await d.tick()).reduce((a, r) => a + r.moves.length, 0);
    }
    const phase = (await getGame(client(0), gameId)).phase;
    assert.equal(phase, liar === 'solver' ? 'challenger-won' : 'defender-won', `${job.name}: ${fault.describe}, liar ${liar}`);
    // Where it ended: the op the level-2 game judged (or the level it was decided at).
    await reader.refresh?.();
    const seg = await reader.child(gameId, s.judges.checkpointJudge);
    const ops = seg && (await reader.child(seg.id, s.judges.stepJudge));
    const last = ops && (await reader.child(ops.id, s.judges.stepJudge));
    const judgedOp = last?.kind === 'op' ? job.details.program.ops[last.op].kind : ops ? 'decided at level 2' : seg ? 'decided at level 1' : 'decided at level 0';
    return { ...base, result: 'honest won', moves, judgedOp };
  }

  const out: Outcome[] = [];
  let next = 0;
  const failures: { i: number; error: unknown }[] = [];
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (;;) {
        const k = next++;
        if (k >= indices.length || failures.length) return;
        try {
          out.push(await playOne(lane, indices[k]));
        } catch (error) {
          failures.push({ i: indices[k], error });
        }
      }
    }),
  );
  if (failures.length) {
    const f = failures[0];
    throw Object.assign(new Error(`dispute ${f.i} (job ${js[f.i % js.length].name}) failed: ${(f.error as Error).message}`), { cause: f.error });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, p, procs, count] = process.argv.slice(2);
  const setup = JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as Setup;
  const indices: number[] = [];
  for (let i = Number(p); i < Number(count); i += Number(procs)) indices.push(i);
  const out = await playShare(setup, indices, 1 + 2 * LANES * Number(p));
  console.log(JSON.stringify(out));
}
