// Matmul throughput: our WASM SIMD128 backend (1 and 2 threads) against its peers in the same run:
// @tensorflow/tfjs-backend-wasm (SIMD, single-threaded in Node) and onnxruntime-node (native, FMA,
// not reproducible). GFLOP/s = 2·batch·M·N·K / time, best of several samples after warmup.
// Every implementation is timed the way it is used: the operands already in its own memory (our
// kernel memory, as a training step keeps its tensors; tfjs's tensors; ort's input tensors) and the
// result read back into a JS array (tfjs dataSync, ort's output, our copy out of kernel memory).
// For the square sizes our figures with the operands copied into kernel memory on every call are
// kept too (`operands: 'copied'`).
//
//   node_modules/.bin/node bench/matmul.bench.ts [--json] [--quick]
//
// With --json the last line of stdout is one JSON object with every figure (MatmulBenchResult).
import { cpus, loadavg, availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWasmBackend, type WasmBackend } from '../src/engine/kernels/wasm/index.ts';
import type { MatmulParams } from '../src/engine/kernels/backend.ts';
import { rngStream, uniforms } from '../src/engine/rng.ts';

export interface MatmulBenchOptions {
  /** Square sizes n (n×n·n×n). Default [256, 512, 1024]. */
  sizes?: number[];
  /** Our thread counts. Default [1, 2]. */
  threads?: number[];
  /** Also the shapes of training (MLP layers, their backward forms, batched attention). Default true. */
  training?: boolean;
  /** Measure tfjs-wasm and onnxruntime too. Default true. */
  peers?: boolean;
  /** Timed samples per figure (best is kept). Default 7. */
  samples?: number;
  /** Minimum length of one sample in ms (small shapes repeat within a sample). Default 25. */
  sampleMs?: number;
  /** Progress and table lines; default none. */
  log?: (line: string) => void;
}

export type MatmulCase = { name: string } & Pick<MatmulParams, 'batch' | 'M' | 'K' | 'N' | 'transA' | 'transB'>;

export interface MatmulFigure {
  case: string;
  impl: 'veritrain-wasm' | 'tfjs-wasm' | 'onnxruntime';
  threads: number;
  /** Ours only: operands in kernel memory (the headline figure) or copied in on every call. */
  operands?: 'resident' | 'copied';
  gflops: number;
  /** Best time of one call, ms. */
  ms: number;
}

export interface MatmulBenchResult {
  bench: 'matmul';
  node: string;
  cpu: string;
  cores: number;
  /** 1-minute load average before and after: other work on the machine lowers every figure. */
  loadavg: { start: number; end: number };
  figures: MatmulFigure[];
  /** Per case: ours(1t)/tfjs, ours(2t)/ours(1t), ours(1t)/ort(1t), ours(2t)/ort(2t) where measured. */
  ratios: Record<string, Record<string, number>>;
  /** Peers that could not be measured, with the reason. */
  skipped: string[];
  seconds: number;
}

const square = (n: number): MatmulCase => ({ name: `${n}x${n}x${n}`, batch: 1, M: n, K: n, N: n, transA: false, transB: false });

export const TRAINING_CASES: MatmulCase[] = [
  { name: 'mlp fwd 64x784·784x256', batch: 1, M: 64, K: 784, N: 256, transA: false, transB: false },
  { name: 'mlp dW (784x64)ᵀ·64x256', batch: 1, M: 784, K: 64, N: 256, transA: true, transB: false },
  { name: 'mlp dX 64x256·(784x256)ᵀ', batch: 1, M: 64, K: 256, N: 784, transA: false, transB: true },
  { name: 'attn QKᵀ 32×[64x32·(64x32)ᵀ]', batch: 32, M: 64, K: 32, N: 64, transA: false, transB: true },
  { name: 'attn PV 32×[64x64·64x32]', batch: 32, M: 64, K: 64, N: 32, transA: false, transB: false },
];

function operands(c: MatmulCase): { a: Float32Array; b: Float32Array } {
  const s = rngStream(7, `bench/matmul/${c.name}`);
  const scale = (u: Float32Array): Float32Array => u.map((x) => x * 2 - 1);
  return { a: scale(uniforms(s, 0, c.batch * c.M * c.K)), b: scale(uniforms(s, 1 << 30, c.batch * c.K * c.N)) };
}

const flopsOf = (c: MatmulCase): number => 2 * c.batch * c.M * c.N * c.K;

/** Best ms per call: repeat within a sample until it lasts sampleMs; warm up first. */
async function measure(run: () => unknown, samples: number, sampleMs: number): Promise<number> {
  const t0 = performance.now();
  let calls = 0;
  while (calls < 3 || performance.now() - t0 < 2 * sampleMs) {
    await run();
    calls++;
  }
  const reps = Math.max(1, Math.ceil(sampleMs / ((performance.now() - t0) / calls)));
  let best = Infinity;
  for (let s = 0; s < samples; s++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) await run();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return best;
}

// ---- peers ---------------------------------------------------------------------------------

