// The WebAssembly source of the elementwise kernels, as WAT text: binary and unary ops (exp, log,
// tanh included), reductions, the optimizer updates and the finiteness scan. build.ts compiles it
// with wabt into vec.wasm.ts (committed base64) and writes vec.wat for reading.
//
// Determinism: each lane runs exactly the scalar program of its op (ops.ts, math.ts, optim.ts
// via backend.ts), with non-relaxed f32x4 ops: add, sub, mul, div, sqrt, min, max are IEEE
// binary32 with round-to-nearest-even on every CPU, never fused. Branches of a scalar program
// become lane selects: every branch is computed and each lane keeps the one its program takes.
// Reductions keep one accumulator per output element and visit its inputs in ascending order;
// SIMD lanes only ever hold different output elements. NaN outputs are written as the canonical
// quiet NaN 0x7fc00000 (x86 and arm make different NaN bits).
//
// Conventions: pointers are byte addresses in the shared memory; ranges are [u0, u1) in elements
// (or rows), so a thread pool can hand each thread a slice; any length works (the last partial
// vector is loaded and stored lane by lane) and operands need only 4-byte alignment.
import { PROGRAM_CONSTANTS as C } from '../../math.ts';
import { GELU_C1, GELU_C2 } from '../backend.ts';

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const hex = (u: number): string => `0x${(u >>> 0).toString(16).padStart(8, '0')}`;
/** A v128 with the binary32 value x in every lane (given by its bits, so no decimal parsing). */
function k4(x: number): string {
  F32[0] = x;
  const h = hex(U32[0]);
  return `(v128.const i32x4 ${h} ${h} ${h} ${h})`;
}
const i4 = (n: number): string => `(v128.const i32x4 ${n} ${n} ${n} ${n})`;
const CANON_NAN = i4(0x7fc00000);
const ZERO = i4(0);

const get = (n: string): string => `(local.get $${n})`;
const set = (n: string, e: string): string => `(local.set $${n} ${e})`;
const f = (op: string, ...a: string[]): string => `(f32x4.${op} ${a.join(' ')})`;
const add = (a: string, b: string): string => f('add', a, b);
const sub = (a: string, b: string): string => f('sub', a, b);
const mul = (a: string, b: string): string => f('mul', a, b);
const div = (a: string, b: string): string => f('div', a, b);
/** Lanes of `yes` where `mask` is all ones, else of `no`. */
const sel = (mask: string, yes: string, no: string): string => `(v128.bitselect ${yes} ${no} ${mask})`;

/** A function's locals, collected while its body is generated. */
interface Fn {
  v(name: string): string; // declare a v128 local, return its name
  i(name: string): string; // declare an i32 local
  f(name: string): string; // declare an f32 local
  label(base: string): string;
  decl(): string;
}

function fn(): Fn {
  const locals = new Map<string, string>();
  let labels = 0;
  const declare = (type: string) => (name: string): string => {
    const had = locals.get(name);
    if (had && had !== type) throw new Error(`local ${name} declared as ${had} and ${type}`);
    locals.set(name, type);
    return name;
  };
  return {
    v: declare('v128'),
    i: declare('i32'),
    f: declare('f32'),
    label: (base) => `$${base}${labels++}`,
    decl: () => [...locals].map(([n, t]) => `(local $${n} ${t})`).join(' '),
  };
}

/** `expr` with NaN lanes replaced by the canonical NaN; uses the v128 local `tmp`. */
function canon(F: Fn, tmp: string, expr: string): string {
  F.v(tmp);
  return `(local.set $${tmp} ${expr}) (v128.bitselect ${CANON_NAN} (local.get $${tmp}) (f32x4.ne (local.get $${tmp}) (local.get $${tmp})))`;
}

/**
 * A lane-wise loop over bytes [from, to) of every stream: input streams are loaded into $x0..,
 * `body` maps their v128 values to code plus output values, stored (NaN made canonical) to the
 * output streams. Stream addresses are i32 expressions (bases; the loop adds the offset $i).
 * The last partial vector is loaded and stored lane by lane; its missing input lanes are +0.
 */
function lanewise(F: Fn, o: {
  ins: string[];
  outs: string[];
  from: string;
  to: string;
  body: (x: string[]) => { code: string; outs: string[] };
  canonical?: boolean;
}): string {
  const i = F.i('i'), end = F.i('end'), vend = F.i('vend');
  const xs = o.ins.map((_, k) => F.v(`x${k}`));
  const ys = o.outs.map((_, k) => F.v(`y${k}`));
  const cs = o.outs.map((_, k) => F.v(`cs${k}`));
  const at = (base: string, off = 0): string => (off ? `(i32.add (i32.add ${base} (local.get $${i})) (i32.const ${off}))` : `(i32.add ${base} (local.get $${i}))`);
  const compute = (): string => {
    const b = o.body(xs.map(get));
    return `${b.code}
        ${b.outs.map((e, k) => set(ys[k], e)).join(' ')}`;
  };
  const value = (k: number): string => (o.canonical === false ? get(ys[k]) : canon(F, 'cn', get(ys[k])));
  const done = F.label('vd'), loop = F.label('vl');
  const laneIf = (l: number, code: string): string => (l === 0 ? code : `(if (i32.lt_u (i32.add (local.get $${i}) (i32.const ${4 * l})) (local.get $${end})) (then ${code}))`);
  return `
      ${set(i, o.from)}
      ${set(end, o.to)}
      ${set(vend, `(i32.sub (local.get $${end}) (i32.and (i32.sub (local.get $${end}) (local.get $${i})) (i32.const 15)))`)}
      (block ${done} (loop ${loop}
        (br_if ${done} (i32.ge_u (local.get $${i}) (local.get $${vend})))
        ${o.ins.map((p, k) => set(xs[k], `(v128.load ${at(p)})`)).join(' ')}${compute()}
        ${o.outs.map((p, k) => `(v128.store ${at(p)} ${value(k)})`).join(' ')}
        ${set(i, `(i32.add (local.get $${i}) (i32.const 16))`)}
        (br ${loop})))
      (if (i32.lt_u (local.get $${i}) (local.get $${end})) (then
        ${o.ins.map((p, k) => `${set(xs[k], ZERO)} ${[0, 1, 2, 3].map((l) => laneIf(l, set(xs[k], `(f32x4.replace_lane ${l} ${get(xs[k])} (f32.load ${at(p, 4 * l)}))`))).join(' ')}`).join('\n        ')}${compute()}
        ${o.outs.map((p, k) => `${set(cs[k], value(k))} ${[0, 1, 2, 3].map((l) => laneIf(l, `(f32.store ${at(p, 4 * l)} (f32x4.extract_lane ${l} ${get(cs[k])}))`)).join(' ')}`).join('\n        ')}))`;
}

// ---------------------------------------------------------------------------------------------
// Scalar programs as lane-wise v128 code (math.ts has the scalar originals, op for op).

/**
 * expCore(x) of math.ts on each lane: sets $<p>p, $<p>k (k as binary32), $<p>pl. Valid lanes
 * are -104 <= x < 89; others compute garbage that the caller's selects discard (no traps).
 */
function expCore(F: Fn, x: string, p: string): string {
  const v = (n: string): string => F.v(`${p}${n}`);
  const [t, k, hi, lo, r, r2, a, b, q, vv, s, e, g, pp, pl] = ['t', 'k', 'hi', 'lo', 'r', 'r2', 'a', 'b', 'q', 'v', 's', 'e', 'g', 'p', 'pl'].map(v);
  return `
        ${set(t, mul(x, k4(C.LOG2E)))}
        ${set(k, sub(add(get(t), k4(C.RINT)), k4(C.RINT)))}
        ${set(hi, sub(x, mul(get(k), k4(C.LN2_HI))))}
        ${set(lo, mul(get(k), k4(C.LN2_LO)))}
        ${set(r, sub(get(hi), get(lo)))}
        ${set(r2, mul(get(r), get(r)))}
        ${set(a, add(mul(k4(C.E1), get(r)), k4(C.E0)))}
        ${set(b, add(mul(k4(C.E3), get(r)), k4(C.E2)))}
        ${set(q, add(mul(add(mul(k4(C.E4), get(r2)), get(b)), get(r2)), get(a)))}
        ${set(vv, sub(mul(get(r2), get(q)), get(lo)))}
        ${set(s, add(k4(1), get(hi)))}
        ${set(e, sub(get(hi), sub(get(s), k4(1))))}
        ${set(g, add(get(e), get(vv)))}
        ${set(pp, add(get(s), get(g)))}
        ${set(pl, sub(get(g), sub(get(pp), get(s))))}`;
}

