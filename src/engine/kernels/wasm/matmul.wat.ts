// The WebAssembly source of the matmul kernel, as WAT text. The register tile is unrolled by
// generator functions; everything else is written out. `build.ts` compiles this with wabt into
// matmul.wasm.ts (committed base64 bytes) and writes matmul.wat for reading; a test checks both.
//
// Determinism: only non-relaxed SIMD128, f32x4.mul then f32x4.add (never fused). Each lane of each
// accumulator is one output element C(i,j); its k-loop runs from acc = +0 in ascending k, exactly
// the canonical program of backend.ts. A long k is done in blocks: a block stores the accumulators
// into C and the next one loads them back, which keeps every bit (they are binary32 values either
// way), so the sequence of operations of each element is the same. Packing only moves bits.
// Output NaNs are written as the canonical quiet NaN 0x7fc00000, since the NaN a CPU makes
// (sign, payload) differs between x86 and arm.
//
// Operands (all f32, little-endian): A is read where it is, a row block i..i+3 either as four rows
// (A row-major) or as four contiguous values per k (A stored K x M); a transposed A whose stride
// would put a block's k into the same few L1 sets, and a last partial block, are copied into
// scratch in that second form (16 bytes per k). B is packed, per k block, one panel per 8 columns:
//   Bp[k][c] = op(B)(k, j+c), 32 bytes per k
// Rows/columns past the matrix edge are +0 (or repeat a real row) and their results are discarded.

const ROWS = 4; // register tile rows (MR)
const COLS = 8; // register tile columns (NR): two f32x4 vectors

const accs = (): string[] => {
  const out: string[] = [];
  for (let r = 0; r < ROWS; r++) for (let v = 0; v < COLS / 4; v++) out.push(`$c${r}${v}`);
  return out;
};

/** Byte indices for i8x16.shuffle choosing 32-bit lanes (0-3 from the first operand, 4-7 the second). */
function lanes(...ls: number[]): string {
  return ls.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]).join(' ');
}

/** 4x4 transpose of 32-bit lanes: rows in $x{0..3} (prefix x) -> columns stored via `store(u, expr)`. */
function transpose4(x: string, store: (u: number, expr: string) => string): string {
  return `
        (local.set $t0 (i8x16.shuffle ${lanes(0, 4, 1, 5)} (local.get $${x}0) (local.get $${x}1)))
        (local.set $t1 (i8x16.shuffle ${lanes(2, 6, 3, 7)} (local.get $${x}0) (local.get $${x}1)))
        (local.set $t2 (i8x16.shuffle ${lanes(0, 4, 1, 5)} (local.get $${x}2) (local.get $${x}3)))
        (local.set $t3 (i8x16.shuffle ${lanes(2, 6, 3, 7)} (local.get $${x}2) (local.get $${x}3)))
        ${store(0, `(i8x16.shuffle ${lanes(0, 1, 4, 5)} (local.get $t0) (local.get $t2))`)}
        ${store(1, `(i8x16.shuffle ${lanes(2, 3, 6, 7)} (local.get $t0) (local.get $t2))`)}
        ${store(2, `(i8x16.shuffle ${lanes(0, 1, 4, 5)} (local.get $t1) (local.get $t3))`)}
        ${store(3, `(i8x16.shuffle ${lanes(2, 3, 6, 7)} (local.get $t1) (local.get $t3))`)}`;
}

/**
 * One k step of the 4x8 tile (k-unroll slot u). A is read by `aload(u, r)`, the f32 A(i+r, k)
 * splat to four lanes; the packed B panel at byte offset 32u.
 */
function kstep(u: number, aload: (u: number, r: number) => string): string {
  let s = `
      (local.set $b0 (v128.load offset=${u * 32} (local.get $bp)))
      (local.set $b1 (v128.load offset=${u * 32 + 16} (local.get $bp)))`;
  for (let r = 0; r < ROWS; r++) {
    s += `
      (local.set $a ${aload(u, r)})
      (local.set $c${r}0 (f32x4.add (local.get $c${r}0) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c${r}1 (f32x4.add (local.get $c${r}1) (f32x4.mul (local.get $a) (local.get $b1))))`;
  }
  return s;
}

const CANON_NAN = 'v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000';

/** The accumulators from the C tile at $cp (a later k block continues the earlier blocks' sums). */
function loadRows(): string {
  let s = '';
  for (let r = 0; r < ROWS; r++) {
    s += `
      (local.set $c${r}0 (v128.load offset=0 (local.get $cp)))
      (local.set $c${r}1 (v128.load offset=16 (local.get $cp)))`;
    if (r < ROWS - 1) s += `
      (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))`;
  }
  return s;
}