interface Peer {
  impl: MatmulFigure['impl'];
  threads: number;
  supports(c: MatmulCase): boolean;
  /** A function doing one matmul (result read back to JS), and its cleanup. */
  prepare(c: MatmulCase, a: Float32Array, b: Float32Array): Promise<{ run: () => unknown; done: () => void }>;
  close(): Promise<void>;
}

async function tfjsPeer(): Promise<Peer> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  return {
    impl: 'tfjs-wasm',
    threads: wasm.getThreadsCount(),
    supports: () => true,
    async prepare(c, a, b) {
      const shape = (rows: number, cols: number, t: boolean): number[] => (c.batch > 1 ? [c.batch] : []).concat(t ? [cols, rows] : [rows, cols]);
      const ta = tf.tensor(a, shape(c.M, c.K, c.transA));
      const tb = tf.tensor(b, shape(c.K, c.N, c.transB));
      return {
        run: () => {
          const out = tf.matMul(ta, tb, c.transA, c.transB);
          out.dataSync();
          out.dispose();
        },
        done: () => { ta.dispose(); tb.dispose(); },
      };
    },
    close: async () => {},
  };
}

/** A one-node ONNX model, C = MatMul(A, B) with symbolic 2-D shapes, as protobuf bytes. */
export function onnxMatMulModel(): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); }
    out.push(n);
    return out;
  };
  const int = (field: number, v: number): number[] => [field << 3, ...varint(v)];
  const bytes = (field: number, payload: number[]): number[] => [(field << 3) | 2, ...varint(payload.length), ...payload];
  const str = (field: number, s: string): number[] => bytes(field, [...new TextEncoder().encode(s)]);
  const tensorType = (dims: string[]): number[] =>
    bytes(1, [...int(1, 1 /* FLOAT */), ...bytes(2, dims.flatMap((d) => bytes(1, str(2, d))))]);
  const valueInfo = (name: string, dims: string[]): number[] => [...str(1, name), ...bytes(2, tensorType(dims))];
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'C'), ...str(3, 'mm'), ...str(4, 'MatMul')];
  const graph = [...bytes(1, node), ...str(2, 'matmul'), ...bytes(11, valueInfo('A', ['M', 'K'])), ...bytes(11, valueInfo('B', ['K', 'N'])), ...bytes(12, valueInfo('C', ['M', 'N']))];
  const model = [...int(1, 8 /* ir_version */), ...str(2, 'veritrain-bench'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...int(2, 13)])];
  return new Uint8Array(model);
}

async function onnxPeer(threads: number): Promise<Peer> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxMatMulModel(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return {
    impl: 'onnxruntime',
    threads,
    supports: (c) => c.batch === 1 && !c.transA && !c.transB,
    async prepare(c, a, b) {
      const feeds = { A: new ort.Tensor('float32', a, [c.M, c.K]), B: new ort.Tensor('float32', b, [c.K, c.N]) };
      return {
        run: async () => {
          const out = await session.run(feeds);
          if (out.C.data.length !== c.M * c.N) throw new Error('onnxruntime: wrong output size');
        },
        done: () => {},
      };
    },
    close: () => session.release(),
  };
}

// ---- the bench -----------------------------------------------------------------------------

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

