// How a node daemon process is started (`veritrain node` re-executing itself, and cluster.ts), so
// that it idles small (bench/README.md, "The daemon's idle RSS"):
//   - V8's young generation capped at 1 MiB per semi-space (--max-semi-space-size=1);
//   - the project's .ts files served from a cache of their type-stripped JavaScript
//     (strip-cache.mjs), so the daemon never loads Node's TypeScript stripper; warmStripCache()
//     fills the cache before the daemon starts;
//   - glibc's malloc with a fixed mmap threshold (its default, 128 KiB, which it otherwise raises up
//     to 32 MiB after the first large free) and 2 arenas: freed startup memory (parse and compile
//     zones, module loading) then goes back to the system instead of staying resident in the arenas
//     of V8's and libuv's threads. GLIBC_TUNABLES; ignored by other C libraries.
// None of this changes what the daemon computes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const STRIP_HOOK = new URL('./strip-cache.mjs', import.meta.url).href;
export const DAEMON_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=1', `--import=${STRIP_HOOK}`];

/**
 * How the daemon's compute and dispute processes start: with the strip cache, and writing the
 * entries they miss (they are short-lived, and their modules are not all in the daemon's graph),
 * so each start after the first strips no TypeScript: on a loaded 2-core machine a dispute process
 * took ~30 s to be ready, against a dispute move's deadline.
 */
export const WORKER_EXEC_ARGV: readonly string[] = [`--import=${STRIP_HOOK}`];
export function workerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, VERITRAIN_STRIP_CACHE_FILL: '1' };
}

/** Set by daemonEnv when it chose GLIBC_TUNABLES, so the daemon does not pass them on to its workers. */
const TUNABLES_MARK = 'VERITRAIN_DAEMON_TUNABLES';
const DAEMON_TUNABLES = 'glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2';

/** The environment of a daemon process: `env` plus the malloc settings, unless `env` has its own GLIBC_TUNABLES. */
export function daemonEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.GLIBC_TUNABLES !== undefined) return { ...env };
  return { ...env, GLIBC_TUNABLES: DAEMON_TUNABLES, [TUNABLES_MARK]: '1' };
}

/** In the daemon, first thing: its compute and dispute workers run with the malloc settings they would have had. */
export function dropDaemonOnlyEnv(): void {
  if (process.env[TUNABLES_MARK] === undefined) return;
  delete process.env.GLIBC_TUNABLES;
  delete process.env[TUNABLES_MARK];
}

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
/** What a daemon loads: its static module graph, and what it imports later on demand. */
const DAEMON_MODULES = ['./daemon.ts', '../verify/replay.ts'].map((m) => new URL(m, import.meta.url).href);

/**
 * Loads the daemon's modules (the CLI's too, by `--help`) once in a short-lived process that writes
 * the strip cache's missing entries: ~1.3 s when it has none, ~0.7 s when it has all. Never fails:
 * a daemon started without them strips its files itself (and holds the stripper's memory).
 */
export async function warmStripCache(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const args = [...DAEMON_EXEC_ARGV, ...DAEMON_MODULES.map((m) => `--import=${m}`), CLI, '--help'];
  await new Promise<void>((resolve) => {
    const p = spawn(process.execPath, args, { env: { ...env, VERITRAIN_STRIP_CACHE_FILL: '1' }, stdio: 'ignore' });
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('error', () => resolve());
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
