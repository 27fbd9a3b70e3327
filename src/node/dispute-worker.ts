// The dispute process: VA's DisputeDriver (src/verify/dispute) playing this node's side of every
// dispute it is in, through all levels, in a process of its own — the parties retrain the job as
// far as a dispute needs, which must not stall the daemon's event loop. Started by the daemon
// (disputes.ts) over IPC:
//
//   daemon → { type: 'init', deploymentFile?, deployment, passphrase, dataDir, pollMs }
//   daemon → { type: 'track', record }          a dispute to play (idempotent)
//   worker → { type: 'log', text } | { type: 'records', records }
//
// The only state is the list of disputes (<dataDir>/disputes.json, the driver's fileStore); after a
// restart the driver re-reads every game from the chain and recomputes its leaves from the job.
import { join } from 'node:path';
import type { Hex } from 'viem';
import { connect, type ChainClient } from '../chain/client.ts';
import type { Deployment } from '../chain/deployment.ts';
import { disputePort } from '../chain/dispute-port.ts';
import { getGame } from '../chain/game.ts';
import { jobPosting } from '../chain/market.ts';
import { opJudgeClient } from '../chain/op-judge.ts';
import { artifactOf } from '../chain/compile.ts';
import { compileJudges } from '../chain/judges.ts';
import { read } from '../chain/client.ts';
import { DisputeDriver, type DisputeRecord } from '../verify/dispute/driver.ts';
import { cheatFor, cheatingParty, type Cheat } from '../verify/dispute/adversary.ts';
import { silentFrom, type NodeCheat } from '../verify/dispute/cheats.ts';
import { RunParty, type Party } from '../verify/dispute/party.ts';
import { Run } from '../verify/dispute/run.ts';
import { fileStore } from '../verify/dispute/store.ts';
import { computeManifest } from '../verify/manifest.ts';
import { setBackend } from '../engine/kernels/current.ts';
import { createWasmBackend } from '../engine/kernels/wasm/index.ts';
import { parseSpecBlob } from './artifacts.ts';
import { openBlobStore } from './blobs.ts';
import { openKeystore } from './keystore.ts';

export interface DisputeInit {
  type: 'init';
  deployment: Deployment;
  passphrase: string;
  dataDir: string;
  pollMs?: number;
}

/**
 * A dispute to play. Fault tests only: `cheat` is the lie this node defends in it (the cheat its
 * solver trained with, or a griefing challenger's story), `copied` a copying solver's leaves.
 */
export type Tracked = Omit<DisputeRecord, 'status'> & { cheat?: NodeCheat; copied?: Hex[] };

export type DisputeMessage = DisputeInit | { type: 'track'; record: Tracked } | { type: 'stop' };
export type DisputeReport = { type: 'log'; text: string } | { type: 'records'; records: DisputeRecord[] };

const send = (m: DisputeReport) => process.send?.(m);
const log = (text: string) => send({ type: 'log', text });

const ARITY_ABI = [{ type: 'function', name: 'arity', inputs: [], outputs: [{ type: 'uint8' }], stateMutability: 'view' }] as const;

