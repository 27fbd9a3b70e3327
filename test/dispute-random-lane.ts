// One share of the randomized disputes of test/dispute-random.test.ts, played in its own process
// (node is single-threaded; two processes use both cores): `node test/dispute-random-lane.ts
// <setup.json> <process> <processes> <played>` draws disputes p, p + P, p + 2P, ... of the seeded
// sequence until `played` of them were played to a verdict, and prints the outcomes as one JSON line
// (`[slot]`: which of the round's processes it is, for its accounts; default p).
//
// What is shared between the disputes of a process, and why that keeps every dispute honest: the
// tiny jobs, their manifests and their honest runs (an honest party's computation of a job does not
// depend on the dispute; its traces and provers are kept); a faulty run starts from the honest
// run's state at its fault step (the two runs are the same up to there: keptStates), and trains and
// traces everything after it itself. Every dispute has its own game on the chain, its own two
// accounts' drivers and the real judges; nothing of one dispute's chain state is reused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, encodeAbiParameters, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport } from 'viem';
import { NumericError, VeritrainError } from '../src/errors.ts';
import { randomU32s, rngStream } from '../src/engine/rng.ts';
import { bisectionGameAbi } from '../src/chain/abi.ts';
import { chainOf, devAccount, type ChainClient } from '../src/chain/client.ts';
import type { Deployment } from '../src/chain/deployment.ts';
import { getGame } from '../src/chain/game.ts';
import { keepAliveTransport } from '../src/chain/http-transport.ts';
import { provideJudgeAbis, type JudgeAbis, type JudgesDeployment } from '../src/chain/judges.ts';
import { disputePort } from '../src/chain/dispute-port.ts';
import { type OpJudgeClient, type OpJudgeDeployment } from '../src/chain/op-judge.ts';
import { txSender, type Sender } from '../src/chain/sender.ts';
import { DisputeDriver, type DisputePort } from '../src/verify/dispute/driver.ts';
import { RunParty } from '../src/verify/dispute/party.ts';
import { bitFlip, keptStates, Run } from '../src/verify/dispute/run.ts';
import { memoryStore } from '../src/verify/dispute/store.ts';
import { computeManifest, type ManifestDetails } from '../src/verify/manifest.ts';
import { fromHex, hex, MerkleTree } from '../src/verify/merkle.ts';
import { tinyJob, type TinyJob, type TinyJobOptions } from '../src/verify/testing.ts';

export const LANES = 4; // disputes played at once per process (each lane has its own two accounts)
export const SEED = 20261201;

export interface Setup {
  rpcUrl: string;
  deployment: Deployment;
  judges: JudgesDeployment;
  opJudge: OpJudgeDeployment;
  judgeAbis: JudgeAbis;
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
  /** Steps the faulty run computed (it starts at its fault step). */
  faultySteps?: number;
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
    // Every step's state kept: a faulty run starts exactly at its fault step.
    const honest = new Run(tj.spec, tj.baseDir, { details, traces: 16, keepEvery: 1 });
    return { name, tj, details, honest, ops: details.program.ops.filter((op) => !op.view).map((op) => op.index) };
  });
}

/** The words that draw dispute i (step, op, element, bit, liar). */
export function draw(i: number): Uint32Array {
  return randomU32s(rngStream(SEED, 'random-disputes'), 8 * i, 8);
}

/** Anvil signs for its dev accounts (json-rpc accounts): no key derivation, no signing here. */
const rpcAccount = (i: number) => ({ address: devAccount(i).address, type: 'json-rpc' }) as unknown as Account;

/** A client over kept-alive connections (http-transport.ts) that polls receipts every millisecond. */
function fastClient(s: Setup, i: number): ChainClient {
  const chain: Chain = chainOf(s.deployment.chainId, s.rpcUrl);
  const transport = keepAliveTransport(s.rpcUrl, { maxSockets: 2 });
  return {
    deployment: s.deployment,
    chain,
    public: createPublicClient({ chain, transport, pollingInterval: 1 }) as PublicClient<Transport, Chain>,
    wallet: createWalletClient({ chain, transport, account: rpcAccount(i), pollingInterval: 1 }),
  };
}

