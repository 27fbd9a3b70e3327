// What one core of this machine can do with SIMD128 under V8 (part of `npm run bench`, also alone:
// `node bench/ceiling.ts [--json]`), so that matmul GFLOP/s can be read against this machine rather
// than against a figure from another one:
//   mulAdd: independent f32x4 mul-then-add chains (14 accumulators, no loads): the arithmetic peak
//           of f32x4.mul + f32x4.add without FMA (8 chains reach ~2/3 of it: latency-bound).
//   tile:   the matmul kernel's inner loop (kernels/wasm/matmul.wat.ts: a 4×8 register tile, two B
//           vectors and four A broadcasts per k, unrolled by four) on operands that stay in L1
//           (K = 256: 4 KiB of A, 8 KiB of B), so no packing, no edges, no memory traffic: the most a
//           matmul built on that tile can reach.
import { fileURLToPath } from 'node:url';
import { compileWat } from '../src/engine/kernels/wasm/build.ts';
import { WebAssemblyApi, type WasmMemory } from '../src/engine/kernels/wasm/wasm-api.ts';

export interface CeilingFigure {
  /** GFLOP/s of 14 independent f32x4 mul+add chains on one thread. */
  mulAdd: number;
  /** GFLOP/s of the 4×8 tile loop on L1-resident operands, one thread. */
  tile: number;
}

const K = 256;
const ACC = 14; // mul-add chains: 14 + x + y fill the 16 registers; fewer are latency-bound here
const A_AT = 1024; // 4 rows of K floats
const B_AT = A_AT + 16 * K; // K rows of 8 floats

function ceilingWat(): string {
  const acc = Array.from({ length: ACC }, (_, i) => `$a${i}`);
  const tileAcc = ['c00', 'c01', 'c10', 'c11', 'c20', 'c21', 'c30', 'c31'];
  const get = (n: string) => `(local.get $${n})`;
  let kBody = '';
  for (let u = 0; u < 4; u++) {
    kBody += `
      (local.set $b0 (v128.load offset=${32 * u} (local.get $bp)))
      (local.set $b1 (v128.load offset=${32 * u + 16} (local.get $bp)))`;
    for (let r = 0; r < 4; r++) {
      kBody += `
      (local.set $a (v128.load32_splat offset=${4 * u + 4 * K * r} (local.get $ap)))
      (local.set $c${r}0 (f32x4.add ${get(`c${r}0`)} (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c${r}1 (f32x4.add ${get(`c${r}1`)} (f32x4.mul (local.get $a) (local.get $b1))))`;
    }
  }
  return `(module
  (memory (export "memory") 1)
  (func (export "mulAdd") (param $n i32) (result f32)
    (local $x v128) (local $y v128) ${acc.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $x (f32x4.splat (f32.const 0.999)))
    (local.set $y (f32x4.splat (f32.const 0.001)))
    (loop $l
      ${acc.map((a) => `(local.set ${a} (f32x4.add (f32x4.mul (local.get ${a}) (local.get $x)) (local.get $y)))`).join('\n      ')}
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (f32x4.extract_lane 0 ${acc.reduce((s, a) => `(f32x4.add ${s} (local.get ${a}))`, '(local.get $y)')}))
  (func (export "tile") (param $reps i32) (result f32)
    (local $ap i32) (local $bp i32) (local $k i32) (local $a v128) (local $b0 v128) (local $b1 v128)
    ${tileAcc.map((c) => `(local $${c} v128)`).join(' ')}
    (loop $rep
      (local.set $ap (i32.const ${A_AT}))
      (local.set $bp (i32.const ${B_AT}))
      (local.set $k (i32.const ${K / 4}))
      (loop $kl${kBody}
        (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
        (local.set $bp (i32.add (local.get $bp) (i32.const 128)))
        (br_if $kl (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (br_if $rep (local.tee $reps (i32.sub (local.get $reps) (i32.const 1)))))
    (f32x4.extract_lane 0 ${tileAcc.reduce((s, c) => `(f32x4.add ${s} (local.get $${c}))`, '(local.get $a)')}))
)`;
}

interface CeilingExports {
  memory: WasmMemory;
  mulAdd(n: number): number;
  tile(reps: number): number;
}

export async function measureCeiling(opts: { quick?: boolean } = {}): Promise<CeilingFigure> {
  const bytes = await compileWat(ceilingWat(), 'ceiling.wat');
  const e = new WebAssemblyApi.Instance(new WebAssemblyApi.Module(bytes), {}).exports as unknown as CeilingExports;
  const f = new Float32Array(e.memory.buffer);
  for (let i = A_AT / 4; i < B_AT / 4 + 8 * K; i++) f[i] = 1e-3 * ((i % 7) + 1); // small normal values: no overflow, no subnormals
  // Samples of ~10 ms, the two alternating (this VM's speed moves between runs): best of each.
  const rounds = opts.quick ? 2 : 15;
  const n = opts.quick ? 50_000 : 300_000; // mulAdd iterations: 8 · ACC flops each
  const reps = opts.quick ? 50 : 300; // tile passes over K: 64 flops per k
  const runs = [
    { run: () => e.mulAdd(n), flops: 8 * ACC * n, ms: Infinity },
    { run: () => e.tile(reps), flops: 64 * K * reps, ms: Infinity },
  ];
  for (const r of runs) r.run(); // warm-up (compilation)
  for (let i = 0; i < rounds; i++) {
    for (const r of runs) {
      const t = performance.now();
      r.run();
      r.ms = Math.min(r.ms, performance.now() - t);
    }
  }
  const [m, t] = runs.map((r) => r.flops / (r.ms * 1e6));
  return { mulAdd: m, tile: t };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await measureCeiling({ quick: process.argv.includes('--quick') });
  console.error(`SIMD128 on one thread: independent f32x4 mul+add ${r.mulAdd.toFixed(1)} GFLOP/s; the matmul's 4×8 tile on L1-resident operands ${r.tile.toFixed(1)} GFLOP/s`);
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
}