/** 2^k as binary32 lanes for integer lanes -126 <= k <= 127 (exact: a normal power of two). */
const pow2 = (kInt: string): string => `(i32x4.shl (i32x4.add ${kInt} ${i4(127)}) (i32.const 23))`;

/**
 * expf(x) (math.ts) into local `out`. ldexp(p, k) is p·2^k1·2^k2 with k1 = clamp(k, -125, 127):
 * p·2^k1 is exact (p in [0.70, 1.42] stays normal), so the second product rounds once, exactly
 * as the scalar program's single rounding of p·2^k (subnormal results and overflow included).
 */
function expV(F: Fn, x: string, out: string, p = 'ex'): string {
  const ki = F.v(`${p}ki`), ka = F.v(`${p}k1`), y = F.v(`${p}y`);
  // When every lane is below -104 (a masked attention score) each one is +0: skip the rest.
  return `
        (if (i32x4.all_true ${f('lt', x, k4(-104))})
          (then ${set(out, ZERO)})
          (else${expCore(F, x, p)}
        ${set(ki, `(i32x4.trunc_sat_f32x4_s ${get(`${p}k`)})`)}
        ${set(ka, `(i32x4.max_s (i32x4.min_s ${get(ki)} ${i4(127)}) ${i4(-125)})`)}
        ${set(y, mul(mul(get(`${p}p`), pow2(get(ka))), pow2(`(i32x4.sub ${get(ki)} ${get(ka)})`)))}
        ${set(y, sel(f('lt', x, k4(-104)), ZERO, get(y)))}
        ${set(out, sel(`(v128.not ${f('lt', x, k4(89))})`, sel(f('gt', x, ZERO), k4(Infinity), CANON_NAN), get(y)))}))`;
}

/** logf(x) (math.ts) into local `out`. */
function logV(F: Fn, x: string, out: string): string {
  const v = (n: string): string => F.v(`lg${n}`);
  const [sb, xs, bits, kk, m, big, kf, ff, s, z, R, h, c, kh, A, eA, B, res] =
    ['sub', 'xs', 'bits', 'k', 'm', 'big', 'kf', 'f', 's', 'z', 'R', 'h', 'c', 'kh', 'A', 'eA', 'B', 'res'].map(v);
  return `
        ${set(sb, f('lt', x, k4(C.MIN_NORMAL)))}
        ${set(xs, sel(get(sb), mul(x, k4(C.TWO24)), x))}
        ${set(bits, get(xs))}
        ${set(kk, `(i32x4.add (i32x4.sub (i32x4.shr_s ${get(bits)} (i32.const 23)) ${i4(127)}) (v128.and ${get(sb)} ${i4(-24)}))`)}
        ${set(m, `(v128.or (v128.and ${get(bits)} ${i4(0x7fffff)}) ${i4(0x3f800000)})`)}
        ${set(big, f('ge', get(m), k4(C.SQRT2)))}
        ${set(m, sel(get(big), mul(get(m), k4(0.5)), get(m)))}
        ${set(kk, `(i32x4.sub ${get(kk)} ${get(big)})`)}
        ${set(kf, `(f32x4.convert_i32x4_s ${get(kk)})`)}
        ${set(ff, sub(get(m), k4(1)))}
        ${set(s, div(get(ff), add(k4(2), get(ff))))}
        ${set(z, mul(get(s), get(s)))}
        ${set(R, mul(get(z), add(mul(add(mul(k4(C.L2), get(z)), k4(C.L1)), get(z)), k4(C.L0))))}
        ${set(h, mul(k4(0.5), mul(get(ff), get(ff))))}
        ${set(c, sub(mul(get(s), add(get(h), get(R))), get(h)))}
        ${set(kh, mul(get(kf), k4(C.LN2_HI)))}
        ${set(A, add(get(kh), get(ff)))}
        ${set(eA, sub(get(ff), sub(get(A), get(kh))))}
        ${set(B, add(add(mul(get(kf), k4(C.LN2_LO)), get(c)), get(eA)))}
        ${set(res, add(get(A), get(B)))}
        ${set(res, sel(f('eq', x, k4(Infinity)), k4(Infinity), get(res)))}
        ${set(out, sel(`(v128.not ${f('gt', x, ZERO)})`, sel(f('eq', x, ZERO), k4(-Infinity), CANON_NAN), get(res)))}`;
}

/**
 * tanhf(x) (math.ts) into local `out`. Every branch is computed and selected per lane, except that
 * when all four lanes take the polynomial branch (|x| < 0.625) only it runs: the selects would pick
 * it in every lane anyway.
 */
function tanhV(F: Fn, x: string, out: string): string {
  const v = (n: string): string => F.v(`th${n}`);
  const [a, a2, ki, sc, Fh, Fl, d, de, q, c, w, we, y, u, pp, poly] =
    ['a', 'a2', 'ki', 'sc', 'Fh', 'Fl', 'd', 'de', 'q', 'c', 'w', 'we', 'y', 'u', 'pp', 'poly'].map(v);
  const polyCode = `
        ${set(u, mul(x, x))}
        ${set(pp, add(mul(k4(C.T5), get(u)), k4(C.T4)))}
        ${set(pp, add(mul(get(pp), get(u)), k4(C.T3)))}
        ${set(pp, add(mul(get(pp), get(u)), k4(C.T2)))}
        ${set(pp, add(mul(get(pp), get(u)), k4(C.T1)))}
        ${set(pp, add(mul(get(pp), get(u)), k4(C.T0)))}
        ${set(poly, add(x, mul(mul(x, get(u)), get(pp))))}`;
  return `
        ${set(a, `(f32x4.abs ${x})`)}
        (if (i32x4.all_true ${f('lt', get(a), k4(C.TANH_POLY_MAX))})
          (then${polyCode}
            ${set(out, sel(f('lt', get(a), k4(C.TANH_TINY)), x, get(poly)))})
          (else
        ${set(a2, add(get(a), get(a)))}${expCore(F, get(a2), 'tx')}
        ${set(ki, `(i32x4.trunc_sat_f32x4_s ${get('txk')})`)}
        ${set(sc, pow2(get(ki)))}
        ${set(Fh, mul(get('txp'), get(sc)))}
        ${set(Fl, mul(get('txpl'), get(sc)))}
        ${set(d, add(get(Fh), k4(1)))}
        ${set(de, sub(k4(1), sub(get(d), get(Fh))))}
        ${set(q, div(k4(2), get(d)))}
        ${set(c, div(add(get(de), get(Fl)), get(d)))}
        ${set(w, sub(k4(1), get(q)))}
        ${set(we, sub(sub(k4(1), get(w)), get(q)))}
        ${set(y, add(get(w), add(get(we), mul(get(q), get(c)))))}
        ${set(y, sel(f('lt', get(a), k4(C.TANH_ONE)), get(y), k4(1)))}
        ${set(y, sel(f('lt', x, ZERO), sub(ZERO, get(y)), get(y)))}${polyCode}
        ${set(y, sel(f('lt', get(a), k4(C.TANH_POLY_MAX)), get(poly), get(y)))}
        ${set(y, sel(f('lt', get(a), k4(C.TANH_TINY)), x, get(y)))}
        ${set(out, sel(f('ne', x, x), CANON_NAN, get(y)))}))`;
}

// ---------------------------------------------------------------------------------------------
// Kernels

const BINARY = {
  add: (a: string, b: string) => add(a, b),
  sub: (a: string, b: string) => sub(a, b),
  mul: (a: string, b: string) => mul(a, b),
  div: (a: string, b: string) => div(a, b),
  max: (a: string, b: string) => f('max', a, b),
  gt: (a: string, b: string) => `(v128.and ${f('gt', a, b)} ${k4(1)})`,
} as const;
export type BinaryKernelOp = keyof typeof BINARY;
export const BINARY_OPS = Object.keys(BINARY) as BinaryKernelOp[];

