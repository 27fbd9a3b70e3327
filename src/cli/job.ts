// veritrain job submit|status|list|watch|result: the SDK (src/sdk) on the command line.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatUnits, type Address } from 'viem';
import { InputError } from '../errors.ts';
import { readDeployment } from '../chain/deployment.ts';
import { defaultDataDir } from '../chain/devnet.ts';
import { PASSPHRASE_ENV } from '../node/keystore.ts';
import type { ClientOptions, JobStatus, JobUpdate, VeritrainClient } from '../sdk/index.ts';
import type { CliContext } from './main.ts';
import { bootstrapFileAddrs } from './node.ts';
import { createProgress, type Progress } from './progress.ts';

export const JOB_OPTIONS = {
  price: { type: 'string' },
  duration: { type: 'string' },
  window: { type: 'string' },
  verifiers: { type: 'string' },
  replicas: { type: 'string' },
  limit: { type: 'string' },
  unverified: { type: 'boolean' },
} as const;

export interface JobValues {
  price?: string;
  duration?: string;
  window?: string;
  verifiers?: string;
  replicas?: string;
  limit?: string;
  unverified?: boolean;
  bootstrap?: string[];
  listen?: string[];
  'data-dir'?: string;
  rpc?: string;
  deployment?: string;
}

export const JOB_USAGE = `
Jobs (the SDK on the command line):
  veritrain job submit <spec.json> [--price VTT] [--duration S] [--window S] [--verifiers N] [--replicas N]
  veritrain job status <id> | job list [--limit N] | job watch <id>
  veritrain job result <id> --out model.safetensors [--unverified]
    --data-dir     the submitter's keystore and blobs (default: the devnet's client/, else
                   $VERITRAIN_HOME/client); --deployment and --bootstrap as for veritrain node
`;


function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

function jobIdArg(v: string | undefined): bigint {
  if (!v || !/^[1-9][0-9]*$/.test(v)) throw new InputError(`expected a job id (a positive integer), got "${v ?? ''}"`);
  return BigInt(v);
}

const vttOf = (wei: bigint | string) => formatUnits(BigInt(wei), 18);
const short = (a: unknown) => (typeof a === 'string' && a.startsWith('0x') ? `${a.slice(0, 10)}…` : String(a));

export async function clientFor(v: JobValues, log?: (l: string) => void): Promise<VeritrainClient> {
  const { createClient } = await import('../sdk/index.ts');
  const { DEVNET_PASSPHRASE, DEVNET_SCRYPT_N } = await import('../node/cluster.ts');
  const { DEVNET_CLIENT_MARK } = await import('../node/localnet.ts');
  const deploymentFile = resolve(v.deployment ?? join(defaultDataDir(), 'deployment.json'));
  const deployment = readDeployment(deploymentFile);
  const devnetClient = join(dirname(deploymentFile), 'client');
  const dataDir = resolve(v['data-dir'] ?? (existsSync(join(devnetClient, DEVNET_CLIENT_MARK)) ? devnetClient : join(process.env.VERITRAIN_HOME ?? join(homedir(), '.veritrain'), 'client')));
  const isDevnetClient = existsSync(join(dataDir, DEVNET_CLIENT_MARK));
  const opts: ClientOptions = {
    deployment,
    rpcUrl: v.rpc,
    dataDir,
    bootstrap: v.bootstrap ?? bootstrapFileAddrs(deploymentFile),
    listen: v.listen,
    log,
  };
  if (!process.env[PASSPHRASE_ENV] && isDevnetClient) {
    opts.passphrase = DEVNET_PASSPHRASE;
    opts.scryptN = DEVNET_SCRYPT_N;
  }
  return createClient(opts);
}

