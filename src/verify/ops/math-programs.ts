// math.ts's expf, logf and tanhf as element programs: the literal transcription of the scalar
// program written beside each function, one judged binary32 operation (or compare) per slot.
// Ops that math.ts marks `exact` and leaves unrounded are rounded here like every other op: the
// result is the same (exactness is what the marks claim), and ops-programs.test.ts checks the
// programs against math.ts bit for bit, on special values and random and boundary inputs.
import { PROGRAM_CONSTANTS } from '../../engine/math.ts';
import { OP } from '../scalar.ts';
import { Asm, K, KB, X, type Template } from './asm.ts';

const { add, sub, mul, div, gt, lt, eq, ne, ldexp, logb, significand } = OP;

// The programs' constants are math.ts's own (PROGRAM_CONSTANTS), so the two cannot drift apart
// (a 1-ulp slip in a polynomial coefficient would be invisible to sampling); the literals of
// math.ts's code (89, -104, 2, 0.5, ...) are written below.
const M = PROGRAM_CONSTANTS;
const LOG2E = K(M.LOG2E);
const RINT = K(M.RINT);
const LN2_HI = K(M.LN2_HI);
const LN2_LO = K(M.LN2_LO);
const E0 = K(M.E0), E1 = K(M.E1), E2 = K(M.E2), E3 = K(M.E3), E4 = K(M.E4);
const SQRT2 = K(M.SQRT2);
const TWO24 = K(M.TWO24);
const MIN_NORMAL = K(M.MIN_NORMAL);
const L0 = K(M.L0), L1 = K(M.L1), L2 = K(M.L2);
const TANH_TINY = K(M.TANH_TINY), TANH_POLY_MAX = K(M.TANH_POLY_MAX), TANH_ONE = K(M.TANH_ONE);
const T0 = K(M.T0), T1 = K(M.T1), T2 = K(M.T2), T3 = K(M.T3), T4 = K(M.T4), T5 = K(M.T5);
const ZERO = KB(0), ONE = KB(0x3f800000), TWO = KB(0x40000000), HALF = KB(0x3f000000);
const INF = KB(0x7f800000), NEG_INF = KB(0xff800000), NAN = KB(0x7fc00000);
const C89 = KB(0x42b20000), CM104 = KB(0xc2d00000), CM24 = KB(0xc1c00000);

/** expCore(x) of math.ts: leaves p, k and (with `pl`) pl in the named registers. */
function expCore(A: Asm, x: string | ReturnType<typeof X>, pl: boolean): void {
  A.op(mul, 't', x, LOG2E)
    .op(add, 'k1', 't', RINT).op(sub, 'k', 'k1', RINT)
    .op(mul, 'kh', 'k', LN2_HI).op(sub, 'hi', x, 'kh')
    .op(mul, 'lo', 'k', LN2_LO)
    .op(sub, 'r', 'hi', 'lo')
    .op(mul, 'r2', 'r', 'r')
    .op(mul, 'a1', E1, 'r').op(add, 'a', 'a1', E0)
    .op(mul, 'b1', E3, 'r').op(add, 'b', 'b1', E2)
    .op(mul, 'q1', E4, 'r2').op(add, 'q2', 'q1', 'b').op(mul, 'q3', 'q2', 'r2').op(add, 'q', 'q3', 'a')
    .op(mul, 'v1', 'r2', 'q').op(sub, 'v', 'v1', 'lo')
    .op(add, 's', ONE, 'hi').op(sub, 's1', 's', ONE).op(sub, 'e', 'hi', 's1')
    .op(add, 'g', 'e', 'v')
    .op(add, 'p', 's', 'g');
  if (pl) A.op(sub, 'ps', 'p', 's').op(sub, 'pl', 'g', 'ps');
}

/** expf: NaN -> NaN; x >= 89 -> +Inf; x < -104 -> +0; else ldexp(expCore(x)). */
export function expProgram(): Template {
  const A = new Asm();
  A.br(lt, X(), C89, 'finite')
    .br(gt, X(), ZERO, 'inf')
    .ret(NAN)
    .label('inf').ret(INF)
    .label('finite').br(lt, X(), CM104, 'zero');
  expCore(A, X(), false);
  A.op(ldexp, 'r0', 'p', 'k', 'END')
    .label('zero').ret(ZERO);
  return A.build();
}

