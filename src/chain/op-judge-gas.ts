// Gas of op disputes (levels 3+4) on real ops: one traced training step of mnist-mlp, mnist-cnn and
// a GPT (tiny-gpt itself with --full; a 1-layer d=32 GPT with dropout otherwise); for each kind the
// record with the most scalar steps; for it the most expensive compute slot of one element (every
// slot measured with eth_estimateGas of OpJudge.stepLeaf, sampled for long programs) and the write
// slot; then two whole disputes on anvil that end on exactly those slots (a lying defender), with
// the gas of every move.
//
//   node src/chain/op-judge-gas.ts [--full] [--kinds a,b] [--json]   (--json: the last stdout line is one JSON object)
import { encodeFunctionData } from 'viem';
import { setBackend } from '../engine/kernels/current.ts';
import { createWasmBackendSync } from '../engine/kernels/wasm/index.ts';
import { withObserver } from '../engine/trace.ts';
import { loadSpecFile, parseSpec, type JobSpec } from '../train/spec.ts';
import { prepareJob, trainStep } from '../train/train.ts';
import { OpProver, compile, describe, opOf, pathLength, recordingObserver, type Fault, type ResolvedRecord } from '../verify/ops/index.ts';
import { startAnvil } from './anvil.ts';
import { devAccount } from './client.ts';
import {
  deployOpJudge, judgeCallArgs, opCaseOf, opJudgeClient, openOpDispute, playOpDispute, type OpJudgeClient, type OpJudgeDeployment,
} from './op-judge.ts';

export interface OpGasRow {
  kind: string;
  shapes: string;
  E: number;
  S: number;
  steps: number;
  /** Transactions before the judge call: the defender's first reveal and every later move (one per turn). */
  rounds: number;
  open: number;
  firstReveal: number;
  moveMax: number;
  judgeWrite: number;
  judgeCompute: number | null;
  computeSlot: string | null;
  /** open + every move + the judge call, of the costlier of the two disputes. */
  dispute: number;
}

function spec(file: string, patch: (s: Record<string, unknown>) => void = () => {}): JobSpec {
  const s = JSON.parse(JSON.stringify(loadSpecFile(new URL(`../../examples/${file}.json`, import.meta.url).pathname))) as Record<string, unknown>;
  patch(s);
  return parseSpec(s);
}

/** Per kind, the record of one traced step with the most scalar steps (E * S). */
function biggestRecords(specs: { spec: JobSpec; step: number }[]): Map<string, ResolvedRecord> {
  const best = new Map<string, { steps: number; r: ResolvedRecord }>();
  for (const { spec: sp, step } of specs) {
    const job = prepareJob(sp, new URL('../../examples', import.meta.url).pathname);
    for (let s = 0; s < step; s++) trainStep(job, s);
    const sizes = new Map<number, number>();
    const obs = recordingObserver((r, i) => {
      const c = compile(describe(r));
      const steps = c.E * c.S;
      sizes.set(i, steps);
      return steps > (best.get(r.kind)?.steps ?? -1);
    });
    withObserver(obs, () => trainStep(job, step));
    for (const r of obs.records) {
      const steps = sizes.get(r.index)!;
      if (steps > (best.get(r.kind)?.steps ?? -1)) best.set(r.kind, { steps, r });
    }
  }
  return new Map([...best].map(([k, v]) => [k, v.r]));
}

async function stepGas(c: OpJudgeClient, p: OpProver, t: number): Promise<number> {
  const data = encodeFunctionData({ abi: c.d.abi, functionName: 'stepLeaf', args: [...judgeCallArgs(p, t), BigInt(t)] });
  return Number(await c.public.estimateGas({ account: c.account!, to: c.d.opJudge, data }));
}

/** The element whose run executes the most slots (the longest branch), among the first 256. */
function longestElement(p: OpProver): number {
  if (p.c.S > 100) return Math.floor(p.c.E / 2); // the long programs (reductions, matmul) do not branch
  let best = 0, bestLen = -1;
  for (let e = 0; e < Math.min(p.c.E, 256); e++) {
    const len = pathLength(p.c, p.inputs, e);
    if (len > bestLen) (best = e), (bestLen = len);
  }
  return best;
}

