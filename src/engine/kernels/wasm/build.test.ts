// The committed kernel bytes and WAT text are exactly what build.ts makes from matmul.wat.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { build, WASM_TS_PATH, WAT_PATH } from './build.ts';

test('matmul.wat and matmul.wasm.ts are up to date (rebuild: node src/engine/kernels/wasm/build.ts)', async () => {
  const { wat, module } = await build();
  assert.equal(readFileSync(WAT_PATH, 'utf8'), wat, 'matmul.wat is stale');
  assert.equal(readFileSync(WASM_TS_PATH, 'utf8'), module, 'matmul.wasm.ts is stale');
});

test('the kernel uses no relaxed SIMD and no fused multiply-add', () => {
  const wat = readFileSync(WAT_PATH, 'utf8');
  assert.doesNotMatch(wat, /relaxed|madd|nmadd|fma/i);
});
