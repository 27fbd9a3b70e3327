// A tiny assembler for element programs written as templates: named registers (allocated onto
// r1..r15 by live interval; r0 is the result), labels for forward jumps, binary32 constants, and
// template operands that the op fills in per element (X = the element's input; inputs at element
// e or at 0, attrs). Used for the elementwise kinds, the optimizer updates and math.ts's programs.
import { InputError } from '../../errors.ts';
import { f32ToBits } from '../scalar.ts';
import { END, MOP, NO_JUMP, REGS, isCompare } from './machine.ts';

/** A template operand: reg name, constant bits, input j at the element's (broadcast) index, input j at 0, attr i. */
export type TSrc =
  | { t: 'reg'; r: number }
  | { t: 'const'; v: number }
  | { t: 'x'; j: number }
  | { t: 'x0'; j: number }
  | { t: 'attr'; i: number };

export interface TInstr {
  op: number;
  dst: number;
  a: TSrc;
  b?: TSrc;
  jump: number;
}

export interface Template {
  instrs: TInstr[];
  /** Longest path through the program (instructions executed), so S = longestPath + 1. */
  longestPath: number;
}

type Opd = string | TSrc;

/** binary32 constant operand. */
export const K = (x: number): TSrc => ({ t: 'const', v: f32ToBits(Math.fround(x)) });
/** Constant operand from raw bits (NaN, -0). */
export const KB = (bits: number): TSrc => ({ t: 'const', v: bits >>> 0 });
/** Input j at the element's index (broadcast). */
export const X = (j = 0): TSrc => ({ t: 'x', j });
/** Input j at index 0 (a scalar step constant). */
export const X0 = (j: number): TSrc => ({ t: 'x0', j });
/** Attr word i as a constant. */
export const ATTR = (i: number): TSrc => ({ t: 'attr', i });

interface Raw {
  op: number;
  dst?: string;
  a: Opd;
  b?: Opd;
  jump?: string;
}

export class Asm {
  private raw: Raw[] = [];
  private labels = new Map<string, number>();

  /** dst = op(a, b); `jump`: continue there (a label or 'END'). */
  op(op: number, dst: string, a: Opd, b?: Opd, jump?: string): this {
    this.raw.push({ op, dst, a, b, jump });
    return this;
  }

  /** if op(a, b) (a compare): goto label. */
  br(op: number, a: Opd, b: Opd, label: string): this {
    if (!isCompare(op)) throw new InputError(`asm: branch on non-compare opcode ${op}`);
    this.raw.push({ op, a, b, jump: label });
    return this;
  }

  mov(dst: string, a: Opd, jump?: string): this {
    return this.op(MOP.mov, dst, a, undefined, jump);
  }

  /** r0 = a; stop. */
  ret(a: Opd): this {
    return this.mov('r0', a, 'END');
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new InputError(`asm: label ${name} twice`);
    this.labels.set(name, this.raw.length);
    return this;
  }

  build(): Template {
    const n = this.raw.length;
    const target = (l: string, at: number): number => {
      if (l === 'END') return END;
      const t = this.labels.get(l);
      if (t === undefined) throw new InputError(`asm: unknown label ${l}`);
      if (t <= at) throw new InputError(`asm: backward jump to ${l}`);
      return t;
    };
    // Live intervals over static positions (sound for forward jumps: see machine.ts).
    const first = new Map<string, number>(), last = new Map<string, number>();
    const touch = (name: string, at: number) => {
      if (name === 'r0') return;
      if (!first.has(name)) first.set(name, at);
      last.set(name, at);
    };
    this.raw.forEach((r, at) => {
      for (const o of [r.a, r.b]) if (typeof o === 'string') touch(o, at);
      if (r.dst) touch(r.dst, at);
    });
    const names = [...first.keys()].sort((p, q) => first.get(p)! - first.get(q)!);
    const regOf = new Map<string, number>([['r0', 0]]);
    const freeAt = new Array<number>(REGS).fill(-1); // last position using register i
    for (const name of names) {
      let r = 1;
      while (r < REGS && freeAt[r] >= first.get(name)!) r++;
      if (r === REGS) throw new InputError(`asm: more than ${REGS - 1} live registers at ${name}`);
      regOf.set(name, r);
      freeAt[r] = last.get(name)!;
    }
    const src = (o: Opd): TSrc => (typeof o === 'string' ? { t: 'reg', r: regOf.get(o)! } : o);
    const instrs: TInstr[] = this.raw.map((r, at) => ({
      op: r.op,
      dst: r.dst ? regOf.get(r.dst)! : 0,
      a: src(r.a),
      ...(r.b !== undefined ? { b: src(r.b) } : {}),
      jump: r.jump ? target(r.jump, at) : NO_JUMP,
    }));
    // Longest path of the DAG (positions in order; a compare-jump has two successors).
    const longest = new Array<number>(n + 1).fill(0);
    for (let at = n - 1; at >= 0; at--) {
      const ins = instrs[at];
      const next = (p: number) => (p >= n ? 0 : longest[p]);
      let best: number;
      if (ins.jump === NO_JUMP) best = next(at + 1);
      else if (isCompare(ins.op)) best = Math.max(next(at + 1), next(ins.jump));
      else best = next(ins.jump);
      longest[at] = 1 + best;
    }
    return { instrs, longestPath: n ? longest[0] : 0 };
  }
}