async function main(init: DisputeInit): Promise<void> {
  setBackend(await createWasmBackend({ threads: 1 }));
  const keys = await openKeystore({ dataDir: init.dataDir, passphrase: init.passphrase });
  const d = init.deployment;
  if (!d.contracts.opJudge || !d.contracts.opJudgePrograms || d.checkpointJudgeKind !== 'CheckpointJudge') {
    log('this deployment has test judges (no op judge): disputes are left to their deadlines');
    return;
  }
  const c: ChainClient = connect({ deployment: d, account: keys.account, pollingInterval: 100 });
  // The same compilation (and cache entry) as the deployment of the verification judges.
  const arts = await compileJudges();
  const arity = Number(await read(c, { address: d.contracts.judge, abi: ARITY_ABI, functionName: 'arity' }));
  const op = await opJudgeClient(
    {
      rpcUrl: d.rpcUrl,
      chainId: d.chainId,
      opJudge: d.contracts.opJudge,
      programs: d.contracts.opJudgePrograms,
      arity: Number(await read(c, { address: d.contracts.opJudge, abi: ARITY_ABI, functionName: 'arity' }).catch(() => 16n)),
      abi: artifactOf(arts, 'OpJudge').abi,
      programsAbi: artifactOf(arts, 'OpJudgePrograms').abi,
    },
    keys.account,
  );
  const judges = { checkpointJudge: d.contracts.checkpointJudge, stepJudge: d.contracts.judge, opJudge: d.contracts.opJudge, moveTimeout: d.params.moveTimeout, arity };
  const store = fileStore(join(init.dataDir, 'disputes.json'));
  const blobs = openBlobStore(init.dataDir, { shared: true });
  // Each job's party answers from this node's own run of the job, bound to the solver whose
  // leaves are disputed: the level-0 game's defender, the probe game's challenger. A cheating
  // node's party (fault tests) answers from its cheat's run instead, and may fall silent.
  const jobs = new Map<string, { party: Party; silentFrom?: number }>();
  async function prepare(r: Tracked): Promise<void> {
    if (jobs.has(r.jobId)) return;
    const g = await getGame(c, BigInt(r.game));
    const solver = r.level === 0 ? g.defender : g.challenger;
    const jobId = BigInt(r.jobId);
    const posting = await jobPosting(c, jobId);
    const spec = parseSpecBlob(await blobs.get(posting.specHash.slice(2)), posting.specHash.slice(2));
    const details = computeManifest(spec, init.dataDir);
    if (!r.cheat) {
      jobs.set(r.jobId, { party: new RunParty(new Run(spec, init.dataDir, { details }), jobId, solver) });
      return;
    }
    const x = { spec, baseDir: init.dataDir, details, jobId, solver };
    const cheat: Cheat = r.cheat === 'copy' ? { kind: 'copy', leaves: r.copied ?? [] } : cheatFor(r.cheat, spec, init.dataDir, details);
    jobs.set(r.jobId, { party: cheatingParty(cheat, x), silentFrom: silentFrom(r.cheat) });
    log(`job ${r.jobId}: defending the cheat ${r.cheat}${silentFrom(r.cheat) === undefined ? '' : `, silent from level ${silentFrom(r.cheat)}`} (fault test)`);
  }
  const driver = new DisputeDriver({
    port: disputePort({ client: c, judges, op, fromBlock: BigInt(d.deployedAtBlock) }),
    store,
    party: (jobId) => {
      const j = jobs.get(jobId.toString());
      if (!j) throw new Error(`no run prepared for job ${jobId}`);
      return j.party;
    },
    silent: (r, mv) => {
      const from = jobs.get(r.jobId)?.silentFrom;
      return from !== undefined && mv.level >= from;
    },
    log,
  });
  const pending: Tracked[] = [];
  process.on('message', (m: DisputeMessage) => {
    if (m.type === 'track') pending.push(m.record);
    else if (m.type === 'stop') process.exit(0);
  });
  for (const r of driver.active()) await prepare(r);
  const lastError = new Map<string, string>();
  // The chain's clock runs ahead of the wall clock by what a devnet was moved forward
  // (evm_increaseTime): a block's timestamp is its wall time plus that offset. Estimated as the
  // largest (latest timestamp - now) seen: never more than the real offset, exact right after a
  // block (the empty transaction below makes one).
  let offset = 0;
  for (;;) {
    while (pending.length > 0) {
      const r = pending.shift()!;
      try {
        await prepare(r);
        driver.track(r);
        log(`playing dispute ${r.game} of job ${r.jobId} as the ${r.role} (level ${r.level})`);
      } catch (e) {
        log(`cannot play dispute ${r.game}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    try {
      const results = await driver.tick();
      for (const res of results) {
        for (const mv of res.moves) log(`dispute ${res.record.game} (job ${res.record.jobId}): ${mv.kind} at level ${mv.level}`);
        lastError.delete(res.record.game);
      }
      if (results.some((r) => r.moves.length > 0)) send({ type: 'records', records: store.list() });
      // Deadlines are the chain's clock, which an idle devnet (a block per transaction) does not
      // move: once one has passed by the chain's clock as it would read now, mine a block with an
      // empty transaction.
      const due = results.filter((r) => r.moves.length === 0 && r.waitingUntil > 0).map((r) => r.waitingUntil);
      if (due.length > 0) {
        const block = await c.public.getBlock({ blockTag: 'latest' });
        offset = Math.max(offset, Number(block.timestamp) - Date.now() / 1000);
      }
      if (due.length > 0 && Date.now() / 1000 + offset > Math.min(...due) + 1) {
        const block = await c.public.getBlock({ blockTag: 'latest' });
        if (Number(block.timestamp) <= Math.min(...due)) {
          const hash = await c.wallet!.sendTransaction({ to: keys.address, value: 0n });
          await c.public.waitForTransactionReceipt({ hash, pollingInterval: 50 });
        }
      }
    } catch (e) {
      // A move the chain refused (an honest party cannot show what a faked result claims) or an
      // unreachable chain: said once, tried again on the next pass; the deadline decides otherwise.
      const msg = (e as Error).message.split('\n')[0];
      if (lastError.get('*') !== msg) log(`dispute tick: ${msg}`);
      lastError.set('*', msg);
    }
    await new Promise((r) => setTimeout(r, init.pollMs ?? 2000));
  }
}

process.on('disconnect', () => process.exit(0));
process.once('message', (m: DisputeMessage) => {
  if (m.type !== 'init') return;
  main(m).catch((e: Error) => {
    log(`dispute process failed: ${e.message}`);
    process.exit(1);
  });
});
