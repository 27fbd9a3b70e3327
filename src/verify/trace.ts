// The op trace of one training step, with the memory roots that dispute level 2 bisects over
// (docs/verification.md §4). A traced step (engine/trace.ts observer) becomes:
//
//   program   the step's op descriptors and their wiring: which memory slots each op reads and the
//             one it writes. The same for every step of a job (the trace does not depend on data),
//             its Merkle root is the manifest's `program`.
//   memory    slot commitments (tensorCommit, train/commit.ts): slots 0..S-1 the state tensors by
//             name (the optimizer updates write these in place, so the final state slots ARE the
//             post-state), slots S..S+I-1 the step's inputs (data.*, the batch input, the schedule
//             inputs: step-inputs.ts), then slot S+I+j for op j's output (unless op j writes state).
//             memRoot = keccak256(stateRoot ‖ opsRoot): stateRoot over the S state slots, opsRoot
//             over the I + n slots of inputs and op outputs (unwritten = 0), both src/verify/merkle.ts.
//   roots     memRoot before op 0 (derivable on chain from the pre-state preimage and the manifest)
//             and after every op: the leaves of the level-2 game.
//
// Where an op reads a tensor under another shape than its producer wrote (a model wraps a batch
// array), the trace inserts a `reshape` op of its own (marked `view`): every descriptor input has
// the shape of the slot it reads.
import { encodeAbiParameters } from 'viem';
import { InputError, IntegrityError } from '../errors.ts';
import { Tensor } from '../engine/tensor.ts';
import { withObserver, type Attrs, type OpRecord, type TraceValue } from '../engine/trace.ts';
import { stateCommits } from '../train/checkpoint.ts';
import { stateAt, stateTensors, trainStep, type Job } from '../train/train.ts';
import { keccak, MerkleTree } from './merkle.ts';
import { encodeDescriptor, type TensorSpec } from './ops/index.ts';
import { commitOf, stepInputs, type SlotValue } from './step-inputs.ts';

/** Kinds that update a state tensor in place: their output slot is the state tensor's slot. */
export const STATE_WRITERS: ReadonlySet<string> = new Set(['adamwM', 'adamwV', 'adamwW', 'sgdBuf', 'sgdW']);

export interface ProgramOp {
  index: number;
  kind: string;
  attrs: Attrs;
  /** Global slot ids read, in the record's input order. */
  inSlots: number[];
  outSlot: number;
  inputs: TensorSpec[];
  output: TensorSpec;
  /** src/verify/ops encodeOp bytes (VB's op table). */
  descriptor: Uint8Array;
  /** keccak256(abi.encode(uint32 index, uint32[] inSlots, uint32 outSlot, bytes descriptor)). */
  leaf: Uint8Array;
  /** A reshape the trace inserted for a view (no engine record). */
  view?: boolean;
}

export interface Program {
  stateNames: string[];
  inputNames: string[];
  ops: ProgramOp[];
  /** Leaves of the ops subtree: inputs, then one per op. */
  opsSlots: number;
  /** Merkle root over the op leaves (the manifest's `program`). */
  root: Uint8Array;
}

export interface CapturedOp {
  inputs: SlotValue[];
  output: SlotValue;
}

export interface StepTrace {
  step: number;
  program: Program;
  /** Commitments before op 0: the state slots and the input slots. */
  stateCommits: Uint8Array[];
  inputCommits: Uint8Array[];
  /** The commitment each op writes. */
  outCommits: Uint8Array[];
  /** memRoot before op 0 and after each op (memRoots[j] is after op j). */
  mem0: Uint8Array;
  memRoots: Uint8Array[];
  /** The state subtree's root after the last op (the post-state's slots). */
  finalStateRoot: Uint8Array;
  captured: Map<number, CapturedOp>;
  /** The memory before op i·SNAPSHOT_EVERY, for each i (memoryBefore starts from the nearest). */
  snapshots?: Memory[];
}

type Memory = { state: MerkleTree; ops: MerkleTree };
const SNAPSHOT_EVERY = 32;