/** The five operand patterns of the binary kernels (see vec.ts). */
function binaryKernels(op: BinaryKernelOp): string {
  const OP = BINARY[op];
  const out: string[] = [];
  // vv: out[i] = a[i] op b[i]
  {
    const F = fn();
    const body = lanewise(F, { ins: [get('a'), get('b')], outs: [get('o')], from: '(i32.shl (local.get $u0) (i32.const 2))', to: '(i32.shl (local.get $u1) (i32.const 2))', body: ([x, y]) => ({ code: '', outs: [OP(x, y)] }) });
    out.push(`(func (export "${op}_vv") (param $a i32) (param $b i32) (param $o i32) (param $u0 i32) (param $u1 i32) ${F.decl()}${body})`);
  }
  // vs: out[i] = a[i] op s;  sv: out[i] = s op b[i]
  for (const [name, first] of [['vs', true], ['sv', false]] as const) {
    const F = fn();
    F.v('s');
    const body = lanewise(F, { ins: [get('a')], outs: [get('o')], from: '(i32.shl (local.get $u0) (i32.const 2))', to: '(i32.shl (local.get $u1) (i32.const 2))', body: ([x]) => ({ code: '', outs: [first ? OP(x, get('s')) : OP(get('s'), x)] }) });
    out.push(`(func (export "${op}_${name}") (param $a i32) (param $ss f32) (param $o i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $s (f32x4.splat (local.get $ss)))${body})`);
  }
  // row: rows r in [u0, u1) of $mid elements: out[r*mid + m] = a[r*mid + m] op b[m]
  {
    const F = fn();
    F.i('r'); F.i('base');
    const body = lanewise(F, { ins: ['(i32.add (local.get $a) (local.get $base))', get('b')], outs: ['(i32.add (local.get $o) (local.get $base))'], from: '(i32.const 0)', to: '(i32.shl (local.get $mid) (i32.const 2))', body: ([x, y]) => ({ code: '', outs: [OP(x, y)] }) });
    const done = F.label('rd'), loop = F.label('rl');
    out.push(`(func (export "${op}_row") (param $a i32) (param $b i32) (param $o i32) (param $mid i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $r (local.get $u0))
      (block ${done} (loop ${loop}
        (br_if ${done} (i32.ge_u (local.get $r) (local.get $u1)))
        (local.set $base (i32.shl (i32.mul (local.get $r) (local.get $mid)) (i32.const 2)))${body}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br ${loop}))))`);
  }
  // col: rows r in [u0, u1) of $inner elements: out[r*inner + j] = a[r*inner + j] op b[r % mid]
  {
    const F = fn();
    F.i('r'); F.i('base'); F.v('s');
    const body = lanewise(F, { ins: ['(i32.add (local.get $a) (local.get $base))'], outs: ['(i32.add (local.get $o) (local.get $base))'], from: '(i32.const 0)', to: '(i32.shl (local.get $inner) (i32.const 2))', body: ([x]) => ({ code: '', outs: [OP(x, get('s'))] }) });
    const done = F.label('rd'), loop = F.label('rl');
    out.push(`(func (export "${op}_col") (param $a i32) (param $b i32) (param $o i32) (param $inner i32) (param $mid i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $r (local.get $u0))
      (block ${done} (loop ${loop}
        (br_if ${done} (i32.ge_u (local.get $r) (local.get $u1)))
        (local.set $base (i32.shl (i32.mul (local.get $r) (local.get $inner)) (i32.const 2)))
        (local.set $s (v128.load32_splat (i32.add (local.get $b) (i32.shl (i32.rem_u (local.get $r) (local.get $mid)) (i32.const 2)))))${body}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br ${loop}))))`);
  }
  return out.join('\n\n  ');
}

const UNARY: Record<string, (F: Fn, x: string, out: string) => string> = {
  neg: (_F, x, o) => set(o, `(f32x4.neg ${x})`),
  sqrt: (_F, x, o) => set(o, `(f32x4.sqrt ${x})`),
  exp: (F, x, o) => expV(F, x, o),
  log: (F, x, o) => logV(F, x, o),
  tanh: (F, x, o) => tanhV(F, x, o),
};
export const UNARY_OPS = Object.keys(UNARY);

/** GELU forward values of lane vector x (backend.ts GELU_C1 has the program): sets $gl<name>. */
function geluForward(F: Fn, x: string): string {
  const v = (n: string): string => F.v(`gl${n}`);
  const [x2, x3, t, u, vv, th, h, a] = ['x2', 'x3', 't', 'u', 'v', 'th', 'h', 'a'].map(v);
  return `
        ${set(x2, mul(x, x))}
        ${set(x3, mul(get(x2), x))}
        ${set(t, mul(get(x3), k4(GELU_C1)))}
        ${set(u, add(x, get(t)))}
        ${set(vv, mul(get(u), k4(GELU_C2)))}${tanhV(F, get(vv), th)}
        ${set(h, mul(x, k4(0.5)))}
        ${set(a, add(get(th), k4(1)))}`;
}

/**
 * gelu: y; gelu_t: y and th = tanhf(v) (the backward's input, so it does not recompute tanh).
 * gelu_bwd[_t][_acc]: the backward, from x (recomputing th) or x and th, onto prev or not.
 */
function geluKernels(): string {
  const F = fn();
  const fwd = lanewise(F, { ins: [get('x')], outs: [get('o')], ...elems, body: ([x]) => ({ code: geluForward(F, x), outs: [mul(get('glh'), get('gla'))] }) });
  const out = [`(func (export "gelu") (param $x i32) (param $o i32) (param $u0 i32) (param $u1 i32) ${F.decl()}${fwd})`];
  const FT = fn();
  const fwdT = lanewise(FT, { ins: [get('x')], outs: [get('o'), get('t')], ...elems, body: ([x]) => ({ code: geluForward(FT, x), outs: [mul(get('glh'), get('gla')), get('glth')] }) });
  out.push(`(func (export "gelu_t") (param $x i32) (param $o i32) (param $t i32) (param $u0 i32) (param $u1 i32) ${FT.decl()}${fwdT})`);
  for (const withT of [false, true]) {
    for (const acc of [false, true]) {
      const B = fn();
      for (const n of ['gh', 'ga', 'gu', 'gx3', 'gx2', 'acc', 'glx2', 'glh', 'gla', 'glth']) B.v(n);
      const ins = [get('x'), get('g'), ...(withT ? [get('t')] : []), ...(acc ? [get('p')] : [])];
      const body = lanewise(B, {
        ins, outs: [get('o')], ...elems,
        body: (xs) => {
          const [x, g] = xs;
          const t = withT ? xs[2] : '';
          const p = acc ? xs[withT ? 3 : 2] : '';
          // With th given, only the forward values the backward reads: x2, h, a (no tanh).
          const fwdValues = withT ? `
        ${set('glx2', mul(x, x))}
        ${set('glth', t)}
        ${set('glh', mul(x, k4(0.5)))}
        ${set('gla', add(get('glth'), k4(1)))}` : geluForward(B, x);
          return {
            code: `${fwdValues}
        ${set('gh', mul(g, get('gla')))}
        ${set('ga', mul(g, get('glh')))}
        ${set('gu', mul(mul(get('ga'), sub(k4(1), mul(get('glth'), get('glth')))), k4(GELU_C2)))}
        ${set('acc', acc ? add(p, get('gu')) : get('gu'))}
        ${set('gx3', mul(get('gu'), k4(GELU_C1)))}
        ${set('acc', add(get('acc'), mul(get('gx3'), get('glx2'))))}
        ${set('gx2', mul(get('gx3'), x))}
        ${set('acc', add(get('acc'), mul(get('gx2'), x)))}
        ${set('acc', add(get('acc'), mul(get('gx2'), x)))}`,
            outs: [add(get('acc'), mul(get('gh'), k4(0.5)))],
          };
        },
      });
      const name = `gelu_bwd${withT ? '_t' : ''}${acc ? '_acc' : ''}`;
      out.push(`(func (export "${name}") (param $x i32) (param $g i32)${withT ? ' (param $t i32)' : ''}${acc ? ' (param $p i32)' : ''} (param $o i32) (param $u0 i32) (param $u1 i32) ${B.decl()}${body})`);
    }
  }
  return out.join('\n\n  ');
}

/** A loop over rows r in [u0, u1): `body` runs with $r set (uses locals $r). */
function rowLoop(F: Fn, body: string): string {
  F.i('r');
  const done = F.label('rd'), loop = F.label('rl');
  return `
      (local.set $r (local.get $u0))
      (block ${done} (loop ${loop}
        (br_if ${done} (i32.ge_u (local.get $r) (local.get $u1)))${body}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br ${loop})))`;
}