/** Play disputes p, p + P, ... until `target` of them reached a verdict, on `LANES` lanes from account `firstAccount` on. */
export async function playShare(s: Setup, p: number, P: number, target: number, firstAccount: number): Promise<Outcome[]> {
  provideJudgeAbis(s.judgeAbis);
  const clients = new Map<number, { c: ChainClient; send: Sender; op: OpJudgeClient }>();
  const client = (i: number) => {
    let x = clients.get(i);
    if (!x) {
      const c = fastClient(s, i);
      x = { c, send: txSender(c), op: { d: s.opJudge, public: c.public as OpJudgeClient['public'], account: rpcAccount(i) } };
      clients.set(i, x);
    }
    return x;
  };
  const reader: DisputePort = disputePort({ client: client(0).c, judges: s.judges, op: client(0).op });
  const js = jobs();
  const shapeAbi = s.judgeAbis.fixedJobShape;

  async function playOne(lane: number, i: number): Promise<Outcome> {
    const job = js[i % js.length];
    const w = draw(i);
    const jobId = BigInt(i + 1);
    const step = w[0] % job.tj.spec.steps;
    const op = job.ops[w[1] % job.ops.length];
    const kind = job.details.program.ops[op].kind;
    const liar = w[4] & 1 ? 'solver' : 'challenger';
    const fault = bitFlip(step, op, w[2], w[3] % 32);
    const base = { i, job: job.name, liar, kind, moves: 0 } as const;
    const honestHashes = job.honest.checkpointHashes(); // (also makes the honest states the faulty run starts from)
    const faulty = new Run(job.tj.spec, job.tj.baseDir, { details: job.details, fault, traces: 2, checkpoints: keptStates(job.honest, step) });
    const [C, D] = [firstAccount + 2 * lane, firstAccount + 2 * lane + 1];
    const solver = devAccount(D).address;
    const honestP = new RunParty(job.honest, jobId, solver), faultyP = new RunParty(faulty, jobId, solver);
    let differs: boolean;
    try {
      differs = faulty.checkpointHashes().some((h, k) => h !== honestHashes[k]);
    } catch (e) {
      // A flipped bit that makes the engine stop (a NaN/Inf, a token or label index out of range):
      // such a solver has no run to commit to.
      if (e instanceof VeritrainError) return { ...base, result: e instanceof NumericError ? 'not finite' : 'index out of range' };
      throw e;
    }
    // Nothing to dispute: the flipped value did not change any committed state.
    if (!differs) return { ...base, result: 'no visible effect' };
    const defender = liar === 'solver' ? faultyP : honestP, challenger = liar === 'solver' ? honestP : faultyP;
    const d = client(D);
    await d.send({ address: s.shape, abi: shapeAbi, functionName: 'set', args: [jobId, job.details.hash, solver, job.tj.spec.steps, job.tj.spec.checkpointInterval], gas: 200_000n });
    const leaves = defender.level0Leaves();
    const opened = await d.send({
      address: s.deployment.contracts.game, abi: bisectionGameAbi as Abi, functionName: 'open', gas: 500_000n,
      args: [{
        challenger: devAccount(C).address, defender: solver, judge: s.judges.checkpointJudge, moveTimeout: s.timeout,
        n: leaves.length, root: hex(new MerkleTree(leaves.map(fromHex)).root), genesis: job.details.hash,
        claim: leaves[leaves.length - 1], context: encodeAbiParameters([{ type: 'uint256' }], [jobId]) as Hex,
      }],
    });
    const gameId = BigInt(opened.receipt.logs.find((l) => l.address.toLowerCase() === s.deployment.contracts.game.toLowerCase())!.topics[1]!);
    const drivers = ([[D, defender, 'defender'], [C, challenger, 'challenger']] as const).map(([who, party, role]) => {
      const x = client(who);
      const dr = new DisputeDriver({
        port: disputePort({ client: x.c, judges: s.judges, op: x.op, sender: x.send, settleRoot: async () => false, fromBlock: opened.receipt.blockNumber }),
        store: memoryStore(),
        party: () => party,
      });
      dr.track({ game: String(gameId), jobId: String(jobId), role, level: 0 });
      return dr;
    });
    let moves = 0;
    for (let k = 0; k < 200 && drivers.some((dr) => dr.active().length); k++) {
      for (const dr of drivers) moves += (await dr.tick()).reduce((a, r) => a + r.moves.length, 0);
    }
    const phase = (await getGame(client(0).c, gameId)).phase;
    assert.equal(phase, liar === 'solver' ? 'challenger-won' : 'defender-won', `${job.name}: ${fault.describe}, liar ${liar}`);
    // Where it ended: the op the level-2 game judged (or the level it was decided at).
    await reader.refresh?.();
    const seg = await reader.child(gameId, s.judges.checkpointJudge);
    const ops = seg && (await reader.child(seg.id, s.judges.stepJudge));
    const last = ops && (await reader.child(ops.id, s.judges.stepJudge));
    const judgedOp = last?.kind === 'op' ? job.details.program.ops[last.op].kind : ops ? 'decided at level 2' : seg ? 'decided at level 1' : 'decided at level 0';
    return { ...base, result: 'honest won', moves, judgedOp, faultySteps: faulty.stepsTrained };
  }

  const out: Outcome[] = [];
  let next = p;
  let played = 0;
  const failures: { i: number; error: unknown }[] = [];
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      while (played < target && !failures.length) {
        const i = next;
        next += P;
        try {
          const o = await playOne(lane, i);
          out.push(o);
          if (o.result === 'honest won') played++;
        } catch (error) {
          failures.push({ i, error });
        }
      }
    }),
  );
  if (failures.length) {
    const f = failures[0];
    throw Object.assign(new Error(`dispute ${f.i} (job ${js[f.i % js.length].name}) failed: ${(f.error as Error).message}`), { cause: f.error });
  }
  return out.sort((a, b) => a.i - b.i);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, p, procs, target, slot] = process.argv.slice(2);
  const setup = JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as Setup;
  // Accounts by slot (the lane process's place in its round: rounds reuse them on fresh chains).
  const out = await playShare(setup, Number(p), Number(procs), Number(target), 1 + 2 * LANES * Number(slot ?? p));
  console.log(JSON.stringify(out));
}
