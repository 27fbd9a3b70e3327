// The one test command (README, .ci/run): typecheck, then every *.test.ts under src/ and test/.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = [...findTests('src'), ...findTests('test')].filter(
  (f) => filter.length === 0 || filter.some((s) => f.includes(s)),
);
if (files.length === 0) {
  console.error('no test files matched: refusing to pass an empty run');
  process.exit(1);
}

if (filter.length === 0) {
  const tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('typecheck failed');
    process.exit(tsc.status ?? 1);
  }
}

const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