export function programLeaf(index: number, inSlots: readonly number[], outSlot: number, descriptor: Uint8Array): Uint8Array {
  const enc = encodeAbiParameters(
    [{ type: 'uint32' }, { type: 'uint32[]' }, { type: 'uint32' }, { type: 'bytes' }],
    [index, [...inSlots], outSlot, `0x${Buffer.from(descriptor).toString('hex')}`],
  );
  return keccak(Buffer.from(enc.slice(2), 'hex'));
}

/** The manifest's `program`: keccak256(abi.encode(uint32 S, uint32 I, uint32 nOps, bytes32 opsRoot)) (StepJudge.sol). */
export function programHash(p: Program): Uint8Array {
  const enc = encodeAbiParameters(
    [{ type: 'uint32' }, { type: 'uint32' }, { type: 'uint32' }, { type: 'bytes32' }],
    [p.stateNames.length, p.inputNames.length, p.ops.length, `0x${Buffer.from(p.root).toString('hex')}`],
  );
  return keccak(Buffer.from(enc.slice(2), 'hex'));
}

/**
 * The level-2 game's claim: only the state part of the memory after the last op, so that the judge
 * call opening level 2 needs nothing the caller could choose (StepJudge.sol).
 */
export function finalLeaf(stateRoot: Uint8Array): Uint8Array {
  return keccak(stateRoot, new Uint8Array(32));
}

export function memRoot(stateRoot: Uint8Array, opsRoot: Uint8Array): Uint8Array {
  return keccak(stateRoot, opsRoot);
}

const specOf = (v: SlotValue): TensorSpec => ({ shape: [...v.shape], dtype: v.data instanceof Float32Array ? 'f32' : 'u32' });