/**
 * Softmax, the parts that are not a plain sum or division (backend.ts SoftmaxOptions has the
 * program): softmax_exp writes e = expf(w - max(w)) per row (flags: 1 scale, 2 mask); the row sums
 * s and y = e / s are sum_rows and div_col. The maximum is taken over lanes, then across them:
 * maximum is exact and its result does not depend on the order (NaN wins, +0 over -0).
 * Backward: softmax_t writes t = -((g*y)/s) per row (its row sums are gs), softmax_gx the
 * gradient ((g/s) + gs)*e (flags: 1 times scale, 4 added onto prev).
 */
function softmaxKernels(): string {
  const F = fn();
  for (const n of ['r', 'xb', 'eb', 'mb', 'j', 'L4']) F.i(n);
  for (const n of ['w', 'mx', 'sc', 'mv']) F.v(n);
  F.f('m'); F.f('ws');
  const [dv, lv, ds, ls] = ['dv', 'lv', 'ds', 'ls'].map((b) => F.label(b));
  const pass2 = lanewise(F, { ins: [get('eb')], outs: [get('eb')], from: '(i32.const 0)', to: '(i32.shl (local.get $L) (i32.const 2))', body: ([x]) => ({ code: expV(F, sub(x, get('mv')), 'sme'), outs: [get('sme')] }) });
  F.v('sme');
  const exp = `(func (export "softmax_exp") (param $x i32) (param $mask i32) (param $e i32) (param $L i32) (param $maskRows i32) (param $scs f32) (param $flags i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $sc (f32x4.splat (local.get $scs)))
      (local.set $L4 (i32.and (local.get $L) (i32.const -4)))${rowLoop(F, `
        (local.set $xb (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $L)) (i32.const 2))))
        (local.set $eb (i32.add (local.get $e) (i32.shl (i32.mul (local.get $r) (local.get $L)) (i32.const 2))))
        (local.set $mb (i32.add (local.get $mask) (i32.shl (i32.mul (i32.rem_u (local.get $r) (local.get $maskRows)) (local.get $L)) (i32.const 2))))
        (local.set $mx ${k4(-Infinity)})
        (local.set $j (i32.const 0))
        (block ${dv} (loop ${lv}
          (br_if ${dv} (i32.ge_u (local.get $j) (local.get $L4)))
          (local.set $w (v128.load (i32.add (local.get $xb) (i32.shl (local.get $j) (i32.const 2)))))
          (if (i32.and (local.get $flags) (i32.const 1)) (then (local.set $w ${mul(get('w'), get('sc'))})))
          (if (i32.and (local.get $flags) (i32.const 2)) (then (local.set $w ${add(get('w'), '(v128.load (i32.add (local.get $mb) (i32.shl (local.get $j) (i32.const 2))))')})))
          (v128.store (i32.add (local.get $eb) (i32.shl (local.get $j) (i32.const 2))) (local.get $w))
          (local.set $mx ${f('max', get('mx'), get('w'))})
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br ${lv})))
        (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $mx)) (f32x4.extract_lane 1 (local.get $mx)))
                               (f32.max (f32x4.extract_lane 2 (local.get $mx)) (f32x4.extract_lane 3 (local.get $mx)))))
        (block ${ds} (loop ${ls}
          (br_if ${ds} (i32.ge_u (local.get $j) (local.get $L)))
          (local.set $ws (f32.load (i32.add (local.get $xb) (i32.shl (local.get $j) (i32.const 2)))))
          (if (i32.and (local.get $flags) (i32.const 1)) (then (local.set $ws (f32.mul (local.get $ws) (local.get $scs)))))
          (if (i32.and (local.get $flags) (i32.const 2)) (then (local.set $ws (f32.add (local.get $ws) (f32.load (i32.add (local.get $mb) (i32.shl (local.get $j) (i32.const 2))))))))
          (f32.store (i32.add (local.get $eb) (i32.shl (local.get $j) (i32.const 2))) (local.get $ws))
          (local.set $m (f32.max (local.get $m) (local.get $ws)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br ${ls})))
        (local.set $mv (f32x4.splat (local.get $m)))${pass2}`)})`;

  const T = fn();
  T.i('r'); T.i('rb'); T.v('sr');
  const tBody = lanewise(T, {
    ins: ['(i32.add (local.get $g) (local.get $rb))', '(i32.add (local.get $y) (local.get $rb))'], outs: ['(i32.add (local.get $t) (local.get $rb))'],
    from: '(i32.const 0)', to: '(i32.shl (local.get $L) (i32.const 2))',
    body: ([g, y]) => ({ code: '', outs: [`(f32x4.neg ${div(mul(g, y), get('sr'))})`] }),
  });
  const tk = `(func (export "softmax_t") (param $g i32) (param $y i32) (param $s i32) (param $t i32) (param $L i32) (param $u0 i32) (param $u1 i32) ${T.decl()}${rowLoop(T, `
        (local.set $rb (i32.shl (i32.mul (local.get $r) (local.get $L)) (i32.const 2)))
        (local.set $sr (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $r) (i32.const 2)))))${tBody}`)})`;

  const G = fn();
  G.i('r'); G.i('rb'); G.v('sr'); G.v('gsr'); G.v('sc'); G.v('gx');
  const gBody = lanewise(G, {
    ins: ['(i32.add (local.get $g) (local.get $rb))', '(i32.add (local.get $e) (local.get $rb))', '(i32.add (local.get $p) (local.get $rb))'], outs: ['(i32.add (local.get $o) (local.get $rb))'],
    from: '(i32.const 0)', to: '(i32.shl (local.get $L) (i32.const 2))',
    body: ([g, e, p]) => ({
      code: `
        ${set('gx', mul(add(div(g, get('sr')), get('gsr')), e))}
        (if (i32.and (local.get $flags) (i32.const 1)) (then ${set('gx', mul(get('gx'), get('sc')))}))
        (if (i32.and (local.get $flags) (i32.const 4)) (then ${set('gx', add(p, get('gx')))}))`,
      outs: [get('gx')],
    }),
  });
  const gk = `(func (export "softmax_gx") (param $g i32) (param $e i32) (param $s i32) (param $gs i32) (param $p i32) (param $o i32) (param $L i32) (param $scs f32) (param $flags i32) (param $u0 i32) (param $u1 i32) ${G.decl()}
      (local.set $sc (f32x4.splat (local.get $scs)))${rowLoop(G, `
        (local.set $rb (i32.shl (i32.mul (local.get $r) (local.get $L)) (i32.const 2)))
        (local.set $sr (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $gsr (v128.load32_splat (i32.add (local.get $gs) (i32.shl (local.get $r) (i32.const 2)))))${gBody}`)})`;
  return [exp, tk, gk].join('\n\n  ');
}

/** A per-row scalar: element r of the f32 array at `base`. */
const rowScalar = (base: string): string => `(f32.load (i32.add (local.get $${base}) (i32.shl (local.get $r) (i32.const 2))))`;
const canon1 = (e: string, tmp: string): string => `(local.set $${tmp} ${e}) (select (f32.reinterpret_i32 (i32.const 0x7fc00000)) (local.get $${tmp}) (f32.ne (local.get $${tmp}) (local.get $${tmp})))`;
const rowBase = '(i32.shl (i32.mul (local.get $r) (local.get $D)) (i32.const 2))';
const inRow = (p: string): string => `(i32.add (local.get $${p}) (local.get $rb))`;

/**
 * Layer norm (backend.ts LayerNormOptions has the program), the parts that are not row or column
 * sums (those are sum_rows, sum_axis, sum_axis_mul):
 *   ln_a:  mu = s1 / D;  xc = x - mu;  sq = xc*xc
 *   ln_b:  sd = sqrt(s2 / D + eps);  y = f32((xc / sd)*gamma) + beta
 *   lnb_a: xh = (x - mu) / sd;  t = -(((g*gamma)*xh) / sd)           (row sums of t: gsd)
 *   lnb_b: g5 = (gsd / (sd*2)) / D;  g3 = ((g*gamma)/sd + g5*xc) + g5*xc;  out = prev + g3 or g3;  t = -g3
 */
