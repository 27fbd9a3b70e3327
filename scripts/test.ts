// The one test command (README, .ci/run): typecheck, then every *.test.ts under src/ and test/,
// each file in its own `node --test` process. Files run `--jobs` at a time (default: 2, or 1 on a
// one-core machine); the files that run real networks (node processes with deadlines of seconds)
// never run beside each other, and the longest files start first so the run ends on short ones.
// A file's output is printed whole when it ends (never interleaved), then a table of the files by
// duration. Exit status 1 when any file failed, or when nothing matched: never an empty pass.
//
//   npm test                      everything
//   npm test -- src/engine chain  only files whose path contains one of the words (no typecheck)
//   npm test -- --jobs 1          one file at a time
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// Files known to take long on the 2-core CI box, longest first (measured: see the table each run
// prints). Unlisted files come after, in path order.
const LONG_FIRST = [
  'test/network-faults.test.ts',
  'test/dispute-random.test.ts',
  'test/network-adversary.test.ts',
  'test/accuracy.test.ts',
  'test/network-cli.test.ts',
  'test/network-demo.test.ts',
  'test/sdk-publish.test.ts',
  'test/golden.test.ts',
  'test/op-judge-trace.test.ts',
  'test/bench-network.test.ts',
];
// Files that run real node processes with deadlines of seconds: one at a time.
const FILE_TIMEOUT_S = 1200;
const exclusive = (f: string) => /^test\/(network-|sdk-publish|bench-network)/.test(f);

const argv = process.argv.slice(2);
let jobs = availableParallelism() >= 2 ? 2 : 1;
const filter: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--jobs') {
    jobs = Number(argv[++i]);
    if (!Number.isInteger(jobs) || jobs < 1) {
      console.error(`--jobs needs a whole number >= 1, got ${argv[i]}`);
      process.exit(2);
    }
  } else filter.push(argv[i]);
}

const all = [...findTests('src'), ...findTests('test')];
const files = all.filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched: refusing to pass an empty run');
  process.exit(1);
}
const rank = (f: string) => (LONG_FIRST.includes(f) ? LONG_FIRST.indexOf(f) : LONG_FIRST.length);
files.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));

if (filter.length === 0) {
  const tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('typecheck failed');
    process.exit(tsc.status ?? 1);
  }
}

/**
 * CPU seconds of this process's reaped children so far (Linux: cutime + cstime of /proc/self/stat,
 * which take in a child's own reaped descendants), or NaN elsewhere. Read when a file's process
 * exits, the increase since the last read is that file's CPU: only an exit increases it.
 */
function childCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // fields 16 and 17, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}
let lastCpu = childCpu();

interface Done {
  file: string;
  seconds: number;
  /** CPU seconds of the file's process and what it started (NaN where unknown). */
  cpu: number;
  code: number;
  tests: number;
  failed: number;
  skipped: number;
}

const t0 = performance.now();
const results: Done[] = [];

// Each file runs in its own process group (so a hung one is killed with what it started); Ctrl-C
// or a kill of this runner takes them all down.
const live = new Set<number>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const pid of live) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    process.exit(130);
  });
}

function runFile(file: string): Promise<Done> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child.pid!);
    const chunks: Buffer[] = [];
    // A file that hangs is killed (its process group: the nodes and chains it started) and fails.
    const timer = setTimeout(() => {
      chunks.push(Buffer.from(`\n✖ ${file} ran past ${FILE_TIMEOUT_S} s: killed\n`));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, FILE_TIMEOUT_S * 1000);
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    let cpu = NaN;
    child.on('exit', () => {
      const now = childCpu();
      cpu = now - lastCpu;
      lastCpu = now;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child.pid!);
      const text = Buffer.concat(chunks).toString('utf8');
      const num = (k: string) => Number(new RegExp(`^ℹ ${k} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      const seconds = (performance.now() - start) / 1000;
      const tests = num('tests'), failed = num('fail') + (num('cancelled') || 0);
      // A file that ran no test, or whose summary is missing (crashed), fails.
      const ok = code === 0 && tests > 0 && failed === 0;
      process.stdout.write(`\n━━━━ ${file} ━━━━ ${ok ? 'ok' : 'FAILED'} in ${seconds.toFixed(1)} s${signal ? ` (killed by ${signal})` : ''}\n${text}`);
      resolve({ file, seconds, cpu, code: ok ? 0 : code || 1, tests: tests || 0, failed: Number.isNaN(failed) ? 1 : failed, skipped: (num('skipped') || 0) + (num('todo') || 0) });
    });
  });
}

// A pool of `jobs` runners taking files in order; an exclusive file waits until no other
// exclusive file runs (taking the next non-exclusive file meanwhile).
const queue = [...files];
let exclusiveRunning = false;
async function worker(): Promise<void> {
  for (;;) {
    const i = queue.findIndex((f) => !exclusive(f) || !exclusiveRunning);
    if (i < 0) {
      if (queue.length === 0) return;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const [file] = queue.splice(i, 1);
    const ex = exclusive(file);
    if (ex) exclusiveRunning = true;
    try {
      results.push(await runFile(file));
    } finally {
      if (ex) exclusiveRunning = false;
    }
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, () => worker()));

const total = (performance.now() - t0) / 1000;
const failedFiles = results.filter((r) => r.code !== 0);
console.log(`\n━━━━ durations (${jobs} at a time; wall seconds, CPU seconds of the file's processes) ━━━━`);
for (const r of [...results].sort((a, b) => b.seconds - a.seconds)) {
  console.log(`${r.seconds.toFixed(1).padStart(7)} s ${Number.isNaN(r.cpu) ? '' : `${r.cpu.toFixed(0).padStart(5)} cpu-s`}  ${String(r.tests).padStart(4)} tests  ${r.code === 0 ? '  ' : '✖ '}${r.file}${r.skipped ? `  (${r.skipped} SKIPPED: see its output)` : ''}`);
}
const tests = results.reduce((a, r) => a + r.tests, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
console.log(`\n${results.length} files, ${tests} tests, ${failedFiles.length} files failed, ${skipped} tests skipped, ${total.toFixed(0)} s wall`);
if (failedFiles.length > 0) {
  console.error(`\nFAILED:\n${failedFiles.map((r) => `  ${r.file} (${r.failed} failing)`).join('\n')}`);
  process.exit(1);
}
