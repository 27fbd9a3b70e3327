// Idle memory of real node daemons (part of `npm run bench:network`, also alone: --only daemon): a
// local network (devnet chain, 3 solver and 2 verifier `veritrain node` processes, launched as
// cluster.ts and `veritrain node` launch them: src/node/launch.ts), then after the last node is up
// and `idleSec` of quiet, each node process's RSS (VmRSS) and PSS read from /proc (Linux only).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalNetwork } from '../src/node/localnet.ts';

export interface DaemonRssFigure {
  nodes: number;
  idleSec: number;
  medianMB: number;
  minMB: number;
  maxMB: number;
  pssMedianMB: number;
}

function procKB(file: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no ${key} in ${file}`);
  return Number(m[1]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function daemonIdleBench(opts: { idleSec?: number; log: (s: string) => void }): Promise<DaemonRssFigure> {
  const idleSec = opts.idleSec ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'vt-daemon-rss-'));
  const t0 = performance.now();
  const net = await startLocalNetwork({ dataDir: dir, port: 0, spec: { solvers: 3, verifiers: 2 } });
  try {
    opts.log(`  ${net.cluster.nodes.length} node daemons up in ${((performance.now() - t0) / 1000).toFixed(1)} s; idling ${idleSec} s for RSS`);
    await new Promise((r) => setTimeout(r, idleSec * 1000));
    const rss: number[] = [];
    const pss: number[] = [];
    for (const n of net.cluster.nodes) {
      rss.push(procKB(`/proc/${n.proc.pid}/status`, 'VmRSS') / 1024);
      pss.push(procKB(`/proc/${n.proc.pid}/smaps_rollup`, 'Pss') / 1024);
    }
    return { nodes: rss.length, idleSec, medianMB: median(rss), minMB: Math.min(...rss), maxMB: Math.max(...rss), pssMedianMB: median(pss) };
  } finally {
    await net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDaemonRss(d: DaemonRssFigure): string {
  const f = (x: number) => x.toFixed(1);
  return [
    `idle memory of node daemons (veritrain node, ${d.nodes} on a devnet, ${d.idleSec} s idle; target RSS < 150 MB)`,
    `RSS median ${f(d.medianMB)} MB   min ${f(d.minMB)}   max ${f(d.maxMB)}   PSS median ${f(d.pssMedianMB)} MB`,
  ].join('\n');
}