function layerNormKernels(): string {
  const A = fn();
  A.i('r'); A.i('rb'); A.f('m'); A.f('t1'); A.v('mv'); A.v('c');
  const aBody = lanewise(A, {
    ins: [inRow('x')], outs: [inRow('xc'), inRow('sq')], from: '(i32.const 0)', to: '(i32.shl (local.get $D) (i32.const 2))',
    body: ([x]) => ({ code: set('c', sub(x, get('mv'))), outs: [get('c'), mul(get('c'), get('c'))] }),
  });
  const a = `(func (export "ln_a") (param $x i32) (param $s1 i32) (param $mu i32) (param $xc i32) (param $sq i32) (param $D i32) (param $Df f32) (param $u0 i32) (param $u1 i32) ${A.decl()}${rowLoop(A, `
        (local.set $rb ${rowBase})
        (local.set $m (f32.div ${rowScalar('s1')} (local.get $Df)))
        (f32.store (i32.add (local.get $mu) (i32.shl (local.get $r) (i32.const 2))) ${canon1('(local.get $m)', 't1')})
        (local.set $mv (f32x4.splat (local.get $m)))${aBody}`)})`;

  const B = fn();
  B.i('r'); B.i('rb'); B.f('d'); B.f('t1'); B.v('dv');
  const bBody = lanewise(B, {
    ins: [inRow('xc'), get('gamma'), get('beta')], outs: [inRow('y')], from: '(i32.const 0)', to: '(i32.shl (local.get $D) (i32.const 2))',
    body: ([xc, ga, be]) => ({ code: '', outs: [add(mul(div(xc, get('dv')), ga), be)] }),
  });
  const b = `(func (export "ln_b") (param $xc i32) (param $s2 i32) (param $gamma i32) (param $beta i32) (param $y i32) (param $sd i32) (param $D i32) (param $Df f32) (param $eps f32) (param $u0 i32) (param $u1 i32) ${B.decl()}${rowLoop(B, `
        (local.set $rb ${rowBase})
        (local.set $d (f32.sqrt (f32.add (f32.div ${rowScalar('s2')} (local.get $Df)) (local.get $eps))))
        (f32.store (i32.add (local.get $sd) (i32.shl (local.get $r) (i32.const 2))) ${canon1('(local.get $d)', 't1')})
        (local.set $dv (f32x4.splat (local.get $d)))${bBody}`)})`;

  const C = fn();
  C.i('r'); C.i('rb'); C.v('mv'); C.v('dv'); C.v('h');
  const cBody = lanewise(C, {
    ins: [inRow('x'), inRow('g'), get('gamma')], outs: [inRow('t'), inRow('xh')], from: '(i32.const 0)', to: '(i32.shl (local.get $D) (i32.const 2))',
    body: ([x, g, ga]) => ({ code: set('h', div(sub(x, get('mv')), get('dv'))), outs: [`(f32x4.neg ${div(mul(mul(g, ga), get('h')), get('dv'))})`, get('h')] }),
  });
  const c = `(func (export "lnb_a") (param $x i32) (param $g i32) (param $gamma i32) (param $mu i32) (param $sd i32) (param $t i32) (param $xh i32) (param $D i32) (param $u0 i32) (param $u1 i32) ${C.decl()}${rowLoop(C, `
        (local.set $rb ${rowBase})
        (local.set $mv (v128.load32_splat (i32.add (local.get $mu) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $dv (v128.load32_splat (i32.add (local.get $sd) (i32.shl (local.get $r) (i32.const 2)))))${cBody}`)})`;

  const E = fn();
  E.i('r'); E.i('rb'); E.f('d'); E.v('mv'); E.v('dv'); E.v('g5'); E.v('tt'); E.v('g3');
  const eBody = lanewise(E, {
    ins: [inRow('x'), inRow('g'), get('gamma'), inRow('p')], outs: [inRow('o'), inRow('t')], from: '(i32.const 0)', to: '(i32.shl (local.get $D) (i32.const 2))',
    body: ([x, g, ga, p]) => ({
      code: `
        ${set('tt', mul(get('g5'), sub(x, get('mv'))))}
        ${set('g3', add(add(div(mul(g, ga), get('dv')), get('tt')), get('tt')))}`,
      outs: [`(if (result v128) (local.get $hasPrev) (then ${add(p, get('g3'))}) (else ${get('g3')}))`, `(f32x4.neg ${get('g3')})`],
    }),
  });
  const e = `(func (export "lnb_b") (param $x i32) (param $g i32) (param $gamma i32) (param $mu i32) (param $sd i32) (param $gsd i32) (param $p i32) (param $o i32) (param $t i32) (param $D i32) (param $Df f32) (param $hasPrev i32) (param $u0 i32) (param $u1 i32) ${E.decl()}${rowLoop(E, `
        (local.set $rb ${rowBase})
        (local.set $d ${rowScalar('sd')})
        (local.set $mv (v128.load32_splat (i32.add (local.get $mu) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $dv (f32x4.splat (local.get $d)))
        (local.set $g5 (f32x4.splat (f32.div (f32.div ${rowScalar('gsd')} (f32.mul (local.get $d) (f32.const 2))) (local.get $Df))))${eBody}`)})`;
  return [a, b, c, e].join('\n\n  ');
}

function unaryKernel(op: string): string {
  const F = fn();
  F.v('r');
  const body = lanewise(F, { ins: [get('x')], outs: [get('o')], from: '(i32.shl (local.get $u0) (i32.const 2))', to: '(i32.shl (local.get $u1) (i32.const 2))', body: ([x]) => ({ code: UNARY[op](F, x, 'r'), outs: [get('r')] }) });
  return `(func (export "${op}") (param $x i32) (param $o i32) (param $u0 i32) (param $u1 i32) ${F.decl()}${body})`;
}

/** Byte indices for i8x16.shuffle choosing 32-bit lanes (0-3 from the first operand, 4-7 the second). */
function lanes(...ls: number[]): string {
  return ls.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]).join(' ');
}

/**
 * Row reductions (the reduced axis is the last): out[r] = acc over l ascending of x[r*L + l],
 * acc from +0 (sum: acc + x) or -Inf (max). Four rows at a time: each lane is one row, fed by a
 * 4x4 transpose of four row segments, so every row keeps its own sequential accumulation.
 */
function reduceRowsKernel(kind: 'sum' | 'max'): string {
  const F = fn();
  const OP = kind === 'sum' ? add : (a: string, b: string) => f('max', a, b);
  const sop = kind === 'sum' ? 'f32.add' : 'f32.max';
  const init = kind === 'sum' ? ZERO : k4(-Infinity);
  for (const n of ['r', 'l', 'rb', 'p0', 'p1', 'p2', 'p3', 'L4']) F.i(n);
  for (const n of ['acc', 'v0', 'v1', 'v2', 'v3', 't0', 't1', 't2', 't3', 'cn']) F.v(n);
  F.f('sa');
  const lab = (b: string) => F.label(b);
  const [d4, l4, dl, ll, dt, lt, dr, lr, ds, ls] = ['d4', 'l4', 'dl', 'll', 'dt', 'lt', 'dr', 'lr', 'ds', 'ls'].map(lab);
  const shuffle = (l: string, a: string, b: string): string => `(i8x16.shuffle ${l} (local.get $${a}) (local.get $${b}))`;
  return `(func (export "${kind}_rows") (param $x i32) (param $o i32) (param $L i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $rb (i32.shl (local.get $L) (i32.const 2)))
      (local.set $L4 (i32.and (local.get $L) (i32.const -4)))
      (local.set $r (local.get $u0))
      (block ${d4} (loop ${l4}
        (br_if ${d4} (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $u1)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
        (local.set $acc ${init})
        (local.set $l (i32.const 0))
        (block ${dl} (loop ${ll}
          (br_if ${dl} (i32.ge_u (local.get $l) (local.get $L4)))
          (local.set $v0 (v128.load (local.get $p0)))
          (local.set $v1 (v128.load (local.get $p1)))
          (local.set $v2 (v128.load (local.get $p2)))
          (local.set $v3 (v128.load (local.get $p3)))
          (local.set $t0 ${shuffle(lanes(0, 4, 1, 5), 'v0', 'v1')})
          (local.set $t1 ${shuffle(lanes(2, 6, 3, 7), 'v0', 'v1')})
          (local.set $t2 ${shuffle(lanes(0, 4, 1, 5), 'v2', 'v3')})
          (local.set $t3 ${shuffle(lanes(2, 6, 3, 7), 'v2', 'v3')})
          (local.set $acc ${OP(get('acc'), shuffle(lanes(0, 1, 4, 5), 't0', 't2'))})
          (local.set $acc ${OP(get('acc'), shuffle(lanes(2, 3, 6, 7), 't0', 't2'))})
          (local.set $acc ${OP(get('acc'), shuffle(lanes(0, 1, 4, 5), 't1', 't3'))})
          (local.set $acc ${OP(get('acc'), shuffle(lanes(2, 3, 6, 7), 't1', 't3'))})
          (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
          (local.set $l (i32.add (local.get $l) (i32.const 4)))
          (br ${ll})))
        (block ${dt} (loop ${lt}
          (br_if ${dt} (i32.ge_u (local.get $l) (local.get $L)))
          (local.set $acc ${OP(get('acc'), `(f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $p0))) (f32.load (local.get $p1))) (f32.load (local.get $p2))) (f32.load (local.get $p3)))`)})
          (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
          (local.set $l (i32.add (local.get $l) (i32.const 1)))
          (br ${lt})))
        (v128.store (i32.add (local.get $o) (i32.shl (local.get $r) (i32.const 2))) ${canon(F, 'cn', get('acc'))})
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br ${l4})))
      (block ${dr} (loop ${lr}
        (br_if ${dr} (i32.ge_u (local.get $r) (local.get $u1)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $sa (f32x4.extract_lane 0 ${init}))
        (local.set $l (i32.const 0))
        (block ${ds} (loop ${ls}
          (br_if ${ds} (i32.ge_u (local.get $l) (local.get $L)))
          (local.set $sa (${sop} (local.get $sa) (f32.load (local.get $p0))))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
          (local.set $l (i32.add (local.get $l) (i32.const 1)))
          (br ${ls})))
        (f32.store (i32.add (local.get $o) (i32.shl (local.get $r) (i32.const 2)))
          (select (f32.reinterpret_i32 (i32.const 0x7fc00000)) (local.get $sa) (f32.ne (local.get $sa) (local.get $sa))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br ${lr}))))`;
}