export async function runMatmulBench(opts: MatmulBenchOptions = {}): Promise<MatmulBenchResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const samples = opts.samples ?? 7;
  const sampleMs = opts.sampleMs ?? 25;
  const ourThreads = opts.threads ?? [1, 2];
  const cases = [...(opts.sizes ?? [256, 512, 1024]).map(square), ...(opts.training === false ? [] : TRAINING_CASES)];
  const load0 = loadavg()[0];
  const figures: MatmulFigure[] = [];
  const skipped: string[] = [];
  const data = new Map(cases.map((c) => [c.name, operands(c)]));

  // Ours, one backend per thread count, measured one after the other.
  for (const threads of ourThreads) {
    const be: WasmBackend = await createWasmBackend({ threads });
    try {
      for (const c of cases) {
        const { a, b } = data.get(c.name)!;
        const out = new Float32Array(c.batch * c.M * c.N);
        const p: MatmulParams = { ...c, aOffset: 0, bOffset: 0, aBatchStride: c.M * c.K, bBatchStride: c.K * c.N };
        const mark = be.mark();
        try {
          const ha = be.temp(a.length), hb = be.temp(b.length), hc = be.temp(out.length);
          ha.set(a);
          hb.set(b);
          const ms = await measure(() => { be.matmul(ha, hb, hc, p); out.set(hc); }, samples, sampleMs);
          figures.push({ case: c.name, impl: 'veritrain-wasm', threads, operands: 'resident', gflops: flopsOf(c) / ms / 1e6, ms });
          log(`  veritrain-wasm t${threads}  ${c.name}: ${fmt(flopsOf(c) / ms / 1e6)} GFLOP/s`);
        } finally {
          be.release(mark);
        }
        if (c.batch === 1 && c.M === c.N && c.N === c.K && !c.transA && !c.transB) {
          const ms = await measure(() => be.matmul(a, b, out, p), samples, sampleMs);
          figures.push({ case: c.name, impl: 'veritrain-wasm', threads, operands: 'copied', gflops: flopsOf(c) / ms / 1e6, ms });
          log(`  veritrain-wasm t${threads}  ${c.name}, operands copied in: ${fmt(flopsOf(c) / ms / 1e6)} GFLOP/s`);
        }
      }
    } finally {
      await be.close();
    }
  }

  if (opts.peers !== false) {
    const makers: [string, () => Promise<Peer>][] = [
      ['tfjs-wasm', tfjsPeer],
      ...ourThreads.map((t): [string, () => Promise<Peer>] => [`onnxruntime t${t}`, () => onnxPeer(t)]),
    ];
    for (const [label, make] of makers) {
      let peer: Peer;
      try {
        peer = await make();
      } catch (e) {
        skipped.push(`${label}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        log(`  ${label}: skipped (${skipped.at(-1)})`);
        continue;
      }
      try {
        for (const c of cases.filter((x) => peer.supports(x))) {
          const { a, b } = data.get(c.name)!;
          const { run, done } = await peer.prepare(c, a, b);
          try {
            const ms = await measure(run, samples, sampleMs);
            figures.push({ case: c.name, impl: peer.impl, threads: peer.threads, gflops: flopsOf(c) / ms / 1e6, ms });
            log(`  ${peer.impl} t${peer.threads}  ${c.name}: ${fmt(flopsOf(c) / ms / 1e6)} GFLOP/s`);
          } finally {
            done();
          }
        }
      } finally {
        await peer.close();
      }
    }
  }

  const get = (c: string, impl: MatmulFigure['impl'], threads: number): number | undefined =>
    figures.find((f) => f.case === c && f.impl === impl && f.threads === threads && f.operands !== 'copied')?.gflops;
  const ratios: MatmulBenchResult['ratios'] = {};
  for (const c of cases) {
    const r: Record<string, number> = {};
    const o1 = get(c.name, 'veritrain-wasm', 1), o2 = get(c.name, 'veritrain-wasm', 2);
    const tf = figures.find((f) => f.case === c.name && f.impl === 'tfjs-wasm')?.gflops;
    const x1 = get(c.name, 'onnxruntime', 1), x2 = get(c.name, 'onnxruntime', 2);
    if (o1 && tf) r['ours1/tfjs'] = o1 / tf;
    if (o1 && o2) r['ours2/ours1'] = o2 / o1;
    if (o1 && x1) r['ours1/ort1'] = o1 / x1;
    if (o2 && x2) r['ours2/ort2'] = o2 / x2;
    ratios[c.name] = r;
  }
  return {
    bench: 'matmul',
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    loadavg: { start: load0, end: loadavg()[0] },
    figures,
    ratios,
    skipped,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The readable table: GFLOP/s per case and implementation, then the ratios. */
export function formatMatmulBench(r: MatmulBenchResult): string {
  const cols: [MatmulFigure['impl'], number][] = [];
  for (const f of r.figures) if (f.operands !== 'copied' && !cols.some(([i, t]) => i === f.impl && t === f.threads)) cols.push([f.impl, f.threads]);
  const label = ([impl, t]: [string, number]): string => `${impl.replace('veritrain-wasm', 'ours')} ${t}t`;
  const w = Math.max(...Object.keys(r.ratios).map((k) => k.length), 4);
  const ratioKeys = ['ours1/tfjs', 'ours2/ours1', 'ours1/ort1', 'ours2/ort2'];
  const lines = [
    `matmul GFLOP/s — ${r.cpu}, ${r.cores} cores, Node ${r.node}, load ${r.loadavg.start.toFixed(2)} → ${r.loadavg.end.toFixed(2)}`,
    '',
    ['case'.padEnd(w), ...cols.map((c) => label(c).padStart(14)), ...ratioKeys.map((k) => k.padStart(12))].join(' '),
  ];
  for (const name of Object.keys(r.ratios)) {
    const cells = cols.map(([impl, t]) => fmt(r.figures.find((f) => f.case === name && f.impl === impl && f.threads === t && f.operands !== 'copied')?.gflops).padStart(14));
    const rs = ratioKeys.map((k) => fmt(r.ratios[name][k], 2).padStart(12));
    lines.push([name.padEnd(w), ...cells, ...rs].join(' '));
  }
  if (r.skipped.length) lines.push('', ...r.skipped.map((s) => `skipped: ${s}`));
  if (r.loadavg.start > r.cores / 2 || r.loadavg.end > r.cores / 2)
    lines.push('', `note: the machine was busy (load ${r.loadavg.start.toFixed(2)}/${r.loadavg.end.toFixed(2)} on ${r.cores} cores): figures are lower bounds, 2-thread ones most of all`);
  lines.push(`(${r.seconds.toFixed(1)} s)`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const result = await runMatmulBench({
    log: json ? undefined : (l) => console.error(l),
    ...(quick ? { sizes: [256, 512], samples: 3, sampleMs: 10 } : {}),
  });
  console.log(formatMatmulBench(result));
  if (json) console.log(JSON.stringify(result));
}