function valueOf(v: TraceValue): SlotValue {
  return v instanceof Int32Array ? { shape: [v.length], data: v } : { shape: v.shape, data: v.data };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export interface TraceOptions {
  /** The job's program (from an earlier trace or the manifest): checked op by op; needed for capture. */
  program?: Program;
  /** Op indices whose input and output values to keep. */
  capture?: Iterable<number>;
  /**
   * Called with each op's output commitment before it is written to memory: an adversary's hook
   * (tests), returning another commitment to claim instead.
   */
  tamper?: (index: number, commit: Uint8Array) => Uint8Array;
  /** false: derive the program only (no commitments, no memory roots: cheap). */
  commits?: boolean;
  /**
   * Change op `index`'s output in place before it is committed: everything after it computes from
   * the changed value, as a solver's faulty run would (the adversary tests' fault injection).
   */
  mutate?: (index: number, output: TraceValue) => void;
}

/**
 * Run step `step` (0-based) of `job` under the op observer; the job's state must be the state after
 * `step` steps. Afterwards the job holds the state after step + 1, exactly as trainStep leaves it.
 */
export function traceStep(job: Job, step: number, opts: TraceOptions = {}): StepTrace {
  const names = Object.keys(stateTensors(job)).sort();
  const S = names.length;
  const pre = opts.commits === false ? [] : stateCommits(stateAt(job, step));
  const inputs = stepInputs(job, step);
  const I = inputs.length;
  const inputIndex = new Map(inputs.map((x, i) => [x.name, i]));
  const stateIndex = new Map(names.map((n, i) => [n, i]));
  const given = opts.program;
  if (given && (given.stateNames.join('\n') !== names.join('\n') || given.inputNames.join('\n') !== inputs.map((x) => x.name).join('\n'))) {
    throw new InputError('the program does not belong to this job: its state or input slots differ');
  }
  const withCommits = opts.commits !== false;
  const capture = new Set(opts.capture ?? []);
  if (capture.size > 0 && !given) throw new InputError('capturing op values needs the program (trace a step first)');
  const keepSlots = new Set<number>();
  for (const j of capture) for (const s of given!.ops[j]?.inSlots ?? []) keepSlots.add(s);

  // Where each value lives: by object, then by data array (latest holder first).
  const bySlotObject = new Map<object, { slot: number; shape: readonly number[] }>();
  const byArray = new Map<object, { slot: number; shape: readonly number[] }[]>();
  const stateArrays = new Map<object, number>();
  const kept = new Map<number, SlotValue>();
  const slotShape = new Map<number, readonly number[]>();
  const hold = (v: TraceValue, slot: number) => {
    const val = valueOf(v);
    bySlotObject.set(v, { slot, shape: val.shape });
    const list = byArray.get(val.data) ?? [];
    list.push({ slot, shape: val.shape });
    byArray.set(val.data, list);
    slotShape.set(slot, val.shape);
    if (keepSlots.has(slot)) kept.set(slot, { shape: [...val.shape], data: val.data.slice() });
  };

  const ops: ProgramOp[] = [];
  const outCommits: Uint8Array[] = [];
  const captured = new Map<number, CapturedOp>();
  const emit = (kind: string, attrs: Attrs, inSlots: number[], inSpecs: TensorSpec[], out: SlotValue, outSlot: number | null, view: boolean) => {
    const index = ops.length;
    const slot = outSlot ?? S + I + index;
    const output = specOf(out);
    const expect = given?.ops[index];
    let descriptor: Uint8Array, leaf: Uint8Array;
    if (expect) {
      if (expect.kind !== kind || expect.outSlot !== slot || expect.inSlots.join() !== inSlots.join() || !sameShape(expect.output.shape, output.shape)) {
        throw new IntegrityError(`step ${step}: op ${index} (${kind}) differs from the program's op ${index} (${expect.kind})`, {
          hint: 'the op sequence of a step must not depend on the data',
        });
      }
      ({ descriptor, leaf } = expect);
    } else {
      descriptor = encodeDescriptor(kind, attrs, inSpecs, output);
      leaf = programLeaf(index, inSlots, slot, descriptor);
    }
    ops.push({ index, kind, attrs, inSlots, outSlot: slot, inputs: inSpecs, output, descriptor, leaf, ...(view ? { view } : {}) });
    if (withCommits) {
      let commit = commitOf(out);
      if (opts.tamper) commit = opts.tamper(index, commit);
      outCommits.push(commit);
    }
    if (capture.has(index)) {
      captured.set(index, {
        inputs: inSlots.map((s) => {
          const k = kept.get(s);
          if (!k) throw new IntegrityError(`op ${index}: input slot ${s} was not kept`);
          return k;
        }),
        output: { shape: [...out.shape], data: out.data.slice() },
      });
    }
    return slot;
  };

  const resolve = (v: TraceValue, where: string): { slot: number; spec: TensorSpec } => {
    const hit = bySlotObject.get(v);
    if (hit) return { slot: hit.slot, spec: specOf(valueOf(v)) };
    if (v instanceof Int32Array) throw new IntegrityError(`${where}: an integer input that is neither declared nor an earlier output`);
    const list = byArray.get(v.data);
    if (!list?.length) throw new IntegrityError(`${where}: input [${v.shape}] is neither declared nor an earlier output`);
    for (let i = list.length - 1; i >= 0; i--) if (sameShape(list[i].shape, v.shape)) return { slot: list[i].slot, spec: specOf(valueOf(v)) };
    // A view: an explicit reshape from the latest holder's slot.
    const from = list[list.length - 1];
    const view = new Tensor(v.data, v.shape);
    const slot = emit('reshape', { shape: [...v.shape] }, [from.slot], [{ shape: [...from.shape], dtype: 'f32' }], valueOf(view), null, true);
    hold(v, slot);
    return { slot, spec: specOf(valueOf(v)) };
  };

  const observer = {
    input(name: string, v: TraceValue) {
      if (name.startsWith('state.')) {
        const i = stateIndex.get(name.slice(6));
        if (i === undefined) throw new IntegrityError(`the step declares state ${name}, which the job has not`);
        if (bySlotObject.get(v)?.slot === i) return;
        hold(v, i);
        if (!(v instanceof Int32Array)) stateArrays.set(v.data, i);
        return;
      }
      const i = inputIndex.get(name);
      if (i === undefined) throw new IntegrityError(`the step declares input ${name}, which step-inputs.ts does not know`);
      if (bySlotObject.get(v)?.slot === S + i) return;
      const want = inputs[i].value, got = valueOf(v);
      if (!sameShape(want.shape, got.shape) || !sameBits(want.data, got.data)) {
        throw new IntegrityError(`step ${step}: input ${name} differs from the one step-inputs.ts computes`, {
          hint: 'src/verify/step-inputs.ts restates how train.ts, optim.ts and the models derive it: keep them in step',
        });
      }
      hold(v, S + i);
    },
    op(r: OpRecord) {
      const where = `step ${step}, op ${ops.length} (${r.kind})`;
      const ins = r.inputs.map((v, k) => resolve(v, `${where} input ${k}`));
      opts.mutate?.(ops.length, r.output);
      const out = valueOf(r.output);
      let outSlot: number | null = null;
      if (STATE_WRITERS.has(r.kind)) {
        outSlot = stateArrays.get(out.data) ?? null;
        if (outSlot === null) throw new IntegrityError(`${where}: an optimizer update that writes no state tensor`);
      }
      const slot = emit(r.kind, r.attrs, ins.map((x) => x.slot), ins.map((x) => x.spec), out, outSlot, false);
      hold(r.output, slot);
    },
  };
  withObserver(observer, () => trainStep(job, step));
  if (given && given.ops.length !== ops.length) {
    throw new IntegrityError(`step ${step} has ${ops.length} ops, the program ${given.ops.length}`, { hint: 'the op sequence of a step must not depend on the data' });
  }
  const opsSlots = I + ops.length;
  const program: Program = given ?? {
    stateNames: names,
    inputNames: inputs.map((x) => x.name),
    ops,
    opsSlots,
    root: new MerkleTree(ops.map((o) => o.leaf)).root,
  };
  if (!withCommits) return { step, program, stateCommits: [], inputCommits: [], outCommits, mem0: new Uint8Array(32), memRoots: [], finalStateRoot: new Uint8Array(32), captured };
  const stateC = pre.map((c) => c.commit);
  const inputC = inputs.map((x) => commitOf(x.value, x.name.startsWith('data.')));
  const { mem0, memRoots, finalStateRoot, snapshots } = memoryRoots(program, stateC, inputC, outCommits);
  return { step, program, stateCommits: stateC, inputCommits: inputC, outCommits, mem0, memRoots, finalStateRoot, captured, snapshots };
}

function sameBits(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The two subtrees of a step's memory before op 0. */
export function initialMemory(program: Program, stateC: readonly Uint8Array[], inputC: readonly Uint8Array[]): { state: MerkleTree; ops: MerkleTree } {
  return { state: new MerkleTree(stateC), ops: new MerkleTree(inputC, program.opsSlots) };
}

/** Write op j's commitment into the memory. */
export function writeSlot(program: Program, m: { state: MerkleTree; ops: MerkleTree }, slot: number, commit: Uint8Array): void {
  const S = program.stateNames.length;
  if (slot < S) m.state.set(slot, commit);
  else m.ops.set(slot - S, commit);
}

function memoryRoots(program: Program, stateC: readonly Uint8Array[], inputC: readonly Uint8Array[], outCommits: readonly Uint8Array[]) {
  const m = initialMemory(program, stateC, inputC);
  const mem0 = memRoot(m.state.root, m.ops.root);
  const memRoots: Uint8Array[] = [];
  const snapshots: Memory[] = [];
  program.ops.forEach((op, j) => {
    if (j % SNAPSHOT_EVERY === 0) snapshots.push({ state: m.state.clone(), ops: m.ops.clone() });
    writeSlot(program, m, op.outSlot, outCommits[j]);
    memRoots.push(memRoot(m.state.root, m.ops.root));
  });
  return { mem0, memRoots, finalStateRoot: m.state.root, snapshots };
}

/** The memory just before op j (its two subtrees), to build the level-2 judge's proofs. */
export function memoryBefore(t: StepTrace, j: number): Memory {
  const k = t.snapshots ? Math.min(Math.floor(j / SNAPSHOT_EVERY), t.snapshots.length - 1) : -1;
  const m = k >= 0 ? { state: t.snapshots![k].state.clone(), ops: t.snapshots![k].ops.clone() } : initialMemory(t.program, t.stateCommits, t.inputCommits);
  for (let i = k >= 0 ? k * SNAPSHOT_EVERY : 0; i < j; i++) writeSlot(t.program, m, t.program.ops[i].outSlot, t.outCommits[i]);
  return m;
}