/**
 * Reductions over a middle axis: out[o*inner + i] = acc over l ascending of x[(o*L + l)*inner + i],
 * for output elements e in [u0, u1) of outer*inner (acc as in reduceRowsKernel). Sixteen, then
 * four, then one output element at a time, each lane its own accumulator.
 */
function reduceAxisKernel(kind: 'sum' | 'max', product = false): string {
  const F = fn();
  // product: the reduced values are f32(x*y) of two same-shaped arrays (a gradient's column sums of g*xh)
  const ld = (off: number): string => (product ? mul(`(v128.load offset=${off} (local.get $src))`, `(v128.load offset=${off} (i32.add (local.get $src) (local.get $yd)))`) : `(v128.load offset=${off} (local.get $src))`);
  const ld1 = product ? '(f32.mul (f32.load (local.get $src)) (f32.load (i32.add (local.get $src) (local.get $yd))))' : '(f32.load (local.get $src))';
  F.i('yd');
  const OP = kind === 'sum' ? add : (a: string, b: string) => f('max', a, b);
  const sop = kind === 'sum' ? 'f32.add' : 'f32.max';
  const init = kind === 'sum' ? ZERO : k4(-Infinity);
  for (const n of ['e', 'oo', 'ii', 'iend', 'p', 'l', 'stride', 'src']) F.i(n);
  for (const n of ['a0', 'a1', 'a2', 'a3', 'cn']) F.v(n);
  F.f('sa');
  const lab = (b: string) => F.label(b);
  const [de, le, d16, l16, dk16, lk16, d4, l4, dk4, lk4, d1, l1, dk1, lk1] = ['de', 'le', 'd16', 'l16', 'dk16', 'lk16', 'd4', 'l4', 'dk4', 'lk4', 'd1', 'l1', 'dk1', 'lk1'].map(lab);
  const canonStore = (addr: string, v: string): string => `(v128.store ${addr} ${canon(F, 'cn', get(v))})`;
  // $src: address of x[(o*L + 0)*inner + i] for the current o, i
  const srcAt = `(i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.mul (local.get $oo) (local.get $L)) (local.get $inner)) (local.get $ii)) (i32.const 2)))`;
  const dst = `(i32.add (local.get $o) (i32.shl (local.get $e) (i32.const 2)))`;
  const step = (n: number): string => `
          (local.set $ii (i32.add (local.get $ii) (i32.const ${n})))
          (local.set $e (i32.add (local.get $e) (i32.const ${n})))`;
  return `(func (export "${kind}_axis${product ? '_mul' : ''}") (param $x i32)${product ? ' (param $y i32)' : ''} (param $o i32) (param $L i32) (param $inner i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      ${product ? '(local.set $yd (i32.sub (local.get $y) (local.get $x)))' : ''}
      (local.set $stride (i32.shl (local.get $inner) (i32.const 2)))
      (local.set $e (local.get $u0))
      (block ${de} (loop ${le}
        (br_if ${de} (i32.ge_u (local.get $e) (local.get $u1)))
        (local.set $oo (i32.div_u (local.get $e) (local.get $inner)))
        (local.set $ii (i32.sub (local.get $e) (i32.mul (local.get $oo) (local.get $inner))))
        (local.set $iend (i32.add (local.get $ii) (i32.sub (local.get $u1) (local.get $e))))
        (if (i32.gt_u (local.get $iend) (local.get $inner)) (then (local.set $iend (local.get $inner))))
        (block ${d16} (loop ${l16}
          (br_if ${d16} (i32.gt_u (i32.add (local.get $ii) (i32.const 16)) (local.get $iend)))
          (local.set $src ${srcAt})
          (local.set $a0 ${init}) (local.set $a1 ${init}) (local.set $a2 ${init}) (local.set $a3 ${init})
          (local.set $l (i32.const 0))
          (block ${dk16} (loop ${lk16}
            (br_if ${dk16} (i32.ge_u (local.get $l) (local.get $L)))
            (local.set $a0 ${OP(get('a0'), ld(0))})
            (local.set $a1 ${OP(get('a1'), ld(16))})
            (local.set $a2 ${OP(get('a2'), ld(32))})
            (local.set $a3 ${OP(get('a3'), ld(48))})
            (local.set $src (i32.add (local.get $src) (local.get $stride)))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br ${lk16})))
          ${canonStore(dst, 'a0')}
          ${canonStore(`(i32.add ${dst} (i32.const 16))`, 'a1')}
          ${canonStore(`(i32.add ${dst} (i32.const 32))`, 'a2')}
          ${canonStore(`(i32.add ${dst} (i32.const 48))`, 'a3')}${step(16)}
          (br ${l16})))
        (block ${d4} (loop ${l4}
          (br_if ${d4} (i32.gt_u (i32.add (local.get $ii) (i32.const 4)) (local.get $iend)))
          (local.set $src ${srcAt})
          (local.set $a0 ${init})
          (local.set $l (i32.const 0))
          (block ${dk4} (loop ${lk4}
            (br_if ${dk4} (i32.ge_u (local.get $l) (local.get $L)))
            (local.set $a0 ${OP(get('a0'), ld(0))})
            (local.set $src (i32.add (local.get $src) (local.get $stride)))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br ${lk4})))
          ${canonStore(dst, 'a0')}${step(4)}
          (br ${l4})))
        (block ${d1} (loop ${l1}
          (br_if ${d1} (i32.ge_u (local.get $ii) (local.get $iend)))
          (local.set $src ${srcAt})
          (local.set $sa (f32x4.extract_lane 0 ${init}))
          (local.set $l (i32.const 0))
          (block ${dk1} (loop ${lk1}
            (br_if ${dk1} (i32.ge_u (local.get $l) (local.get $L)))
            (local.set $sa (${sop} (local.get $sa) ${ld1}))
            (local.set $src (i32.add (local.get $src) (local.get $stride)))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br ${lk1})))
          (f32.store ${dst} (select (f32.reinterpret_i32 (i32.const 0x7fc00000)) (local.get $sa) (f32.ne (local.get $sa) (local.get $sa))))${step(1)}
          (br ${l1})))
        (br ${le}))))`;
}

/**
 * A strided gather (permute): rows u in [u0, u1) of n3*inner output elements; row u is (i0, i1, i2)
 * in [n0, n1, n2] and element (i3, j) of it reads x at element i0*s0 + i1*s1 + i2*s2 + i3*s3 + j*is.
 * Only copies: bits move unchanged.
 */
