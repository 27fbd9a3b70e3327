// The few WebAssembly JS API types the kernel needs. The project's tsconfig has no DOM lib and
// @types/node declares no WebAssembly namespace, so they are typed here, locally.
export interface WasmModule {
  readonly __kind?: 'WebAssembly.Module';
}
export interface WasmMemory {
  /** Always a SharedArrayBuffer here: the kernel's memory is shared between threads. */
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
}

export const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Committed kernel bytes (base64) -> bytes; atob works in Node and browsers alike. */
export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
