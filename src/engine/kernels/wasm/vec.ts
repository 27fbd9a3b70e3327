// The elementwise WASM kernels (vec.wat.ts) behind the optimizer updates and the finiteness scan.
// Browser-safe: no Node APIs.
//
// Memory (one shared WebAssembly.Memory of their own):
//   [0, 64)                unused
//   [64, residentEnd)      resident arrays from alloc(): optimizer state and parameters live here,
//                          so an update reads and writes them in place
//   [residentEnd, ...)     staging: operands that are not resident are copied in and out per call
// The memory is shared (a SharedArrayBuffer), so growing it never detaches the resident views.
import { ShapeError, VeritrainError } from '../../../errors.ts';
import type { AdamwConstants, SgdConstants } from '../backend.ts';
import { VEC_WASM_BASE64 } from './vec.wasm.ts';
import { decodeBase64, WebAssemblyApi, type WasmMemory } from './wasm-api.ts';

const PAGE = 65536;
const MAX_PAGES = 65536;

interface VecExports {
  adamw(w: number, g: number, m: number, v: number, n: number, b1: number, c1: number, b2: number, c2: number,
    sbc2: number, eps: number, step: number, decay: number, wd: number): void;
  sgd(w: number, g: number, buf: number, n: number, mu: number, wd: number, lr: number, hasWd: number, first: number): void;
  nonfinite(p: number, n: number): number;
}

export interface VecKernels {
  /** A zeroed array of n floats that lives in kernel memory (no copies when passed to a kernel). */
  alloc(n: number): Float32Array;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamwConstants): void;
  sgd(w: Float32Array, g: Float32Array, buf: Float32Array, c: SgdConstants): void;
  /** True when every element is finite. */
  allFinite(x: Float32Array): boolean;
}

const vecs = (n: number): number => Math.ceil(n / 4);

export function createVecKernels(): VecKernels {
  const memory: WasmMemory = new WebAssemblyApi.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const module = new WebAssemblyApi.Module(decodeBase64(VEC_WASM_BASE64));
  const k = new WebAssemblyApi.Instance(module, { env: { memory } }).exports as unknown as VecExports;
  const resident = new WeakSet<Float32Array>();
  let residentEnd = 64;
  let f32 = new Float32Array(memory.buffer);

  function ensureBytes(bytes: number): void {
    const have = memory.buffer.byteLength;
    if (bytes > have) {
      if (bytes > MAX_PAGES * PAGE) throw new ShapeError(`elementwise kernels need ${bytes} bytes of WASM memory, more than 4 GiB`);
      try {
        memory.grow(Math.ceil((bytes - have) / PAGE));
      } catch (e) {
        throw new VeritrainError(`could not grow the elementwise kernels' WASM memory to ${bytes} bytes`, { cause: e });
      }
    }
    if (f32.buffer.byteLength !== memory.buffer.byteLength) f32 = new Float32Array(memory.buffer);
  }

  function alloc(n: number): Float32Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new ShapeError(`alloc: bad length ${n}`);
    const at = residentEnd;
    residentEnd += vecs(n) * 16;
    ensureBytes(residentEnd);
    const view = new Float32Array(memory.buffer, at, n);
    resident.add(view);
    return view;
  }

  /**
   * Byte addresses of the operands in kernel memory: resident ones in place, the others copied to
   * staging (padding lanes zeroed, so they stay finite). `finish` copies the `outputs` back.
   */
  function place(arrays: Float32Array[], outputs: readonly number[]): { at: number[]; finish: () => void } {
    const n = arrays[0].length;
    for (const a of arrays) if (a.length !== n) throw new ShapeError(`elementwise kernel: operand lengths differ (${arrays.map((x) => x.length).join(', ')})`);
    const bytes = vecs(n) * 16;
    let next = residentEnd;
    const at: number[] = [];
    const staged: boolean[] = [];
    for (const a of arrays) {
      const inPlace = resident.has(a);
      staged.push(!inPlace);
      if (inPlace) at.push(a.byteOffset);
      else { at.push(next); next += bytes; }
    }
    ensureBytes(next);
    arrays.forEach((a, i) => {
      if (!staged[i]) return;
      const e = at[i] / 4;
      f32.set(a, e);
      f32.fill(0, e + n, e + vecs(n) * 4);
    });
    return {
      at,
      finish: () => {
        for (const i of outputs) if (staged[i]) arrays[i].set(f32.subarray(at[i] / 4, at[i] / 4 + n));
      },
    };
  }

  return {
    alloc,
    adamw(w, g, m, v, c) {
      const { at, finish } = place([w, g, m, v], [0, 2, 3]);
      k.adamw(at[0], at[1], at[2], at[3], vecs(w.length), c.b1, c.c1, c.b2, c.c2, c.sbc2, c.eps, c.stepSize, c.decay, c.weightDecay !== 0 ? 1 : 0);
      finish();
    },
    sgd(w, g, buf, c) {
      const { at, finish } = place([w, g, buf], [0, 2]);
      k.sgd(at[0], at[1], at[2], vecs(w.length), c.mu, c.wd, c.lr, c.wd !== 0 ? 1 : 0, c.first ? 1 : 0);
      finish();
    },
    allFinite(x) {
      const { at } = place([x], []);
      return k.nonfinite(at[0], vecs(x.length)) === 0;
    },
  };
}
