// The element machine: how one output element of an op is computed, step by judged step, and how
// its states are hashed into the leaves of the op dispute (contracts/verify/IOpJudge.sol).
//
// State: the partial output root (elements 0..e-1 written), a program counter and 16 registers of
// 32-bit words, all +0 at the start of an element. A slot executes one instruction:
//   - a binary32 op of src/verify/scalar.ts (dst = op(a, b)), or a comparison with a jump target
//     (pc = result ? jump : pc + 1, no register written);
//   - MOV (dst = a), the integer compares IEQ / INE (1.0 or +0, or a branch like the float compares)
//     and UNIFORM (dst = the Philox uniform of src/engine/rng.ts at a counter, keyed by a and b);
//   - a plain op or MOV with a jump continues at the jump (RET = MOV r0, a; jump END).
// Operands are registers, constants, or input elements (opened against their commitments); pc at or
// past the program's end (END after a RET) idles. The last slot of an element writes its result
// (r0, or for movement ops an input element or a constant) into the partial output root and
// clears pc and registers. Every program is a forward-jumping DAG, so S = longest path + 1 slots
// bound every element's run.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { philox4x32 } from '../../engine/rng.ts';
import { OP, evalOp } from '../scalar.ts';

export const REGS = 16;
/** pc after a RET: past every program. */
export const END = 0xffffffff;
export const NO_JUMP = -1;

/** Machine opcodes beyond scalar.ts's binary32 ones (never renumber: OpJudge.sol uses them). */
export const MOP = { mov: 64, ieq: 65, ine: 66, uniform: 67 } as const;

const ONE = 0x3f800000;
const COMPARES: ReadonlySet<number> = new Set([OP.gt, OP.lt, OP.le, OP.ge, OP.eq, OP.ne, MOP.ieq, MOP.ine]);

export function isCompare(op: number): boolean {
  return COMPARES.has(op);
}

/** An operand. `in`: element i of input j. `ind`: element (w * mul + add) of input j, w = element p of input k (< limit). */
export type Src =
  | { t: 'reg'; r: number }
  | { t: 'const'; v: number }
  | { t: 'in'; j: number; i: number }
  | { t: 'ind'; j: number; k: number; p: number; mul: number; add: number; limit: number };

export interface Instr {
  op: number;
  dst: number;
  a: Src;
  b?: Src;
  /** UNIFORM: the counter (the stream index of src/engine/rng.ts). */
  counter?: number;
  /** Jump target (NO_JUMP: none; END: stop). */
  jump: number;
}

export const reg = (r: number): Src => ({ t: 'reg', r });
export const cst = (v: number): Src => ({ t: 'const', v: v >>> 0 });
export const inp = (j: number, i: number): Src => ({ t: 'in', j, i });

export interface MachineState {
  outRoot: Uint8Array;
  pc: number;
  regs: Uint32Array;
}

/** The words an instruction's operands read, and where they come from. */
export type Reader = (s: Src) => number;

/** Uniform binary32 in [0, 1) at stream index `counter` of the Philox key (k0, k1): rng.ts uniforms. */
export function uniformWord(k0: number, k1: number, counter: number): number {
  const block = Math.floor(counter / 4);
  const out = philox4x32([block >>> 0, Math.floor(block / 4294967296) >>> 0, 0, 0], [k0 >>> 0, k1 >>> 0]);
  const u = Math.fround((out[counter & 3] >>> 8) * 5.9604644775390625e-8);
  const f = new Float32Array([u]);
  return new Uint32Array(f.buffer)[0];
}

/** Executes one instruction on (pc, regs) in place. */
export function execute(pc: number, regs: Uint32Array, ins: Instr, read: Reader): number {
  const a = read(ins.a);
  const b = ins.b ? read(ins.b) : 0;
  let r: number;
  switch (ins.op) {
    case MOP.mov: r = a; break;
    case MOP.ieq: r = a >>> 0 === b >>> 0 ? ONE : 0; break;
    case MOP.ine: r = a >>> 0 !== b >>> 0 ? ONE : 0; break;
    case MOP.uniform: r = uniformWord(a, b, ins.counter ?? 0); break;
    default: r = evalOp(ins.op, a, b);
  }
  if (ins.jump !== NO_JUMP && isCompare(ins.op)) return r !== 0 ? ins.jump : pc + 1;
  regs[ins.dst] = r >>> 0;
  return ins.jump !== NO_JUMP ? ins.jump : pc + 1;
}

/** keccak256(abi.encode(bytes32 outRoot, uint32 pc, uint32[16] regs)): the game's leaf. */
export function leafOf(s: MachineState): Uint8Array {
  const buf = new Uint8Array(32 * (2 + REGS));
  const dv = new DataView(buf.buffer);
  buf.set(s.outRoot, 0);
  dv.setUint32(60, s.pc >>> 0, false);
  for (let i = 0; i < REGS; i++) dv.setUint32(64 + 32 * i + 28, s.regs[i] >>> 0, false);
  return keccak_256(buf);
}
