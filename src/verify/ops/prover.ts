// The off-chain side of an op dispute: evaluate an op through its element programs, compute the
// game's states and leaves at any step, answer a reveal, and build the judge call's proof data.
// The defender's and the challenger's drivers call these (a lying party is the same code with a
// different output or a fault injected, which is how the tests play both sides).
import { InputError } from '../../errors.ts';
import {
  CHUNK_ELEMENTS, chunkCount, leafHash, nodeHash, openElement, tensorCommit, tensorTree,
  type ElementOpening, type TensorData,
} from '../../train/commit.ts';
import { encodeOp, sizeOf, type OpDescriptor } from './descriptor.ts';
import { END, REGS, execute, leafOf, type Instr, type MachineState, type Src } from './machine.ts';
import { compile, type Compiled } from './programs.ts';

/** The 32-bit words of a tensor's elements (a view, no copy). */
export function wordsOf(data: TensorData): Uint32Array {
  return data instanceof Uint32Array ? data : new Uint32Array(data.buffer, data.byteOffset, data.length);
}

function outOfRange(what: string): never {
  throw new InputError(`op input ${what} out of range`, { hint: 'the op reads past an input: the trace or the descriptor is wrong' });
}

/** Reads operands from the inputs' words; `onOpen(j, i)` sees every input element read, in order. */
export function readerOf(inputs: readonly Uint32Array[], regs: Uint32Array, onOpen?: (j: number, i: number) => void) {
  const at = (j: number, i: number): number => {
    const x = inputs[j];
    if (!x || !(i >= 0 && i < x.length)) outOfRange(`${j} element ${i}`);
    onOpen?.(j, i);
    return x[i];
  };
  return (s: Src): number => {
    switch (s.t) {
      case 'reg': return regs[s.r];
      case 'const': return s.v;
      case 'in': return at(s.j, s.i);
      case 'ind': {
        const w = at(s.k, s.p);
        if (w >= s.limit) outOfRange(`${s.k} index ${w} (limit ${s.limit})`);
        return at(s.j, w * s.mul + s.add);
      }
    }
  };
}

/**
 * (pc, regs) after `slots` program slots of element e (slots <= S - 1); `from` continues a run of
 * the same element that stood at slot from.slot (its regs are not modified).
 */
export function runElement(
  c: Compiled, inputs: readonly Uint32Array[], e: number, slots: number, fault?: Fault,
  from?: { slot: number; pc: number; regs: Uint32Array },
): { pc: number; regs: Uint32Array } {
  const regs = from ? from.regs.slice() : new Uint32Array(REGS);
  let pc = from ? from.pc : 0;
  const read = readerOf(inputs, regs);
  for (let s = from ? from.slot : 0; s < slots; s++) {
    const ins = pc === END ? null : c.fetch(e, pc);
    if (ins) pc = execute(pc, regs, ins, read);
    if (fault && fault.element === e && fault.slot === s) pc = fault.mutate(regs, pc);
  }
  return { pc, regs };
}

/** Slots element e's program runs before it halts (at most S - 1). */
export function pathLength(c: Compiled, inputs: readonly Uint32Array[], e: number): number {
  const regs = new Uint32Array(REGS);
  let pc = 0;
  const read = readerOf(inputs, regs);
  for (let s = 0; s < c.S - 1; s++) {
    const ins = pc === END ? null : c.fetch(e, pc);
    if (!ins) return s;
    pc = execute(pc, regs, ins, read);
  }
  return c.S - 1;
}

/** The value element e writes (its last slot) after a full run. */
export function elementValue(c: Compiled, inputs: readonly Uint32Array[], e: number, fault?: Fault): number {
  const { regs } = runElement(c, inputs, e, c.S - 1, fault);
  return readerOf(inputs, regs)(c.result(e));
}

/** The op's output computed through its element programs (the judge's definition of the op). */
export function evaluateOp(d: OpDescriptor, inputs: readonly TensorData[]): Uint32Array {
  const c = compile(d);
  const w = inputs.map(wordsOf);
  const out = new Uint32Array(c.E);
  for (let e = 0; e < c.E; e++) out[e] = elementValue(c, w, e);
  return out;
}

/** A lie for the tests: after slot `slot` of element `element`, change the registers (returns the new pc). */
export interface Fault {
  element: number;
  slot: number;
  mutate(regs: Uint32Array, pc: number): number;
}