/**
 * The tile's store. Not the last k block: the accumulators as they are (binary32 values, so the
 * next block reloads exactly them). The last: with a bias (8 values at $bias for these columns),
 * C = f32(acc + bias[j]), linear()'s separate bias add; NaNs canonical.
 */
function storeRows(final: boolean): string {
  let s = '';
  if (final) s += `
    (if (local.get $bias) (then
      (local.set $b0 (v128.load (local.get $bias)))
      (local.set $b1 (v128.load offset=16 (local.get $bias)))${[0, 1, 2, 3].map((r) => `
      (local.set $c${r}0 (f32x4.add (local.get $c${r}0) (local.get $b0)))
      (local.set $c${r}1 (f32x4.add (local.get $c${r}1) (local.get $b1)))`).join('')}))`;
  for (let r = 0; r < ROWS; r++) {
    for (let v = 0; v < 2; v++) {
      const c = `(local.get $c${r}${v})`;
      s += final
        ? `
    (v128.store offset=${v * 16} (local.get $cp) (v128.bitselect (${CANON_NAN}) ${c} (f32x4.ne ${c} ${c})))`
        : `
    (v128.store offset=${v * 16} (local.get $cp) ${c})`;
    }
    if (r < ROWS - 1) s += `
    (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))`;
  }
  return s;
}

/**
 * A register-tile kernel: the C tile (4 rows x 8 cols at $cp, row stride $ldc bytes) gets
 * A block (4 x $k) . packed B panel ($k x 8), for one k block. $mode bit 0: continue the sums in
 * the tile (else start from +0); bit 1: the last k block (bias, canonical NaNs).
 *   rows:    row r of the A block at $ap + min(r, $mr - 1) * $as, k contiguous (A row-major; rows
 *            past the edge repeat the last one, their results are discarded)
 *   strided: the 4 rows contiguous at each k, k at stride $as bytes (A stored K x M, or a packed
 *            block with $as = 16)
 */
function kernelFunc(name: string, kind: 'rows' | 'strided'): string {
  const ptrs = ['$ap', '$p1', '$p2', '$p3'];
  const aload4 = kind === 'rows'
    ? (u: number, r: number) => `(v128.load32_splat offset=${u * 4} (local.get ${ptrs[r]}))`
    : (_u: number, r: number) => `(v128.load32_splat offset=${r * 4} (local.get $ap))`;
  const aload1 = kind === 'rows'
    ? (_u: number, r: number) => `(v128.load32_splat (local.get ${ptrs[r]}))`
    : aload4;
  const step4 = kind === 'rows'
    ? [0, 1, 2, 3].map((u) => kstep(u, aload4)).join('') + ptrs.map((p) => `
      (local.set ${p} (i32.add (local.get ${p}) (i32.const 16)))`).join('')
    : [0, 1, 2, 3].map((u) => kstep(u, aload4) + `
      (local.set $ap (i32.add (local.get $ap) (local.get $as)))`).join('');
  const step1 = kind === 'rows'
    ? kstep(0, aload1) + ptrs.map((p) => `
      (local.set ${p} (i32.add (local.get ${p}) (i32.const 4)))`).join('')
    : kstep(0, aload1) + `
      (local.set $ap (i32.add (local.get $ap) (local.get $as)))`;
  const setup = kind === 'rows'
    ? `
    (local.set $p1 (select (i32.add (local.get $ap) (local.get $as)) (local.get $ap) (i32.gt_s (local.get $mr) (i32.const 1))))
    (local.set $p2 (select (i32.add (local.get $p1) (local.get $as)) (local.get $p1) (i32.gt_s (local.get $mr) (i32.const 2))))
    (local.set $p3 (select (i32.add (local.get $p2) (local.get $as)) (local.get $p2) (i32.gt_s (local.get $mr) (i32.const 3))))`
    : '';
  return `
  (func $${name} (param $ap i32) (param $as i32) (param $mr i32) (param $bp i32) (param $cp i32) (param $ldc i32) (param $k i32) (param $mode i32) (param $bias i32)
    (local $n i32) (local $c0 i32) (local $a v128) (local $b0 v128) (local $b1 v128) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    ${accs().map((c) => `(local ${c} v128)`).join(' ')}${setup}
    (local.set $c0 (local.get $cp))
    ;; v128 locals start as zero: without bit 0 every accumulator lane is +0.
    (if (i32.and (local.get $mode) (i32.const 1)) (then${loadRows()}
      (local.set $cp (local.get $c0))))
    (local.set $n (i32.shr_u (local.get $k) (i32.const 2)))
    (block $end4 (loop $k4
      (br_if $end4 (i32.eqz (local.get $n)))${step4}
      (local.set $bp (i32.add (local.get $bp) (i32.const 128)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $k4)))
    (local.set $n (i32.and (local.get $k) (i32.const 3)))
    (block $end1 (loop $k1
      (br_if $end1 (i32.eqz (local.get $n)))${step1}
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $k1)))
    (if (i32.and (local.get $mode) (i32.const 2))
      (then${storeRows(true).replace(/\n/g, '\n  ')})
      (else${storeRows(false).replace(/\n/g, '\n  ')})))`;
}

