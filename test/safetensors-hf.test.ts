// Our checkpoints open with Hugging Face's own safetensors library (Python, the Rust core), which
// must see the same tensor names, shapes, bytes and metadata as our strict reader.
//
// The library comes from the machine's local wheel store (/opt/pypi/files: this workplace has no
// PyPI access) into a venv under .cache. Where Python or the wheel is missing the test is reported
// as skipped with the reason, never silently passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ROOT, runCli, tempDir } from './cli.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';

const WHEELS = '/opt/pypi/files';

/** The venv python path, or why there is none. */
function hfPython(): string {
  const venv = join(ROOT, '.cache', 'hf-safetensors');
  const py = join(venv, 'bin', 'python');
  if (existsSync(py) && spawnSync(py, ['-c', 'import safetensors.numpy']).status === 0) return py;
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 is not installed';
  if (!existsSync(WHEELS) || !readdirSync(WHEELS).some((f) => f.startsWith('safetensors-'))) return `no safetensors wheel in ${WHEELS}`;
  const mk = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
  if (mk.status !== 0) return `python3 -m venv failed: ${mk.stderr}`;
  const pip = spawnSync(py, ['-m', 'pip', 'install', '-q', '--no-index', '--find-links', WHEELS, 'safetensors', 'numpy'], { encoding: 'utf8' });
  if (pip.status !== 0) return `pip install safetensors failed: ${pip.stderr}`;
  return py;
}

const READ = `
import sys, json, hashlib
from safetensors import safe_open
out = {"tensors": {}}
with safe_open(sys.argv[1], "np") as f:
    out["metadata"] = f.metadata()
    for k in f.keys():
        t = f.get_tensor(k)
        out["tensors"][k] = {"dtype": str(t.dtype), "shape": list(t.shape), "sha256": hashlib.sha256(t.tobytes()).hexdigest()}
print(json.dumps(out))
`;

test("checkpoints load in Hugging Face's safetensors library with the same tensors and metadata", (t) => {
  const py = hfPython();
  if (!py.startsWith('/')) {
    t.skip(`Hugging Face safetensors unavailable: ${py}`);
    return;
  }
  const out = tempDir('vt-hf-');
  for (const spec of ['examples/mnist-cnn.json', 'examples/tiny-gpt.json']) {
    const dir = join(out, spec.replace(/\W/g, '_'));
    const r = runCli(['train', spec, '--steps', '2', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    const file = join(dir, readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().pop()!);
    const hf = spawnSync(py, ['-c', READ, file], { encoding: 'utf8' });
    assert.equal(hf.status, 0, hf.stderr);
    const got = JSON.parse(hf.stdout);
    const ours = loadCheckpoint(file);
    assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(ours.tensors).sort());
    for (const [name, { shape, data }] of Object.entries(ours.tensors)) {
      const h = got.tensors[name];
      assert.equal(h.dtype, 'float32', name);
      assert.deepEqual(h.shape, shape, name);
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      assert.equal(h.sha256, createHash('sha256').update(bytes).digest('hex'), name);
    }
    assert.equal(got.metadata.stateHash, ours.stateHash);
    assert.equal(got.metadata.specHash, ours.specHash);
    assert.equal(Number(got.metadata.step), ours.step);
  }
});