function gatherStridedKernel(): string {
  const F = fn();
  for (const n of ['r', 't', 'base', 'src', 'dst', 'a', 'end', 'vend', 'isb']) F.i(n);
  const [da, la, d1, l1, d2, l2, d3, l3] = ['da', 'la', 'd1', 'l1', 'd2', 'l2', 'd3', 'l3'].map((b) => F.label(b));
  return `(func (export "gather_strided") (param $x i32) (param $o i32) (param $n1 i32) (param $n2 i32) (param $n3 i32)
      (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32) (param $inner i32) (param $is i32) (param $u0 i32) (param $u1 i32) ${F.decl()}
      (local.set $isb (i32.shl (local.get $is) (i32.const 2)))${rowLoop(F, `
        (local.set $t (local.get $r))
        (local.set $base (i32.mul (i32.rem_u (local.get $t) (local.get $n2)) (local.get $s2)))
        (local.set $t (i32.div_u (local.get $t) (local.get $n2)))
        (local.set $base (i32.add (local.get $base) (i32.mul (i32.rem_u (local.get $t) (local.get $n1)) (local.get $s1))))
        (local.set $base (i32.add (local.get $base) (i32.mul (i32.div_u (local.get $t) (local.get $n1)) (local.get $s0))))
        (local.set $base (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2))))
        (local.set $dst (i32.add (local.get $o) (i32.shl (i32.mul (i32.mul (local.get $r) (local.get $n3)) (local.get $inner)) (i32.const 2))))
        (local.set $a (i32.const 0))
        (block ${da} (loop ${la}
          (br_if ${da} (i32.ge_u (local.get $a) (local.get $n3)))
          (local.set $src (i32.add (local.get $base) (i32.shl (i32.mul (local.get $a) (local.get $s3)) (i32.const 2))))
          (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $inner) (i32.const 2))))
          (if (i32.eq (local.get $is) (i32.const 1))
            (then
              (local.set $vend (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $dst)) (i32.const 15))))
              (block ${d1} (loop ${l1}
                (br_if ${d1} (i32.ge_u (local.get $dst) (local.get $vend)))
                (v128.store (local.get $dst) (v128.load (local.get $src)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $src (i32.add (local.get $src) (i32.const 16)))
                (br ${l1})))
              (block ${d2} (loop ${l2}
                (br_if ${d2} (i32.ge_u (local.get $dst) (local.get $end)))
                (i32.store (local.get $dst) (i32.load (local.get $src)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $src (i32.add (local.get $src) (i32.const 4)))
                (br ${l2}))))
            (else
              (block ${d3} (loop ${l3}
                (br_if ${d3} (i32.ge_u (local.get $dst) (local.get $end)))
                (i32.store (local.get $dst) (i32.load (local.get $src)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $src (i32.add (local.get $src) (local.get $isb)))
                (br ${l3})))))
          (local.set $a (i32.add (local.get $a) (i32.const 1)))
          (br ${la})))`)})`;
}

/**
 * Embedding rows: gather_rows copies table row idx[p] to out row p for p in [u0, u1);
 * scatter_add_rows adds g's row p onto out row idx[p] for every p ascending, for the out rows in
 * [u0, u1) only (so a thread owns whole output rows, each summed in ascending p).
 */
function rowKernels(): string {
  const G = fn();
  for (const n of ['r', 'src', 'dst']) G.i(n);
  const copy = lanewise(G, { ins: [get('src')], outs: [get('dst')], from: '(i32.const 0)', to: '(i32.shl (local.get $row) (i32.const 2))', canonical: false, body: ([x]) => ({ code: '', outs: [x] }) });
  const gather = `(func (export "gather_rows") (param $t i32) (param $idx i32) (param $o i32) (param $row i32) (param $u0 i32) (param $u1 i32) ${G.decl()}${rowLoop(G, `
        (local.set $src (i32.add (local.get $t) (i32.shl (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $r) (i32.const 2)))) (local.get $row)) (i32.const 2))))
        (local.set $dst (i32.add (local.get $o) (i32.shl (i32.mul (local.get $r) (local.get $row)) (i32.const 2))))${copy}`)})`;
  const S = fn();
  for (const n of ['p', 'id', 'src', 'dst']) S.i(n);
  const addRow = lanewise(S, { ins: [get('dst'), get('src')], outs: [get('dst')], from: '(i32.const 0)', to: '(i32.shl (local.get $row) (i32.const 2))', body: ([a, b]) => ({ code: '', outs: [add(a, b)] }) });
  const [d, l] = ['d', 'l'].map((b) => S.label(b));
  const scatter = `(func (export "scatter_add_rows") (param $g i32) (param $idx i32) (param $o i32) (param $row i32) (param $n i32) (param $u0 i32) (param $u1 i32) ${S.decl()}
      (local.set $p (i32.const 0))
      (block ${d} (loop ${l}
        (br_if ${d} (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $id (i32.load (i32.add (local.get $idx) (i32.shl (local.get $p) (i32.const 2)))))
        (if (i32.and (i32.ge_u (local.get $id) (local.get $u0)) (i32.lt_u (local.get $id) (local.get $u1))) (then
          (local.set $src (i32.add (local.get $g) (i32.shl (i32.mul (local.get $p) (local.get $row)) (i32.const 2))))
          (local.set $dst (i32.add (local.get $o) (i32.shl (i32.mul (local.get $id) (local.get $row)) (i32.const 2))))${addRow}))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br ${l}))))`;
  return gather + '\n\n  ' + scatter;
}

/**
 * im2col (backend.ts Im2colGeometry): rows r in [u0, u1) of the [C*kh*kw, N*OH*OW] output;
 * col2im: channels c in [u0, u1), each adding its rows (c, ky, kx) ascending, columns ascending,
 * into its own plane of the output, so every pixel keeps the program's order.
 */