async function measure(dep: OpJudgeDeployment, D: OpJudgeClient, C: OpJudgeClient, r: ResolvedRecord): Promise<OpGasRow> {
  const { d, inputs, output } = opOf(r);
  const honest = new OpProver(d, inputs, { output });
  const { E, S } = honest.c;
  const parties = { challenger: C.account!.address, defender: D.account!.address };
  const last = E - 1;
  const wrong = honest.output.slice();
  wrong[last] ^= 1;
  const play = async (liar: OpProver) => {
    const { id, gasUsed } = await openOpDispute(D, opCaseOf(liar, parties));
    const res = await playOpDispute(id, { client: D, prover: liar }, { client: C, prover: honest });
    if (res.phase !== 'challenger-won') throw new Error(`${r.kind}: the lying defender won`);
    const moves = res.gas.moves.reduce((x, y) => x + y, 0n);
    return {
      res,
      open: Number(gasUsed),
      total: Number(gasUsed + moves + (res.gas.judge ?? 0n)),
    };
  };
  // write slot of the last element
  const w = await play(new OpProver(d, inputs, { output: wrong }));
  let judgeCompute: number | null = null, computeSlot: string | null = null, computeTotal = 0;
  if (S > 1) {
    const e = longestElement(honest);
    const slots = S - 1 <= 64 ? Array.from({ length: S - 1 }, (_, s) => s) : [0, 1, 2, 3, S - 3, S - 2, Math.floor(S / 2), Math.floor(S / 2) + 1];
    let best = -1, bestGas = -1;
    for (const s of slots) {
      const g = await stepGas(D, honest, e * S + s);
      if (g > bestGas) (best = s), (bestGas = g);
    }
    // A lie at exactly that slot that persists: a register flips there (r15, never read) and the
    // element's claimed value is wrong, so every later state differs and the game must end there.
    const fault: Fault = { element: e, slot: best, mutate: (regs, pc) => ((regs[15] ^= 1), pc) };
    const wrongE = honest.output.slice();
    wrongE[e] ^= 1;
    const c = await play(new OpProver(d, inputs, { output: wrongE, fault }));
    if (c.res.judgedStep !== e * S + best) throw new Error(`${r.kind}: judged step ${c.res.judgedStep}, expected ${e * S + best}`);
    const st = honest.state(e * S + best);
    const ins = st.pc === 0xffffffff ? null : honest.c.fetch(e, st.pc);
    judgeCompute = Number(c.res.gas.judge);
    computeSlot = `element ${e} slot ${best}${ins ? ` (op ${ins.op})` : ''}`;
    computeTotal = c.total;
  }
  const rounds = w.res.moves;
  return {
    kind: r.kind,
    shapes: `${d.inputs.map((t) => `[${t.shape}]`).join(' ')} → [${d.output.shape}]`,
    E, S, steps: honest.steps, rounds,
    open: w.open,
    firstReveal: Number(w.res.gas.moves[0] ?? 0n),
    moveMax: Number(w.res.gas.moves.slice(1).reduce((x, y) => (y > x ? y : x), 0n)),
    judgeWrite: Number(w.res.gas.judge),
    judgeCompute, computeSlot,
    dispute: Math.max(w.total, computeTotal),
  };
}

export async function opJudgeGasTable(opts: { full?: boolean; kinds?: string[] } = {}): Promise<OpGasRow[]> {
  const backend = createWasmBackendSync({ threads: 1 });
  setBackend(backend);
  try {
    const gpt = opts.full
      ? spec('tiny-gpt')
      : spec('tiny-gpt', (s) => {
          s.model = { type: 'gpt', layers: 1, dModel: 32, heads: 2, context: 16, dropout: 0.1 };
          s.batchSize = 4;
        });
    const records = biggestRecords([
      { spec: spec('mnist-mlp'), step: 1 },
      { spec: spec('mnist-cnn'), step: 1 },
      { spec: gpt, step: 1 },
    ]);
    const anvil = await startAnvil();
    try {
      const dep = await deployOpJudge(anvil.url);
      const D = await opJudgeClient(dep, devAccount(1)), C = await opJudgeClient(dep, devAccount(2));
      const rows: OpGasRow[] = [];
      for (const [kind, r] of records) {
        if (opts.kinds && !opts.kinds.includes(kind)) continue;
        rows.push(await measure(dep, D, C, r));
      }
      return rows.sort((a, b) => Math.max(b.judgeWrite, b.judgeCompute ?? 0) - Math.max(a.judgeWrite, a.judgeCompute ?? 0));
    } finally {
      await anvil.stop();
    }
  } finally {
    await backend.close();
  }
}

export function formatGasTable(rows: OpGasRow[]): string {
  const head = ['kind', 'op', 'E×S steps', 'moves', 'open', '1st reveal', 'move (max)', 'judge write', 'judge compute', 'whole dispute'];
  const body = rows.map((r) => [
    r.kind, r.shapes, `${r.E}×${r.S}=${r.steps}`, String(r.rounds), String(r.open), String(r.firstReveal), String(r.moveMax),
    String(r.judgeWrite), r.judgeCompute === null ? '—' : `${r.judgeCompute} (${r.computeSlot})`, String(r.dispute),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

if (import.meta.main) {
  const at = process.argv.indexOf('--kinds');
  const kinds = at > 0 ? process.argv[at + 1].split(',') : undefined;
  const rows = await opJudgeGasTable({ full: process.argv.includes('--full'), kinds });
  console.log(formatGasTable(rows));
  const maxJudge = Math.max(...rows.map((r) => Math.max(r.judgeWrite, r.judgeCompute ?? 0)));
  const maxDispute = Math.max(...rows.map((r) => r.dispute));
  console.log(`max judge call: ${maxJudge} gas; max whole op dispute (levels 3+4): ${maxDispute} gas`);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ opJudgeGas: rows, maxJudge, maxDispute }));
}