export interface ProverOptions {
  /** The output this party claims (default: the element programs' output, with the fault's effect). */
  output?: TensorData;
  fault?: Fault;
}

/** The leaves a party reveals, its answers and its judge calls, for one op. */
export class OpProver {
  readonly c: Compiled;
  readonly d: OpDescriptor;
  readonly op: Uint8Array;
  /** Total steps T = E * S; states 0..T. */
  readonly steps: number;
  readonly inputs: readonly Uint32Array[];
  readonly output: Uint32Array;
  readonly inputCommits: Uint8Array[];
  readonly outputTree: ReturnType<typeof tensorTree>;
  private readonly fault?: Fault;
  private readonly inputTrees: (ReturnType<typeof tensorTree> | undefined)[];
  private readonly zeroLeaf = leafHash(new Uint8Array(CHUNK_ELEMENTS * 4));
  private readonly rootCache = new Map<number, Uint8Array>();
  private lastRun?: { e: number; slot: number; pc: number; regs: Uint32Array };

  constructor(d: OpDescriptor, inputs: readonly TensorData[], opts: ProverOptions = {}) {
    if (inputs.length !== d.inputs.length) throw new InputError(`op ${d.kind}: ${inputs.length} inputs given, the descriptor has ${d.inputs.length}`);
    inputs.forEach((x, j) => {
      if (x.length !== sizeOf(d.inputs[j].shape)) throw new InputError(`op ${d.kind}: input ${j} has ${x.length} elements, shape [${d.inputs[j].shape}]`);
    });
    this.d = d;
    this.c = compile(d);
    this.op = encodeOp(d);
    this.steps = this.c.E * this.c.S;
    this.inputs = inputs.map(wordsOf);
    this.fault = opts.fault;
    let out: Uint32Array;
    if (opts.output) {
      out = new Uint32Array(wordsOf(opts.output));
      if (out.length !== this.c.E) throw new InputError(`op ${d.kind}: output has ${out.length} elements, expected ${this.c.E}`);
    } else {
      out = new Uint32Array(this.c.E);
      for (let e = 0; e < this.c.E; e++) out[e] = elementValue(this.c, this.inputs, e);
    }
    if (this.fault && !opts.output) out[this.fault.element] = elementValue(this.c, this.inputs, this.fault.element, this.fault);
    this.output = out;
    this.outputTree = tensorTree(d.output.shape, out);
    this.inputTrees = new Array(inputs.length);
    this.inputCommits = inputs.map((x, j) => tensorCommit(d.inputs[j].shape, x));
  }

  /** The Merkle root of the output with elements 0..e-1 written and the rest +0. */
  partialRoot(e: number): Uint8Array {
    const hit = this.rootCache.get(e);
    if (hit) return hit;
    const n = chunkCount(this.c.E);
    if (n === 0) return new Uint8Array(32);
    const full = Math.floor(e / CHUNK_ELEMENTS);
    let width = 1;
    while (width < n) width *= 2;
    let level: Uint8Array[] = new Array(width);
    const leaves = this.outputTree.levels[0];
    for (let i = 0; i < width; i++) level[i] = i >= n ? new Uint8Array(32) : i < full ? leaves[i] : this.zeroLeaf;
    if (full < n && e % CHUNK_ELEMENTS) level[full] = leafHash(this.partialChunk(e));
    while (level.length > 1) {
      const next: Uint8Array[] = new Array(level.length / 2);
      for (let i = 0; i < next.length; i++) next[i] = nodeHash(level[2 * i], level[2 * i + 1]);
      level = next;
    }
    if (this.rootCache.size > 4096) this.rootCache.clear();
    this.rootCache.set(e, level[0]);
    return level[0];
  }

  private partialChunk(e: number): Uint8Array {
    const c = Math.floor(e / CHUNK_ELEMENTS);
    const chunk = new Uint8Array(CHUNK_ELEMENTS * 4);
    const dv = new DataView(chunk.buffer);
    for (let i = c * CHUNK_ELEMENTS; i < e; i++) dv.setUint32((i - c * CHUNK_ELEMENTS) * 4, this.output[i], true);
    return chunk;
  }