function statusJson(s: JobStatus): Record<string, unknown> {
  return {
    jobId: s.jobId.toString(),
    state: s.state,
    submitter: s.submitter,
    solver: s.solver,
    price: s.price.toString(),
    specHash: s.specHash,
    datasetRoot: s.datasetRoot,
    manifestHash: s.manifestHash,
    steps: s.steps,
    checkpoints: s.checkpoints,
    committed: s.committed,
    root: s.root,
    modelHash: s.modelHash,
    stateEndsAt: s.stateEndsAt,
    verifiers: s.verifiers,
    stages: s.stages.map((x) => ({ stage: x.stage, block: x.block, tx: x.tx })),
  };
}

/** Prints a job's updates as they come: one line per stage, a progress bar with the loss while it trains. */
export function createUpdatePrinter(ctx: CliContext, opts: { name?: string } = {}) {
  const t0 = performance.now();
  let bar: Progress | undefined;
  let barSteps = 0;
  const losses: number[] = [];
  const at = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
  const line = (stage: string, text: string) => {
    if (bar && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    ctx.say(`${at()} ${stage.padEnd(16)} ${text}`);
  };
  return {
    losses,
    print(u: JobUpdate, status?: { checkpoints?: number }) {
      if (u.type === 'progress') {
        if (!bar || barSteps !== u.steps) {
          bar = createProgress(`train ${opts.name ?? `job ${u.jobId}`}`, u.steps, { quiet: ctx.quiet });
          barSteps = u.steps;
        }
        losses.push(...u.losses);
        if (u.step === u.steps) {
          bar.finish(`loss ${u.loss.toFixed(4)}`);
          bar = undefined;
        } else if (u.step > 1) bar.update(u.step, `loss ${u.loss.toFixed(4)}`);
        return;
      }
      const d = u.data;
      switch (u.stage) {
        case 'posted':
          return line('posted', `job ${u.jobId}: ${vttOf(d.price as string)} VTT escrowed, ${d.checkpoints} checkpoints, ${d.verifiers} verifier(s), challenge window ${d.challengeWindow} s`);
        case 'claimed':
          return line('claimed', `by solver ${short(d.solver)} (node ${d.node})`);
        case 'checkpoints':
          return line('checkpoints', `${d.count}${status?.checkpoints ? `/${status.checkpoints}` : ''} committed on chain (root ${short(d.root)})`);
        case 'submitted':
          return line('result', `submitted: model ${short(d.modelHash)}, checkpoint root ${short(d.root)}`);
        case 'verifiers-drawn':
          return line('verifiers drawn', ((d.verifiers as Address[]) ?? []).map(short).join(', '));
        case 'verifier-committed':
          return line('committed', `verifier ${short(d.verifier)} replayed its segments and committed to what it found`);
        case 'verifier-revealed':
          return line('revealed', `verifier ${short(d.verifier)}: ${d.agree ? 'the segments match the commitments' : 'MISMATCH'} (its probes are on chain)`);
        case 'verifier-replaced':
          return line('replaced', `verifier ${short(d.verifier)} missed its commit deadline (penalty ${vttOf(d.penalty as string)} VTT); another one is drawn`);
        case 'verifier-no-show':
          return line('no-show', `verifier ${short(d.verifier)} never revealed: ${vttOf(d.penalty as string)} VTT penalty`);
        case 'probe-disputed':
          return line('probe disputed', `the solver disputes verifier ${short(d.verifier)}'s probe at step ${d.probeStep} (game ${d.gameId})`);
        case 'probe-settled':
          return line('probe settled', d.verifierWon ? 'the verifier was right' : 'the verifier was wrong and lost its bond');
        case 'challenged':
          return line('challenged', `by ${short(d.challenger)}: dispute game ${d.gameId}`);
        case 'dispute-settled':
          return line('dispute settled', d.solverWon ? 'the solver won' : 'the solver lost and was slashed; the job reopens');
        case 'timed-out':
          return line('timed out', `solver ${short(d.solver)} missed its deadline: ${vttOf(d.slashed as string)} VTT slashed`);
        case 'reopened':
          return line('reopened', 'the job is open for claims again');
        case 'finalized':
          return line('finalized', `solver paid ${vttOf(d.solverPay as string)} VTT, verifiers ${vttOf(d.verifierPay as string)} VTT, refund ${vttOf(d.refund as string)} VTT${BigInt((d.penalties as string) ?? '0') > 0n ? `, penalties ${vttOf(d.penalties as string)} VTT` : ''}`);
        case 'cancelled':
          return line('cancelled', 'the price went back to the submitter');
      }
    },
  };
}

export async function cmdJob(ctx: CliContext, v: JobValues): Promise<Record<string, unknown>> {
  const [sub, arg] = ctx.positionals;
  const vt = await clientFor(v, (l) => ctx.say(l));
  try {
    switch (sub) {
      case 'submit': {
        if (!arg) throw new InputError('job submit needs a spec file', { hint: 'veritrain job submit examples/mnist-mlp.json' });
        const { vtt } = await import('../sdk/index.ts');
        const r = await vt.submitJob(resolve(arg), {
          price: v.price === undefined ? undefined : vtt(v.price),
          duration: intArg('duration', v.duration),
          challengeWindow: intArg('window', v.window),
          verifiers: intArg('verifiers', v.verifiers),
          replicas: intArg('replicas', v.replicas),
        });
        ctx.say(`job ${r.jobId} posted: spec ${r.specHash.slice(0, 12)}…, manifest ${r.manifestHash.slice(0, 14)}…, held by ${r.replicas} other node(s)`);
        ctx.say(`follow it: veritrain job watch ${r.jobId}`);
        return {
          jobId: r.jobId.toString(),
          specHash: r.specHash,
          datasetHash: r.datasetHash,
          manifestHash: r.manifestHash,
          challengeWindow: r.challengeWindow,
          checkpoints: r.checkpoints,
          tx: r.tx,
          blobs: r.blobs,
          replicas: r.replicas,
        };
      }
      case 'status': {
        const s = await vt.jobStatus(jobIdArg(arg));
        ctx.say(`job ${s.jobId}: ${s.state}; ${s.committed}/${s.checkpoints} checkpoints committed; solver ${s.solver ?? '-'}; model ${s.modelHash ?? '-'}`);
        ctx.say(`  stages: ${s.stages.map((x) => x.stage).join(' → ')}`);
        return statusJson(s);
      }
      case 'list': {
        const jobs = await vt.listJobs({ limit: intArg('limit', v.limit) });
        for (const s of jobs) ctx.say(`${String(s.jobId).padStart(5)}  ${s.state.padEnd(10)} ${vttOf(s.price).padStart(8)} VTT  ${s.committed}/${s.checkpoints}  ${s.modelHash ?? ''}`);
        return { jobs: jobs.map(statusJson) };
      }
      case 'watch': {
        const id = jobIdArg(arg);
        const status = await vt.jobStatus(id);
        const printer = createUpdatePrinter(ctx);
        let last = '';
        for await (const u of vt.watchJob(id)) {
          printer.print(u, { checkpoints: status.checkpoints });
          if (u.type === 'stage') last = u.stage;
        }
        const s = await vt.jobStatus(id);
        return { ...statusJson(s), lastStage: last };
      }
      case 'result': {
        const id = jobIdArg(arg);
        if (!ctx.out) throw new InputError('job result needs --out <file>', { hint: `veritrain job result ${id} --out model.safetensors` });
        const r = await vt.fetchResult(id, ctx.out, { requireFinalized: !v.unverified });
        ctx.say(`${r.modelPath}: ${r.bytes} bytes, state hash = the job's model hash ${r.modelHash}${r.verified ? ' (finalized: verified)' : ' (NOT finalized)'}`);
        return { jobId: id.toString(), modelPath: r.modelPath, modelHash: r.modelHash, verified: r.verified, finalized: r.finalized, bytes: r.bytes, step: r.step };
      }
      default:
        throw new InputError(`unknown job command "${sub ?? ''}"`, { hint: 'veritrain job submit|status|list|watch|result' });
    }
  } finally {
    await vt.close();
  }
}
