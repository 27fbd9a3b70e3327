// The one shared WebAssembly.Memory of the WASM backend and the allocator over it. Browser-safe:
// no Node APIs.
//
// Tensors whose data lives here are read and written by the kernels in place (no copies). Two
// kinds of allocation:
//   alloc(n)  resident for the life of the backend: parameters, optimizer state, cached constants.
//   temp(n)   from the arena: a bump allocator that mark() / release(m) reset, so the tensors of
//             one training step reuse the same memory the next step (nothing is freed one by one).
// Layout: [0, CTL_BYTES) control block of the thread pool, then chunks handed out in address
// order, each used for one kind. The memory is shared (a SharedArrayBuffer), so growing it never
// detaches existing views; each growth gives memory.buffer a new SharedArrayBuffer object, so
// `owns` remembers every one of them.
import { ShapeError, VeritrainError } from '../../../errors.ts';
import { WebAssemblyApi, type WasmMemory } from './wasm-api.ts';

export const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB
/** Bytes at the start of memory reserved for the thread pool's control block. */
export const CTL_BYTES = 65536;
/** Every allocation starts on a cache line. */
export const ALIGN = 64;
const CHUNK = 8 << 20; // arena chunk size (a larger request gets a chunk of its own size)
const RESIDENT_CHUNK = 1 << 20;

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export interface Heap {
  readonly memory: WasmMemory;
  /** A Float32Array over the whole memory as it is now (renewed after growth). */
  f32(): Float32Array;
  /** Zeroed n floats that stay for the life of the heap. */
  alloc(n: number): Float32Array;
  /** n floats from the arena, valid until the enclosing mark is released. Not zeroed unless asked. */
  temp(n: number, zero?: boolean): Float32Array;
  /** Byte address of a fresh arena block (kernel scratch), valid until the enclosing mark is released. */
  tempBytes(bytes: number): number;
  /** The arena position; release(mark) frees everything allocated from the arena since. */
  mark(): number;
  release(mark: number): void;
  /** True when `a` is a view of this heap's memory (its kernels can use it in place). */
  owns(a: { readonly buffer: ArrayBufferLike }): boolean;
  /** Bytes of memory in use by chunks (resident + arena, high-water). */
  readonly bytes: number;
}

interface Chunk {
  start: number;
  size: number;
}

export interface HeapOptions {
  /** Upper bound of the memory in MiB (default 4096, the wasm32 limit). */
  maxMemoryMiB?: number;
  /** Fill released arena memory with NaN (finds use of a tensor after its step; slow). */
  poison?: boolean;
}

export function createHeap(opts: HeapOptions = {}): Heap {
  const maxPages = Math.min(MAX_PAGES, Math.max(2, Math.ceil(((opts.maxMemoryMiB ?? 4096) * 1048576) / PAGE)));
  const memory: WasmMemory = new WebAssemblyApi.Memory({ initial: CTL_BYTES / PAGE + 1, maximum: maxPages, shared: true });
  let last: ArrayBufferLike = memory.buffer;
  const buffers = new Set<ArrayBufferLike>([last]);
  let view = new Float32Array(last);
  let top = CTL_BYTES; // end of the last chunk
  // Resident: one bump pointer in the current chunk.
  let resident: Chunk = { start: top, size: 0 };
  let residentAt = top;
  // Arena: chunks in address order of first use; position = (chunk index, offset in it).
  const arena: Chunk[] = [];
  let ai = 0; // current arena chunk
  let aAt = 0; // next free byte address in it (0: no chunk yet)

  function grabChunk(bytes: number): Chunk {
    const start = top;
    const end = start + bytes;
    const have = memory.buffer.byteLength;
    if (end > have) {
      if (end > maxPages * PAGE) {
        throw new ShapeError(`the WASM kernels need ${end} bytes of memory, more than the limit of ${maxPages * PAGE}`, {
          hint: 'use smaller batches or models, or raise maxMemoryMiB',
        });
      }
      try {
        memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new VeritrainError(`could not grow the WASM kernels' memory to ${end} bytes`, { cause: e, hint: 'free memory or use smaller batches' });
      }
      // Each read of memory.buffer may give a new SharedArrayBuffer object: keep one per growth.
      last = memory.buffer;
      buffers.add(last);
      view = new Float32Array(last);
    }
    top = end;
    return { start, size: bytes };
  }

  function checkLength(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new ShapeError(`${what}: bad length ${n}`);
  }

  function alloc(n: number): Float32Array {
    checkLength(n, 'alloc');
    const bytes = alignUp(4 * n);
    if (residentAt + bytes > resident.start + resident.size) {
      resident = grabChunk(Math.max(RESIDENT_CHUNK, bytes));
      residentAt = resident.start;
    }
    const at = residentAt;
    residentAt += bytes;
    return new Float32Array(last, at, n);
  }

  function tempBytes(bytesIn: number): number {
    const bytes = alignUp(Math.max(bytesIn, 1));
    for (;;) {
      const c = arena[ai];
      if (c && aAt < c.start) aAt = c.start; // a mark taken before the chunk existed
      if (c && aAt + bytes <= c.start + c.size) break;
      if (c && ai + 1 < arena.length) {
        ai++;
        aAt = arena[ai].start;
        continue;
      }
      // A new chunk after the current one (chunks later in the list stay for later positions).
      const fresh = grabChunk(Math.max(CHUNK, bytes));
      arena.splice(c ? ai + 1 : ai, 0, fresh);
      if (c) ai++;
      aAt = fresh.start;
    }
    const at = aAt;
    aAt += bytes;
    return at;
  }

  function temp(n: number, zero = false): Float32Array {
    checkLength(n, 'temp');
    const at = tempBytes(4 * n);
    const a = new Float32Array(last, at, n);
    if (zero) a.fill(0);
    return a;
  }

  // A mark packs (chunk index, byte address) into one number: address < 2^32, index < 2^20.
  function mark(): number {
    return ai * 2 ** 32 + aAt;
  }

  function release(m: number): void {
    const i = Math.floor(m / 2 ** 32);
    const at = m - i * 2 ** 32;
    if (opts.poison) {
      // Every byte handed out since the mark: from `at` to the end of chunk i, the chunks up to ai.
      for (let c = i; c <= ai && c < arena.length; c++) {
        const from = c === i ? Math.max(at, arena[c].start) : arena[c].start;
        const to = c === ai ? aAt : arena[c].start + arena[c].size;
        if (to > from) new Float32Array(last, from, (to - from) / 4).fill(NaN);
      }
    }
    ai = i;
    aAt = at;
  }

  return {
    memory,
    f32: () => view,
    alloc,
    temp,
    tempBytes,
    mark,
    release,
    owns: (a) => a.buffer === last || buffers.has(a.buffer),
    get bytes() { return top; },
  };
}