  /** The machine state after t steps (0 <= t <= T). */
  state(t: number): MachineState {
    if (!(Number.isSafeInteger(t) && t >= 0 && t <= this.steps)) throw new InputError(`step ${t} out of range 0..${this.steps}`);
    const S = this.c.S;
    const e = Math.floor(t / S), s = t % S;
    if (s === 0) return { outRoot: this.partialRoot(e), pc: 0, regs: new Uint32Array(REGS) };
    // A reveal asks for ascending steps: continue the last run of the same element when it can.
    const last = this.lastRun;
    const from = last && last.e === e && last.slot <= s ? last : undefined;
    const { pc, regs } = runElement(this.c, this.inputs, e, s, this.fault, from);
    this.lastRun = { e, slot: s, pc, regs: regs.slice() };
    return { outRoot: this.partialRoot(e), pc, regs };
  }

  leaf(t: number): Uint8Array {
    return leafOf(this.state(t));
  }

  /** The commitment of the claimed output and its root. */
  get outputCommit(): Uint8Array {
    return this.outputTree.commit;
  }

  /** What this party reveals for the range (lo, hi) of a k-ary game. */
  reveal(lo: number, hi: number, k: number): Uint8Array[] {
    return splitPoints(lo, hi, k).map((p) => this.leaf(p));
  }

  /** As challenger: the part to dispute, given the defender's revealed leaves (first one it disagrees with). */
  choose(lo: number, hi: number, k: number, revealed: readonly Uint8Array[]): number {
    const points = splitPoints(lo, hi, k);
    if (revealed.length !== points.length) throw new InputError(`expected ${points.length} revealed leaves, got ${revealed.length}`);
    for (let i = 0; i < points.length; i++) if (!sameBytes(this.leaf(points[i]), revealed[i])) return i;
    return points.length;
  }

  private inputTree(j: number) {
    return (this.inputTrees[j] ??= tensorTree(this.d.inputs[j].shape, this.inputs[j]));
  }

  /**
   * The judge call's data for step t (from state t to t+1): the pre-state and the openings the
   * contract consumes, in its order: each input element an operand reads (one opening serves
   * consecutive reads of the same chunk of the same input), then, on a write slot, the output
   * element in the pre-state's partial tree.
   */
  judgeArgs(t: number): { pre: MachineState; openings: ElementOpening[] } {
    if (!(Number.isSafeInteger(t) && t >= 0 && t < this.steps)) throw new InputError(`step ${t} out of range 0..${this.steps - 1}`);
    const pre = this.state(t);
    const S = this.c.S;
    const e = Math.floor(t / S), s = t % S;
    const openings: ElementOpening[] = [];
    let lastJ = -1, lastChunk = -1;
    const onOpen = (j: number, i: number) => {
      const chunk = Math.floor(i / CHUNK_ELEMENTS);
      if (j === lastJ && chunk === lastChunk) return;
      lastJ = j;
      lastChunk = chunk;
      openings.push(openElement(this.inputTree(j), this.inputs[j], i));
    };
    const regs = new Uint32Array(pre.regs);
    const read = readerOf(this.inputs, regs, onOpen);
    if (s === S - 1) {
      read(this.c.result(e));
      const written = new Uint32Array(this.output.length);
      written.set(this.output.subarray(0, e));
      openings.push(openElement(tensorTree(this.d.output.shape, written), written, e));
    } else {
      const ins: Instr | null = pre.pc === END ? null : this.c.fetch(e, pre.pc);
      if (ins) execute(pre.pc, regs, ins, read);
    }
    return { pre, openings };
  }
}

/** The part `choice` of (lo, hi) split by `m` revealed points (as OpJudge.move computes it). */
export function partOf(lo: number, hi: number, m: number, choice: number): [number, number] {
  const L = hi - lo;
  return [lo + Math.floor((choice * L) / (m + 1)), choice === m ? hi : lo + Math.floor(((choice + 1) * L) / (m + 1))];
}

/** The k-1 (or hi-lo-1 when fewer) states a reveal of (lo, hi) names: lo + floor(i (hi-lo) / (m+1)). */
export function splitPoints(lo: number, hi: number, k: number): number[] {
  const L = hi - lo;
  const m = Math.min(k, L) - 1;
  const out: number[] = [];
  for (let i = 1; i <= m; i++) out.push(lo + Math.floor((i * L) / (m + 1)));
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