/** logf (math.ts): frexp is logb + significand; k stays a binary32 integer (exact adds). */
export function logProgram(): Template {
  const A = new Asm();
  A.br(gt, X(), ZERO, 'positive')
    .br(eq, X(), ZERO, 'zero')
    .ret(NAN)
    .label('zero').ret(NEG_INF)
    .label('positive').br(eq, X(), INF, 'inf')
    .br(lt, X(), MIN_NORMAL, 'subnormal')
    .op(logb, 'k', X())
    .op(significand, 'm', X(), undefined, 'frexped')
    .label('subnormal').op(mul, 'xs', X(), TWO24)
    .op(logb, 'k0', 'xs')
    .op(add, 'k', 'k0', CM24)
    .op(significand, 'm', 'xs')
    .label('frexped').br(lt, 'm', SQRT2, 'reduced') // math.ts: if m >= SQRT2 (m in [1, 2), never NaN)
    .op(mul, 'm', 'm', HALF)
    .op(add, 'k', 'k', ONE)
    .label('reduced').op(sub, 'f', 'm', ONE)
    .op(add, 'f2', TWO, 'f').op(div, 's', 'f', 'f2')
    .op(mul, 'z', 's', 's')
    .op(mul, 'R1', L2, 'z').op(add, 'R2', 'R1', L1).op(mul, 'R3', 'R2', 'z').op(add, 'R4', 'R3', L0).op(mul, 'R', 'z', 'R4')
    .op(mul, 'ff', 'f', 'f').op(mul, 'h', HALF, 'ff')
    .op(add, 'hR', 'h', 'R').op(mul, 'shR', 's', 'hR').op(sub, 'c', 'shR', 'h')
    .op(mul, 'kh', 'k', LN2_HI)
    .op(add, 'A', 'kh', 'f').op(sub, 'A1', 'A', 'kh').op(sub, 'eA', 'f', 'A1')
    .op(mul, 'kl', 'k', LN2_LO).op(add, 'B1', 'kl', 'c').op(add, 'B', 'B1', 'eA')
    .op(add, 'r0', 'A', 'B', 'END')
    .label('inf').ret(INF);
  return A.build();
}

/** tanhf (math.ts): |x| < 2^-12 -> x; |x| < 0.625 odd polynomial; NaN; |x| >= 9.125 -> ±1; else via expCore(2|x|). */
export function tanhProgram(): Template {
  const A = new Asm();
  A.br(lt, X(), ZERO, 'negx')
    .mov('a', X(), 'abs')
    .label('negx').op(sub, 'a', ZERO, X())
    .label('abs').br(lt, 'a', TANH_TINY, 'tiny')
    .br(lt, 'a', TANH_POLY_MAX, 'poly')
    .br(ne, X(), X(), 'nan')
    .br(lt, 'a', TANH_ONE, 'expBranch')
    .mov('y', ONE, 'sign')
    .label('expBranch').op(mul, 'a2', TWO, 'a');
  expCore(A, 'a2', true);
  A.op(ldexp, 'Fh', 'p', 'k').op(ldexp, 'Fl', 'pl', 'k')
    .op(add, 'd', 'Fh', ONE).op(sub, 'dF', 'd', 'Fh').op(sub, 'de', ONE, 'dF')
    .op(div, 'q', TWO, 'd')
    .op(add, 'deF', 'de', 'Fl').op(div, 'c', 'deF', 'd')
    .op(sub, 'w', ONE, 'q').op(sub, 'w1', ONE, 'w').op(sub, 'we', 'w1', 'q')
    .op(mul, 'qc', 'q', 'c').op(add, 'weqc', 'we', 'qc').op(add, 'y', 'w', 'weqc')
    .label('sign').br(lt, X(), ZERO, 'negy')
    .ret('y')
    .label('negy').op(sub, 'r0', ZERO, 'y', 'END')
    .label('poly').op(mul, 'u', X(), X())
    .op(mul, 'p1', T5, 'u').op(add, 'p2', 'p1', T4)
    .op(mul, 'p3', 'p2', 'u').op(add, 'p4', 'p3', T3)
    .op(mul, 'p5', 'p4', 'u').op(add, 'p6', 'p5', T2)
    .op(mul, 'p7', 'p6', 'u').op(add, 'p8', 'p7', T1)
    .op(mul, 'p9', 'p8', 'u').op(add, 'P', 'p9', T0)
    .op(mul, 'xu', X(), 'u').op(mul, 'xuP', 'xu', 'P').op(add, 'r0', X(), 'xuP', 'END')
    .label('tiny').ret(X())
    .label('nan').ret(NAN);
  return A.build();
}
