// Bad input through the real CLI (spawned processes, no mocks): every case must end with a
// non-zero exit, a message that names the problem (on stderr, and as {"error": ...} on the last
// stdout line with --json), no stack trace, and not one byte changed in a run directory that
// already holds checkpoints.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCliAsync, tempDir, type CliRun } from './cli.ts';

const base = JSON.parse(readFileSync(join(ROOT, 'examples/mnist-mlp.json'), 'utf8'));
/** mnist-mlp, checkpointing every step, so a 2-step run leaves two checkpoints. */
const goodSpec = { ...base, checkpointInterval: 1 };
const MNIST_HASH = '3398d4b03696c06f0f210a728ef7aa509a8876146fcca4c6575d515e8f04fb95';

/** runCli, but without blocking the event loop, so two cases can run at once. */
function runCli(args: string[]): Promise<CliRun> {
  const child = runCliAsync(args);
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      let json: Record<string, any> = {};
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        // not JSON: the assertions below say so
      }
      done({ code, stdout, stderr, json });
    });
  });
}

let work: string;
let goodSpecPath: string;
/** A finished 2-step run of goodSpec: ckpt-1, ckpt-2 and chain.json. Copied, never touched. */
let runDir: string;

function writeSpec(name: string, spec: unknown): string {
  const p = join(work, name);
  writeFileSync(p, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return p;
}

/** Relative path -> SHA-256 of every file under dir. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, rel + name + '/');
      else out[rel + name] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

/** A private copy of the finished run, to damage or to aim a bad command at. */
function copyRun(): string {
  const d = join(tempDir('vt-bad-'), 'run');
  cpSync(runDir, d, { recursive: true });
  return d;
}

function ckpt(dir: string, step: number): string {
  return join(dir, `ckpt-${String(step).padStart(10, '0')}.safetensors`);
}

function flipByte(path: string, offset: number): void {
  const b = readFileSync(path);
  const at = offset < 0 ? b.length + offset : offset;
  b[at] ^= 0xff;
  writeFileSync(path, b);
}

function truncate(path: string): void {
  const b = readFileSync(path);
  writeFileSync(path, b.subarray(0, Math.floor(b.length / 2)));
}

/** The failure contract; returns the error text (short message, details, hint) for more checks. */
function assertFails(r: CliRun, name: string, ...patterns: RegExp[]): string {
  const context = `exit ${r.code}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-4000)}`;
  assert.notEqual(r.code, 0, `expected a failure\n${context}`);
  assert.equal(r.code, 1, `expected exit 1\n${context}`);
  const e = r.json.error;
  assert.ok(e && typeof e === 'object', `last stdout line must be {"error": ...}\n${context}`);
  assert.equal(e.name, name, context);
  assert.equal(typeof e.message, 'string');
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `stack trace on stderr\n${context}`);
  assert.match(r.stderr, /error: /, context);
  const text = [e.message, e.details, e.hint].filter(Boolean).join('\n');
  for (const p of patterns) {
    assert.match(text, p, `error JSON must match ${p}\n${context}`);
    assert.match(r.stderr, p, `stderr must match ${p}\n${context}`);
  }
  return text;
}

/** Run a command that must fail against a run directory, and check the directory is unchanged. */
async function failsLeavingDir(dir: string, args: string[], name: string, ...patterns: RegExp[]): Promise<string> {
  const before = snapshot(dir);
  const r = await runCli([...args, '--workers', '1']);
  const text = assertFails(r, name, ...patterns);
  assert.deepEqual(snapshot(dir), before, `files in ${dir} changed`);
  return text;
}

