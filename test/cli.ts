// Run the real CLI in a child process and read the one JSON object on its last stdout line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = join(ROOT, 'src/cli/main.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, any>;
}

function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    return {};
  }
}

export function runCli(args: string[], opts: { node?: string; cwd?: string } = {}): CliRun {
  const r = spawnSync(opts.node ?? process.execPath, [CLI, ...args, '--json', '--quiet'], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: lastJson(r.stdout) };
}

export function runCliAsync(args: string[], opts: { node?: string } = {}) {
  return spawn(opts.node ?? process.execPath, [CLI, ...args, '--json', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

const made: string[] = [];
process.on('exit', () => {
  // Test scratch directories go when the test file's process ends (set VT_KEEP_TMP=1 to keep them).
  if (process.env.VT_KEEP_TMP) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'vt-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/**
 * Node 22 from the npm registry, installed once into .cache/node22 (the golden hashes must hold
 * under Node 22 and Node 24). Throws when it cannot be installed: a test must not skip silently.
 */
export function node22(): string {
  const dir = join(ROOT, '.cache', 'node22');
  const bin = join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bin)) {
    const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', dir, 'node@22'], {
      encoding: 'utf8',
      env: { ...process.env, npm_config_loglevel: 'error' },
    });
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`could not install node@22 from npm: ${r.stderr}`);
  }
  return bin;
}

/**
 * Runs a bench script with `--json --quick` and returns its one JSON line and its stderr (the
 * human table), after checking it exited 0 and printed exactly one stdout line.
 */
export function benchJson(script: string): { json: any; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, script), '--json', '--quick'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'with --json stdout is exactly one JSON line (the table goes to stderr)');
  return { json: JSON.parse(lines[0]), stderr: r.stderr };
}

/** Asserts a bench figure is a finite positive number. */
export function positive(x: unknown, what: string): void {
  assert.equal(typeof x, 'number', `${what} is not a number: ${x}`);
  assert.ok(Number.isFinite(x as number) && (x as number) > 0, `${what} is not finite and positive: ${x}`);
}