/** Scalar element of a partially filled pack: `cond` ? f32 at byte address `addr` : +0. */
function loadOrZero(cond: string, addr: string): string {
  return `(if (result f32) ${cond} (then (f32.load ${addr})) (else (f32.const 0)))`;
}

export function matmulWat(): string {
  return `;; GENERATED by src/engine/kernels/wasm/build.ts from matmul.wat.ts: do not edit.
;; Deterministic f32 matmul: 4x8 register tile, SIMD128 f32x4.mul then f32x4.add, k ascending.
(module
  (import "env" "memory" (memory 1 65536 shared))
${kernelFunc('kern_rows', 'rows')}
${kernelFunc('kern_strided', 'strided')}

  ;; A row block of A stored K x M (rows [i, i + mr), mr <= 4), k in [k0, k1), packed as 16 bytes
  ;; per k at $dst; missing rows are +0.
  (func $pack_a_edge (param $a i32) (param $M i32) (param $i i32) (param $mr i32) (param $k0 i32) (param $k1 i32) (param $dst i32)
    (local $k i32) (local $p i32)
    (local.set $k (local.get $k0))
    (block $e (loop $l
      (br_if $e (i32.ge_s (local.get $k) (local.get $k1)))
      (local.set $p (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $M)) (local.get $i)) (i32.const 2))))
      (if (i32.eq (local.get $mr) (i32.const 4)) (then (v128.store (local.get $dst) (v128.load (local.get $p)))) (else${[0, 1, 2, 3]
        .map((r) => `
      (f32.store offset=${r * 4} (local.get $dst) ${loadOrZero(`(i32.lt_s (i32.const ${r}) (local.get $mr))`, `offset=${r * 4} (local.get $p)`)})`)
        .join('')}))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l))))

  ;; Pack rows [k0, k1) and columns [j0, j1) of op(B) (K x N) into panels of 8 columns at $dst (32 bytes per k per panel).
  ;; op(B)(k,j) is B[k*N + j], or B[j*K + k] with transB.
  (func $pack_b (param $b i32) (param $K i32) (param $N i32) (param $transB i32) (param $k0 i32) (param $k1 i32) (param $j0 i32) (param $j1 i32) (param $dst i32)
    (local $j i32) (local $k i32) (local $nr i32) (local $rs i32) (local $ks i32) (local $step i32)
    ${[0, 1, 2, 3, 4, 5, 6, 7].map((c) => `(local $q${c} i32)`).join(' ')}
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ;; element strides of op(B) as stored: k $ks, columns $rs
    (if (local.get $transB)
      (then (local.set $ks (i32.const 1)) (local.set $rs (local.get $K)))
      (else (local.set $ks (local.get $N)) (local.set $rs (i32.const 1))))
    (local.set $j (local.get $j0))
    (block $done (loop $panels
      (br_if $done (i32.ge_s (local.get $j) (local.get $j1)))
      (local.set $nr (i32.sub (local.get $j1) (local.get $j)))
      (local.set $k (local.get $k0))
      (if (i32.ge_s (local.get $nr) (i32.const 8))
        (then
          (if (i32.eqz (local.get $transB))
            (then
              ;; eight contiguous floats per k
              (local.set $q0 (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $N)) (local.get $j)) (i32.const 2))))
              (local.set $step (i32.shl (local.get $N) (i32.const 2)))
              (block $e (loop $l
                (br_if $e (i32.ge_s (local.get $k) (local.get $k1)))
                (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $q0)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $q0)))
                (local.set $q0 (i32.add (local.get $q0) (local.get $step)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $l))))
            (else
              ;; eight columns stored as rows at stride K: two 4x4 transposes per 4 k
              (local.set $step (i32.shl (local.get $K) (i32.const 2)))
              (local.set $q0 (i32.add (local.get $b) (i32.add (i32.mul (local.get $j) (local.get $step)) (i32.shl (local.get $k0) (i32.const 2)))))${[1, 2, 3, 4, 5, 6, 7]
                .map((c) => `
              (local.set $q${c} (i32.add (local.get $q${c - 1}) (local.get $step)))`)
                .join('')}
              (block $e4 (loop $l4
                (br_if $e4 (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $k1)))${[0, 1, 2, 3]
                  .map((c) => `
                (local.set $x${c} (v128.load (local.get $q${c})))
                (local.set $y${c} (v128.load (local.get $q${c + 4})))`)
                  .join('')}${transpose4('x', (u, e) => `(v128.store offset=${u * 32} (local.get $dst) ${e})`)}${transpose4(
                  'y',
                  (u, e) => `(v128.store offset=${u * 32 + 16} (local.get $dst) ${e})`,
                )}${[0, 1, 2, 3, 4, 5, 6, 7]
                  .map((c) => `
                (local.set $q${c} (i32.add (local.get $q${c}) (i32.const 16)))`)
                  .join('')}
                (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $l4)))
              (block $e1 (loop $l1
                (br_if $e1 (i32.ge_s (local.get $k) (local.get $k1)))${[0, 1, 2, 3, 4, 5, 6, 7]
                  .map((c) => `
                (f32.store offset=${c * 4} (local.get $dst) (f32.load (local.get $q${c})))
                (local.set $q${c} (i32.add (local.get $q${c}) (i32.const 4)))`)
                  .join('')}
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $l1))))))
        (else
          ;; last panel with fewer than 8 columns: the missing columns are +0
          (block $e (loop $l
            (br_if $e (i32.ge_s (local.get $k) (local.get $k1)))${[0, 1, 2, 3, 4, 5, 6, 7]
              .map(
                (c) => `
            (f32.store offset=${c * 4} (local.get $dst) ${loadOrZero(
              `(i32.lt_s (i32.const ${c}) (local.get $nr))`,
              `(i32.add (local.get $b) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const ${c})) (local.get $rs)) (i32.mul (local.get $k) (local.get $ks))) (i32.const 2)))`,
            )})`,
              )
              .join('')}
            (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $l)))))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $panels))))

  ;; C[i, j] for rows [i0, i1) and columns [j0, j1) of one matmul (C dense M x N at $c).
  ;; flags: bit 0 transA, bit 1 transB, bit 2 (with transA) copy each A block into scratch first
  ;; (a stride of 2 KiB or a multiple puts all k of a block into two L1 sets). k runs in blocks of
  ;; $kc; a block continues the sums the earlier ones stored in C (binary32 values, exactly what the
  ;; registers held), the last one adds the bias. $group: B panels packed at a time (for the L2).
  ;; $scratch (64-byte aligned, private to the calling thread) holds, in order: a 128-byte edge
  ;; tile, the packed last row block of a transposed A (16*$kc bytes), packed B for one group.
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32)
      (param $flags i32) (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32) (param $group i32) (param $kc i32) (param $scratch i32) (param $bias i32)
    (local $edge i32) (local $aedge i32) (local $bpk i32) (local $bpPanel i32) (local $ldc i32) (local $panelBytes i32)
    (local $k0 i32) (local $k1 i32) (local $kn i32) (local $mode i32) (local $transA i32)
    (local $jg i32) (local $jgEnd i32) (local $i i32) (local $j i32) (local $mr i32) (local $nr i32) (local $cp i32) (local $r i32) (local $biasp i32)
    (local $ap i32) (local $as i32) (local $strided i32)
    (local.set $ldc (i32.shl (local.get $N) (i32.const 2)))
    (local.set $transA (i32.and (local.get $flags) (i32.const 1)))
    (local.set $edge (local.get $scratch))
    (local.set $aedge (i32.add (local.get $scratch) (i32.const 128)))
    (local.set $bpk (i32.add (local.get $aedge) (i32.and (i32.add (i32.shl (local.get $kc) (i32.const 4)) (i32.const 63)) (i32.const -64))))
    (local.set $k0 (i32.const 0))
    ;; k blocks (at least one: with K = 0 the tile is +0, plus the bias)
    (loop $kblocks
      (local.set $k1 (i32.add (local.get $k0) (local.get $kc)))
      (if (i32.gt_s (local.get $k1) (local.get $K)) (then (local.set $k1 (local.get $K))))
      (local.set $kn (i32.sub (local.get $k1) (local.get $k0)))
      (local.set $mode (i32.or (select (i32.const 1) (i32.const 0) (i32.gt_s (local.get $k0) (i32.const 0))) (select (i32.const 2) (i32.const 0) (i32.ge_s (local.get $k1) (local.get $K)))))
      (local.set $panelBytes (i32.shl (local.get $kn) (i32.const 5)))
      (local.set $jg (local.get $j0))
      (block $groupsDone (loop $groups
        (br_if $groupsDone (i32.ge_s (local.get $jg) (local.get $j1)))
        (local.set $jgEnd (i32.add (local.get $jg) (i32.shl (local.get $group) (i32.const 3))))
        (if (i32.gt_s (local.get $jgEnd) (local.get $j1)) (then (local.set $jgEnd (local.get $j1))))
        (call $pack_b (local.get $b) (local.get $K) (local.get $N) (i32.and (local.get $flags) (i32.const 2)) (local.get $k0) (local.get $k1) (local.get $jg) (local.get $jgEnd) (local.get $bpk))
        (local.set $i (local.get $i0))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $i1)))
          (local.set $mr (i32.sub (local.get $i1) (local.get $i)))
          (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
          ;; where the A block is: rows of A (row-major), 4 contiguous rows per k (transposed), or
          ;; a transposed A's last, partial block packed into scratch
          (if (i32.eqz (local.get $transA))
            (then
              (local.set $strided (i32.const 0))
              (local.set $ap (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $K)) (local.get $k0)) (i32.const 2))))
              (local.set $as (i32.shl (local.get $K) (i32.const 2))))
            (else
              (local.set $strided (i32.const 1))
              (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eqz (i32.and (local.get $flags) (i32.const 4))))
                (then
                  (local.set $ap (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $M)) (local.get $i)) (i32.const 2))))
                  (local.set $as (i32.shl (local.get $M) (i32.const 2))))
                (else
                  (call $pack_a_edge (local.get $a) (local.get $M) (local.get $i) (local.get $mr) (local.get $k0) (local.get $k1) (local.get $aedge))
                  (local.set $ap (local.get $aedge))
                  (local.set $as (i32.const 16))))))
          (local.set $j (local.get $jg))
          (local.set $bpPanel (local.get $bpk))
          (block $colsDone (loop $cols
            (br_if $colsDone (i32.ge_s (local.get $j) (local.get $jgEnd)))
            (local.set $nr (i32.sub (local.get $jgEnd) (local.get $j)))
            (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
            (local.set $cp (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $N)) (local.get $j)) (i32.const 2))))
            ;; $bias: the bias of every column, zero-padded to whole panels (0: none)
            (local.set $biasp (select (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))) (i32.const 0) (local.get $bias)))
            (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
              (then
                (if (local.get $strided)
                  (then (call $kern_strided (local.get $ap) (local.get $as) (local.get $mr) (local.get $bpPanel) (local.get $cp) (local.get $ldc) (local.get $kn) (local.get $mode) (local.get $biasp)))
                  (else (call $kern_rows (local.get $ap) (local.get $as) (local.get $mr) (local.get $bpPanel) (local.get $cp) (local.get $ldc) (local.get $kn) (local.get $mode) (local.get $biasp)))))
              (else
                ;; edge tile: through the 4x8 edge buffer (its valid part in and out of C)
                (if (i32.and (local.get $mode) (i32.const 1)) (then
                  (local.set $r (i32.const 0))
                  (block $in (loop $copyIn
                    (br_if $in (i32.ge_s (local.get $r) (local.get $mr)))
                    (memory.copy
                      (i32.add (local.get $edge) (i32.shl (local.get $r) (i32.const 5)))
                      (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc)))
                      (i32.shl (local.get $nr) (i32.const 2)))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $copyIn)))))
                (if (local.get $strided)
                  (then (call $kern_strided (local.get $ap) (local.get $as) (local.get $mr) (local.get $bpPanel) (local.get $edge) (i32.const 32) (local.get $kn) (local.get $mode) (local.get $biasp)))
                  (else (call $kern_rows (local.get $ap) (local.get $as) (local.get $mr) (local.get $bpPanel) (local.get $edge) (i32.const 32) (local.get $kn) (local.get $mode) (local.get $biasp))))
                (local.set $r (i32.const 0))
                (block $out (loop $copyOut
                  (br_if $out (i32.ge_s (local.get $r) (local.get $mr)))
                  (memory.copy
                    (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc)))
                    (i32.add (local.get $edge) (i32.shl (local.get $r) (i32.const 5)))
                    (i32.shl (local.get $nr) (i32.const 2)))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br $copyOut)))))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (local.set $bpPanel (i32.add (local.get $bpPanel) (local.get $panelBytes)))
            (br $cols)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $rows)))
        (local.set $jg (local.get $jgEnd))
        (br $groups)))
      (local.set $k0 (local.get $k1))
      (br_if $kblocks (i32.lt_s (local.get $k0) (local.get $K)))))
)
`;
}