// Cases run two at a time (each is one or a few child processes with --workers 1).
describe('bad input through the CLI', { concurrency: 2 }, () => {
  before(async () => {
    work = tempDir('vt-bad-input-');
    goodSpecPath = writeSpec('good.json', goodSpec);
    runDir = join(work, 'run');
    const r = await runCli(['train', goodSpecPath, '--steps', '2', '--out', runDir, '--workers', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(ckpt(runDir, 1)) && existsSync(ckpt(runDir, 2)) && existsSync(join(runDir, 'chain.json')));
  });

  // 1. Malformed spec.

  test('spec that is not JSON: refused, run dir untouched', async () => {
    const dir = copyRun();
    const spec = writeSpec('broken.json', JSON.stringify(goodSpec).slice(0, -7));
    await failsLeavingDir(dir, ['train', spec, '--steps', '3', '--out', dir], 'InputError', /not valid JSON/, /broken\.json/);
  });

  test('spec field of the wrong type (steps: "ten") names the field', async () => {
    const dir = copyRun();
    const spec = writeSpec('steps-ten.json', { ...goodSpec, steps: 'ten' });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'InputError', /invalid/, /\bsteps: .*expected number/);
  });

  test('nested field of the wrong type (optimizer.lr: "fast") names the path', async () => {
    const dir = copyRun();
    const spec = writeSpec('lr-string.json', { ...goodSpec, optimizer: { ...goodSpec.optimizer, lr: 'fast' } });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'InputError', /optimizer\.lr: .*expected number/);
  });

  test('missing spec file: clear error', async () => {
    const r = await runCli(['train', join(work, 'no-such-spec.json'), '--out', join(work, 'never'), '--workers', '1']);
    assertFails(r, 'InputError', /cannot read job spec .*no-such-spec\.json/);
    assert.equal(existsSync(join(work, 'never')), false);
  });

  // 2. Unknown field, unknown model kind.

  test('unknown field in the spec is named', async () => {
    const dir = copyRun();
    const spec = writeSpec('typo.json', { ...goodSpec, learningRate: 0.1 });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'InputError', /learningRate: unknown field "learningRate"/);
  });

  test('unknown field inside the model is named with its path', async () => {
    const dir = copyRun();
    const spec = writeSpec('typo-model.json', { ...goodSpec, model: { ...goodSpec.model, hiden: [3] } });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'InputError', /model\.hiden: unknown field "hiden"/);
  });

  test('unknown model kind lists the known ones', async () => {
    const dir = copyRun();
    const spec = writeSpec('transformer.json', { ...goodSpec, model: { type: 'transformer', hidden: [8] } });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'InputError', /model\.type: unknown model type "transformer"/, /mlp, cnn, gpt/);
  });

  // 3. Dataset hash mismatch.

  test('pinned dataset hash that does not match the data shows both hashes', async () => {
    const dir = copyRun();
    const wrong = 'ab'.repeat(32);
    const spec = writeSpec('wrong-hash.json', { ...goodSpec, dataset: { builtin: 'mnist-digits', sha256: wrong } });
    await failsLeavingDir(dir, ['train', spec, '--out', dir], 'IntegrityError', /does not match its pinned hash/, new RegExp(wrong), new RegExp(MNIST_HASH));
    // eval and replay load the data too.
    await failsLeavingDir(dir, ['eval', spec, ckpt(dir, 2)], 'IntegrityError', new RegExp(wrong), new RegExp(MNIST_HASH));
    await failsLeavingDir(dir, ['replay', spec, '--from', ckpt(dir, 1), '--steps', '1'], 'IntegrityError', new RegExp(wrong), new RegExp(MNIST_HASH));
  });

  test('the right pinned hash is accepted (the mismatch test is not vacuous)', async () => {
    const spec = writeSpec('right-hash.json', { ...goodSpec, dataset: { builtin: 'mnist-digits', sha256: MNIST_HASH } });
    const r = await runCli(['train', spec, '--steps', '1', '--out', join(tempDir(), 'ok'), '--workers', '1']);
    assert.equal(r.code, 0, r.stderr);
  });

  // 4. NaN/Inf during training.

  test('divergence (sgd, lr 1e30) names the step and the op; the run dir keeps its checkpoints', async () => {
    const spec = writeSpec('diverge.json', { ...goodSpec, name: 'diverge', optimizer: { type: 'sgd', lr: 1e30 } });
    const dir = join(tempDir(), 'diverge');
    // Step 1 is still finite: a checkpoint is written, then resuming must fail at step 2 without touching it.
    const ok = await runCli(['train', spec, '--steps', '1', '--out', dir, '--workers', '1']);
    assert.equal(ok.code, 0, ok.stderr);
    const text = await failsLeavingDir(dir, ['train', spec, '--steps', '5', '--out', dir], 'NumericError', /step \d+: /, /(NaN|Inf)/);
    assert.match(text, /step \d+: [a-zA-Z_.]+ produced (NaN|Inf)/, `the op is named: ${text}`);
    assert.match(text, /op [a-zA-Z_.]+ with inputs/, text);
    assert.deepEqual(readdirSync(dir).sort(), ['chain.json', 'ckpt-0000000001.safetensors']);
  });

  // 5. Corrupt and truncated checkpoints.

  const damages: [string, (p: string) => void, RegExp][] = [
    ['a flipped byte in the tensor data', (p) => flipByte(p, -1001), /corrupt: state hash mismatch/],
    ['a flipped byte in the header', (p) => flipByte(p, 40), /corrupt/],
    ['truncation', truncate, /corrupt: truncated/],
  ];

  for (const [what, damage, why] of damages) {
    test(`replay --from a checkpoint with ${what}: clear error, files unchanged`, async () => {
      const dir = copyRun();
      damage(ckpt(dir, 1));
      await failsLeavingDir(dir, ['replay', goodSpecPath, '--from', ckpt(dir, 1), '--steps', '1'], 'IntegrityError', why, /ckpt-0000000001\.safetensors/);
    });

    test(`eval of a checkpoint with ${what}: clear error, files unchanged`, async () => {
      const dir = copyRun();
      damage(ckpt(dir, 2));
      await failsLeavingDir(dir, ['eval', goodSpecPath, ckpt(dir, 2)], 'IntegrityError', why, /ckpt-0000000002\.safetensors/);
    });

    test(`train resuming from a latest checkpoint with ${what}: refused, files unchanged`, async () => {
      const dir = copyRun();
      damage(ckpt(dir, 2));
      await failsLeavingDir(dir, ['train', goodSpecPath, '--steps', '4', '--out', dir], 'IntegrityError', why, /ckpt-0000000002\.safetensors/);
      // Also when no new steps are asked for.
      await failsLeavingDir(dir, ['train', goodSpecPath, '--steps', '2', '--out', dir], 'IntegrityError', why);
    });
  }

  for (const [what, damage, why] of damages.slice(1)) {
    test(`train resuming when an earlier checkpoint has ${what}: refused before anything is written`, async () => {
      const dir = copyRun();
      damage(ckpt(dir, 1));
      await failsLeavingDir(dir, ['train', goodSpecPath, '--steps', '4', '--out', dir], 'IntegrityError', why, /ckpt-0000000001\.safetensors/);
    });
  }

  test('a missing checkpoint file: clear error', async () => {
    const r = await runCli(['eval', goodSpecPath, join(work, 'nope.safetensors'), '--workers', '1']);
    assertFails(r, 'InputError', /cannot read checkpoint .*nope\.safetensors/);
  });

  test('the undamaged copy replays and evaluates (the damage tests are not vacuous)', async () => {
    const dir = copyRun();
    const r1 = await runCli(['replay', goodSpecPath, '--from', ckpt(dir, 1), '--steps', '1', '--workers', '1']);
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await runCli(['eval', goodSpecPath, ckpt(dir, 2), '--workers', '1']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r1.json.stateHash, r2.json.stateHash);
  });

  // 6. Another job's run directory.

  test("train into a directory holding another job's checkpoints: refused, nothing overwritten", async () => {
    const dir = copyRun();
    const other = writeSpec('other.json', { ...goodSpec, seed: 2 });
    for (const steps of ['1', '2', '4']) {
      await failsLeavingDir(dir, ['train', other, '--steps', steps, '--out', dir], 'InputError', /holds checkpoints of another job spec/, /use a fresh --out directory/);
    }
  });

  test("replay and eval refuse another job's checkpoint", async () => {
    const dir = copyRun();
    const other = writeSpec('other2.json', { ...goodSpec, seed: 3 });
    await failsLeavingDir(dir, ['replay', other, '--from', ckpt(dir, 1), '--steps', '1'], 'InputError', /belongs to another job spec/);
    await failsLeavingDir(dir, ['eval', other, ckpt(dir, 2)], 'InputError', /belongs to another job spec/);
  });
});
