// The final judge call of an op dispute costs <= 300k gas (issue 4's target), measured on real ops
// of traced training steps (src/chain/op-judge-gas.ts: the costliest compute slot and the write
// slot of the op with the most steps of each kind), for the kinds whose judge calls cost most:
// sumSquares (every parameter gradient as an input), maxBackward, mul on the CNN's largest
// activation (two openings), the batch gather from the dataset (the deepest tree), and matmul (the
// most steps, so the most moves).
// The whole table for every kind: node src/chain/op-judge-gas.ts [--full].
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGasTable, opJudgeGasTable } from '../src/chain/op-judge-gas.ts';

test('judge calls of the costliest kinds stay under 300k gas; whole op disputes under 1.2M', async () => {
  const rows = await opJudgeGasTable({ kinds: ['sumSquares', 'maxBackward', 'mul', 'gather', 'matmul'] });
  console.log(formatGasTable(rows).split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(rows.length, 5);
  for (const r of rows) {
    assert.ok(r.judgeWrite <= 300_000, `${r.kind}: judge call at the write slot ${r.judgeWrite}`);
    if (r.judgeCompute !== null) assert.ok(r.judgeCompute <= 300_000, `${r.kind}: judge call at ${r.computeSlot}: ${r.judgeCompute}`);
    assert.ok(r.dispute <= 1_200_000, `${r.kind}: whole op dispute ${r.dispute}`);
    assert.ok(r.rounds <= Math.ceil(Math.log2(r.steps) / 4) + 1, `${r.kind}: ${r.rounds} rounds for ${r.steps} steps`);
  }
});