function im2colKernels(): string {
  const geoParams = '(param $N i32) (param $C i32) (param $H i32) (param $W i32) (param $kh i32) (param $kw i32) (param $st i32) (param $pad i32) (param $OH i32) (param $OW i32)';
  // The column loop over (n, oy, ox) for one row (c, ky, kx), with `inner` run at each valid pixel
  // ($src: the pixel's byte address in the plane, $col: the column's byte offset, both advanced here).
  const cols = (F: Fn, onValid: string, onPadRow: string): string => {
    for (const n of ['n', 'oy', 'ox', 'iy', 'ix', 'plane', 'rowBase']) F.i(n);
    const [dn, ln, dy, ly, dx, lx] = ['dn', 'ln', 'dy', 'ly', 'dx', 'lx'].map((b) => F.label(b));
    return `
        (local.set $n (i32.const 0))
        (block ${dn} (loop ${ln}
          (br_if ${dn} (i32.ge_u (local.get $n) (local.get $N)))
          (local.set $plane (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $H)) (local.get $W)))
          (local.set $oy (i32.const 0))
          (block ${dy} (loop ${ly}
            (br_if ${dy} (i32.ge_u (local.get $oy) (local.get $OH)))
            (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $st)) (local.get $ky)) (local.get $pad)))
            (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $H)))
              (then ${onPadRow}
                (local.set $col (i32.add (local.get $col) (i32.shl (local.get $OW) (i32.const 2)))))
              (else
                (local.set $rowBase (i32.add (local.get $plane) (i32.mul (local.get $iy) (local.get $W))))
                (local.set $ox (i32.const 0))
                (block ${dx} (loop ${lx}
                  (br_if ${dx} (i32.ge_u (local.get $ox) (local.get $OW)))
                  (local.set $ix (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $st)) (local.get $kx)) (local.get $pad)))
                  (if (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $W)))
                    (then ${onValid}))
                  (local.set $col (i32.add (local.get $col) (i32.const 4)))
                  (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                  (br ${lx})))))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br ${ly})))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br ${ln})))`;
  };
  const pixel = '(i32.shl (i32.add (local.get $rowBase) (local.get $ix)) (i32.const 2))';
  const A = fn();
  for (const n of ['r', 'c', 'ky', 'kx', 'col', 'P', 'end']) A.i(n);
  // im2col: zero the row first, then copy the valid pixels.
  const fwdCols = cols(A, `(f32.store (i32.add (local.get $o) (local.get $col)) (f32.load (i32.add (local.get $x) ${pixel})))`, '');
  const [dz, lz] = ['dz', 'lz'].map((b) => A.label(b));
  const im2col = `(func (export "im2col_rows") (param $x i32) (param $o i32) ${geoParams} (param $u0 i32) (param $u1 i32) ${A.decl()}
      (local.set $P (i32.mul (i32.mul (local.get $N) (local.get $OH)) (local.get $OW)))${rowLoop(A, `
        (local.set $c (i32.div_u (local.get $r) (i32.mul (local.get $kh) (local.get $kw))))
        (local.set $ky (i32.rem_u (i32.div_u (local.get $r) (local.get $kw)) (local.get $kh)))
        (local.set $kx (i32.rem_u (local.get $r) (local.get $kw)))
        (local.set $col (i32.shl (i32.mul (local.get $r) (local.get $P)) (i32.const 2)))
        (local.set $end (i32.add (local.get $col) (i32.shl (local.get $P) (i32.const 2))))
        (block ${dz} (loop ${lz}
          (br_if ${dz} (i32.ge_u (local.get $col) (local.get $end)))
          (f32.store (i32.add (local.get $o) (local.get $col)) (f32.const 0))
          (local.set $col (i32.add (local.get $col) (i32.const 4)))
          (br ${lz})))
        (local.set $col (i32.shl (i32.mul (local.get $r) (local.get $P)) (i32.const 2)))${fwdCols}`)})`;
  const B = fn();
  for (const n of ['r', 'c', 'ky', 'kx', 'col', 'P', 'q']) B.i(n);
  B.f('v');
  const bwdCols = cols(B, `
                      (local.set $q (i32.add (local.get $o) ${pixel}))
                      (local.set $v (f32.add (f32.load (local.get $q)) (f32.load (i32.add (local.get $g) (local.get $col)))))
                      (f32.store (local.get $q) (select (f32.reinterpret_i32 (i32.const 0x7fc00000)) (local.get $v) (f32.ne (local.get $v) (local.get $v))))`, '');
  const [dk, lk, dl, ll] = ['dk', 'lk', 'dl', 'll'].map((b) => B.label(b));
  const col2im = `(func (export "col2im_ch") (param $g i32) (param $o i32) ${geoParams} (param $u0 i32) (param $u1 i32) ${B.decl()}
      (local.set $P (i32.mul (i32.mul (local.get $N) (local.get $OH)) (local.get $OW)))
      (local.set $c (local.get $u0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $c) (local.get $u1)))
        (local.set $ky (i32.const 0))
        (block ${dk} (loop ${lk}
          (br_if ${dk} (i32.ge_u (local.get $ky) (local.get $kh)))
          (local.set $kx (i32.const 0))
          (block ${dl} (loop ${ll}
            (br_if ${dl} (i32.ge_u (local.get $kx) (local.get $kw)))
            (local.set $col (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $kh)) (local.get $ky)) (local.get $kw)) (local.get $kx)) (local.get $P)) (i32.const 2)))${bwdCols}
            (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
            (br ${ll})))
          (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
          (br ${lk})))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cl))))`;
  return im2col + '\n\n  ' + col2im;
}

/** Sequential scalar sums (one accumulator, ascending): Σ x and acc0 + Σ f32(x·x). */
function sequentialKernels(): string {
  return `(func (export "sum_all") (param $x i32) (param $n i32) (result f32) (local $i i32) (local $end i32) (local $acc f32)
      (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $i (local.get $x))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $acc (f32.add (local.get $acc) (f32.load (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l)))
      (local.get $acc))

  (func (export "sum_squares") (param $x i32) (param $n i32) (param $acc f32) (result f32) (local $i i32) (local $end i32) (local $v f32)
      (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $i (local.get $x))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $v (f32.load (local.get $i)))
        (local.set $acc (f32.add (local.get $acc) (f32.mul (local.get $v) (local.get $v))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l)))
      (local.get $acc))`;
}

const elems = { from: '(i32.shl (local.get $u0) (i32.const 2))', to: '(i32.shl (local.get $u1) (i32.const 2))' };

function optimizerKernels(): string {
  // AdamW, in place on w, m, v (backend.ts has the scalar program). $wd: apply decoupled decay.
  const A = fn();
  for (const s of ['b1', 'c1', 'b2', 'c2', 'sbc2', 'eps', 'step', 'decay', 'wi', 'mi', 'vi']) A.v(s);
  const adam = lanewise(A, {
    ins: [get('w'), get('g'), get('m'), get('v')], outs: [get('w'), get('m'), get('v')], ...elems,
    body: ([w, g, m, v]) => ({
      code: `
        ${set('wi', w)}
        (if ${get('wd')} (then ${set('wi', sub(get('wi'), mul(get('decay'), get('wi'))))}))
        ${set('mi', add(mul(get('b1'), m), mul(get('c1'), g)))}
        ${set('vi', add(mul(get('b2'), v), mul(mul(get('c2'), g), g)))}`,
      outs: [sub(get('wi'), mul(get('step'), div(get('mi'), add(div(f('sqrt', get('vi')), get('sbc2')), get('eps'))))), get('mi'), get('vi')],
    }),
  });
  // SGD with momentum, in place on w and buf. $wd: add weight decay to g; $first: buf = g.
  const S = fn();
  for (const s of ['mu', 'wdv', 'lr', 'gi', 'b']) S.v(s);
  const sgd = lanewise(S, {
    ins: [get('w'), get('g'), get('buf')], outs: [get('w'), get('buf')], ...elems,
    body: ([w, g, buf]) => ({
      code: `
        ${set('gi', g)}
        (if ${get('hasWd')} (then ${set('gi', add(get('gi'), mul(get('wdv'), w)))}))
        (if ${get('first')} (then ${set('b', get('gi'))}) (else ${set('b', add(mul(get('mu'), buf), get('gi')))}))`,
      outs: [sub(w, mul(get('lr'), get('b'))), get('b')],
    }),
  });
  // 1 when any element in [u0, u1) is a NaN or an infinity (exponent field all ones), else 0.
  const N = fn();
  N.v('acc');
  const scan = lanewise(N, {
    ins: [get('p')], outs: [], ...elems, canonical: false,
    body: ([x]) => ({ code: set('acc', `(v128.or ${get('acc')} (i32x4.ge_u (v128.and ${x} ${i4(0x7fffffff)}) ${i4(0x7f800000)}))`), outs: [] }),
  });
  return `(func (export "adamw") (param $w i32) (param $g i32) (param $m i32) (param $v i32)
      (param $b1s f32) (param $c1s f32) (param $b2s f32) (param $c2s f32) (param $sbc2s f32) (param $epss f32)
      (param $steps f32) (param $decays f32) (param $wd i32) (param $u0 i32) (param $u1 i32) ${A.decl()}
      ${['b1', 'c1', 'b2', 'c2', 'sbc2', 'eps', 'step', 'decay'].map((s) => `(local.set $${s} (f32x4.splat (local.get $${s}s)))`).join(' ')}${adam})

  (func (export "sgd") (param $w i32) (param $g i32) (param $buf i32)
      (param $mus f32) (param $wds f32) (param $lrs f32) (param $hasWd i32) (param $first i32) (param $u0 i32) (param $u1 i32) ${S.decl()}
      (local.set $mu (f32x4.splat (local.get $mus)))
      (local.set $wdv (f32x4.splat (local.get $wds)))
      (local.set $lr (f32x4.splat (local.get $lrs)))${sgd})

  (func (export "nonfinite") (param $p i32) (param $u0 i32) (param $u1 i32) (result i32) ${N.decl()}${scan}
      (v128.any_true (local.get $acc)))`;
}

export function vecWat(): string {
  return `;; GENERATED by src/engine/kernels/wasm/build.ts from vec.wat.ts: do not edit.
;; Deterministic elementwise f32 kernels, SIMD128 lanes, no fused multiply-add.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ${BINARY_OPS.map(binaryKernels).join('\n\n  ')}

  ${UNARY_OPS.map(unaryKernel).join('\n\n  ')}

  ${geluKernels()}

  ${softmaxKernels()}

  ${layerNormKernels()}

  ${reduceRowsKernel('sum')}

  ${reduceRowsKernel('max')}

  ${reduceAxisKernel('sum')}

  ${reduceAxisKernel('max')}

  ${reduceAxisKernel('sum', true)}

  ${sequentialKernels()}

  ${gatherStridedKernel()}

  ${rowKernels()}

  ${im2colKernels()}

  ${optimizerKernels()}
)
`;
}
