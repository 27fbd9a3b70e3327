// End-to-end overhead of the network (part of `npm run bench:network`): one MNIST job, first trained
// alone on this machine (`veritrain train`, one kernel thread, the way a solver's worker trains),
// then the same spec submitted to a local network (devnet chain, 1 solver and 2 verifier node
// processes on loopback) through the SDK. The overhead is the extra wall time from the submit call
// to the result on chain: publishing the spec, the claim, the solver's checks (fetch, manifest,
// measuring a step), checkpoint blobs and progress commits, the result transaction, and the idle
// nodes' share of the CPU. The verification (draw, replay, commit, reveal) and the challenge window
// come after the result and are reported on their own: the window is a waiting time the job's
// poster chooses, not work. Both runs must end on the same state hash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEVNET_PASSPHRASE, DEVNET_SCRYPT_N } from '../src/node/cluster.ts';
import { startLocalNetwork } from '../src/node/localnet.ts';
import { createClient } from '../src/sdk/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'src/cli/main.ts');

export interface E2eFigure {
  steps: number;
  checkpoints: number;
  verifiers: number;
  /** `veritrain train` of the spec alone (process start to exit). */
  localSec: number;
  /** submitJob called → the result on chain. */
  toResultSec: number;
  /** (toResultSec − localSec) / localSec × 100; target < 10 for a 2-minute job. */
  overheadPct: number;
  /** submitJob returned (spec published, job posted, nodes hold the spec). */
  submitSec: number;
  /** posted → claimed (the solver's fetch, manifest check and step measurement included). */
  claimSec: number;
  /** claimed → result on chain (training, checkpoint blobs, progress commits). */
  trainSec: number;
  /** result → every verifier revealed (draw, replays, commit, reveal; the last reveal if one never came); 0 without verifiers. */
  verifySec: number;
  /** Verifiers that revealed. */
  revealed: number;
  challengeWindowSec: number;
  /** submitJob called → finalized → the model downloaded and its hash checked. */
  toModelSec: number;
  /** The network's model hash is the local run's final state hash. */
  sameHash: boolean;
  setupSec: number;
}

function specFile(dir: string, steps: number, interval: number): { path: string; spec: Record<string, unknown> } {
  const example = JSON.parse(readFileSync(join(ROOT, 'examples/mnist-mlp.json'), 'utf8'));
  const spec = { ...example, name: 'e2e-bench', steps, checkpointInterval: interval };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  return { path, spec };
}

function trainLocally(path: string, out: string): { sec: number; finalHash: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'train', path, '--out', out, '--workers', '1', '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const sec = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`local training failed: ${r.stderr.slice(-2000)}`);
  return { sec, finalHash: JSON.parse(r.stdout.trim().split('\n').pop()!).finalHash };
}

export async function e2eBench(opts: { quick: boolean; seconds?: number; log: (s: string) => void }): Promise<E2eFigure> {
  const dir = mkdtempSync(join(tmpdir(), 'vt-e2e-'));
  try {
    // Calibrate: the job should take about `seconds` to train alone here. Two short runs, so the
    // process start and the evaluation (the same in both) cancel out.
    const target = opts.seconds ?? (opts.quick ? 8 : 120);
    const short = trainLocally(specFile(dir, 200, 100).path, join(dir, 'cal1')).sec;
    const long = trainLocally(specFile(dir, 1200, 100).path, join(dir, 'cal2')).sec;
    const rate = 1000 / Math.max(0.2, long - short);
    const steps = Math.max(300, Math.round((rate * Math.max(0, target - short)) / 100) * 100);
    const interval = steps / 10;
    const verifiers = opts.quick ? 0 : 2;
    const { path, spec } = specFile(dir, steps, interval);
    opts.log(`e2e: ${steps} steps (~${target} s here), trained alone first`);
    const local = trainLocally(path, join(dir, 'local'));
    opts.log(`e2e: alone ${local.sec.toFixed(1)} s; now through a local network (chain, 1 solver, 2 verifiers)`);

    const t0 = performance.now();
    // The commit period must hold a verifier's replay of a whole segment (a tenth of the job here).
    const commitPeriod = Math.max(8, Math.ceil((local.sec / 10) * 3));
    const net = await startLocalNetwork({ dataDir: join(dir, 'net'), port: 0, spec: { solvers: 1, verifiers: 2 }, params: { commitPeriod } });
    const setupSec = (performance.now() - t0) / 1000;
    const vt = createClient({ deployment: net.devnet.deployment, dataDir: net.clientDir, passphrase: DEVNET_PASSPHRASE, scryptN: DEVNET_SCRYPT_N, bootstrap: net.cluster.bootstrap() });
    try {
      // A first small job gives the solver a reputation, as on a network with history: claims in the
      // priority window need one, newcomers wait it out.
      const warm = await vt.submitJob({ spec: { ...spec, name: 'e2e-warmup', steps: 40, checkpointInterval: 20 }, baseDir: ROOT }, { verifiers: 0 });
      for await (const u of vt.watchJob(warm.jobId, { progress: false })) void u;
      const start = performance.now();
      const at = (): number => (performance.now() - start) / 1000;
      const r = await vt.submitJob({ spec, baseDir: ROOT }, { verifiers, duration: Math.ceil(local.sec * 5 + 120) });
      const submitSec = at();
      const times: Record<string, number> = {};
      let revealed = 0;
      for await (const u of vt.watchJob(r.jobId, { progress: false })) {
        if (u.type !== 'stage') continue;
        times[u.stage] ??= at();
        if (u.stage === 'verifier-revealed') {
          times.lastRevealed = at();
          if (++revealed === verifiers) times.allRevealed = at();
        }
      }
      const fetched = await vt.fetchResult(r.jobId, join(dir, 'model.safetensors'));
      const toModelSec = at();
      const toResultSec = times.submitted;
      return {
        steps,
        checkpoints: r.checkpoints,
        verifiers,
        localSec: local.sec,
        toResultSec,
        overheadPct: ((toResultSec - local.sec) / local.sec) * 100,
        submitSec,
        claimSec: times.claimed - times.posted,
        trainSec: times.submitted - times.claimed,
        verifySec: verifiers === 0 || times.lastRevealed === undefined ? 0 : (times.allRevealed ?? times.lastRevealed) - times.submitted,
        revealed,
        challengeWindowSec: r.challengeWindow,
        toModelSec,
        sameHash: fetched.modelHash === `0x${local.finalHash}`,
        setupSec,
      };
    } finally {
      await vt.close();
      await net.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatE2e(e: E2eFigure): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  return [
    `end to end, MNIST MLP ${e.steps} steps, ${e.checkpoints} checkpoints, ${e.verifiers} verifiers (target: overhead < 10 % for a 2-minute job)`,
    `trained alone (veritrain train):                 ${f(e.localSec).padStart(7)} s`,
    `through the network, submit → result on chain:  ${f(e.toResultSec).padStart(7)} s   overhead ${f(e.overheadPct)} %`,
    `  submit returned ${f(e.submitSec)} s; posted → claimed ${f(e.claimSec)} s; claimed → result ${f(e.trainSec)} s`,
    `  then verification ${f(e.verifySec)} s (${e.revealed}/${e.verifiers} revealed), challenge window ${e.challengeWindowSec} s; model downloaded and checked at ${f(e.toModelSec)} s`,
    `  same final state hash as the local run: ${e.sameHash ? 'yes' : 'NO'}; the network took ${f(e.setupSec)} s to start`,
  ].join('\n');
}
