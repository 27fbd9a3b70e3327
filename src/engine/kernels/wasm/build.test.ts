// The committed kernel bytes and WAT texts are exactly what build.ts makes from the *.wat.ts sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { build, MODULES, wasmTsPath, watPath } from './build.ts';

test('the .wat and .wasm.ts files are up to date (rebuild: node src/engine/kernels/wasm/build.ts)', async () => {
  for (const { name, wat, module } of await build()) {
    assert.equal(readFileSync(watPath(name), 'utf8'), wat, `${name}.wat is stale`);
    assert.equal(readFileSync(wasmTsPath(name), 'utf8'), module, `${name}.wasm.ts is stale`);
  }
});

test('the kernels use no relaxed SIMD and no fused multiply-add', () => {
  for (const { name } of MODULES) assert.doesNotMatch(readFileSync(watPath(name), 'utf8'), /relaxed|madd|nmadd|fma/i, name);
});
