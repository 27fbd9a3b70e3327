// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEEE-754 binary32 arithmetic on bit patterns, bit-exact with the veritrain engine.
/// @notice Every op takes and returns binary32 bit patterns (uint32 values held in uint256) and
/// rounds to nearest, ties to even, with subnormals, signed zeros and infinities as IEEE-754 says.
/// A NaN result is always the canonical quiet NaN 0x7fc00000 (the engine stops on NaN, so payloads
/// never matter). The opcode table and the engine-side definition of every op live in
/// src/verify/scalar.ts; the numbers below must stay equal to it (test/softfloat.test.ts checks
/// a million operand pairs per op against it).
library SoftFloat32 {
    // Opcodes (src/verify/scalar.ts OP). Unary ops ignore b.
    uint256 internal constant ADD = 0;
    uint256 internal constant SUB = 1;
    uint256 internal constant MUL = 2;
    uint256 internal constant DIV = 3;
    uint256 internal constant MAX = 4; // JS Math.max: NaN if either is NaN; max(-0, +0) = +0
    uint256 internal constant GT = 5; // a > b ? 1.0 : 0.0 (the engine's `greater`)
    uint256 internal constant SQRT = 6;
    uint256 internal constant NEG = 7;
    uint256 internal constant MIN = 8; // JS Math.min: NaN if either is NaN; min(-0, +0) = -0
    uint256 internal constant LT = 9;
    uint256 internal constant LE = 10;
    uint256 internal constant GE = 11;
    uint256 internal constant EQ = 12;
    uint256 internal constant NE = 13;
    uint256 internal constant LDEXP = 14; // a * 2^b, b an integral binary32 (math.ts ldexpf)
    uint256 internal constant LOGB = 15; // k of frexp: floor(log2 |a|) as binary32
    uint256 internal constant SIGNIFICAND = 16; // m of frexp: a / 2^k, |m| in [1, 2)
    uint256 internal constant I2F = 17; // a read as int32, rounded to binary32
    uint256 internal constant OP_COUNT = 18;

    uint256 internal constant SIGN = 0x80000000;
    uint256 internal constant ABS = 0x7fffffff;
    uint256 internal constant INF = 0x7f800000;
    uint256 internal constant NAN = 0x7fc00000;
    uint256 internal constant ONE = 0x3f800000;
    uint256 internal constant MANT = 0x7fffff;
    uint256 internal constant HIDDEN = 0x800000;

    error UnknownOp(uint256 op);

    /// @notice Result of opcode `op` on binary32 bit patterns a, b (each < 2^32).
    function compute(uint256 op, uint256 a, uint256 b) internal pure returns (uint256) {
        if (op == ADD) return add(a, b);
        if (op == SUB) return add(a, b ^ SIGN); // a - b = a + (-b) in every case, zeros included
        if (op == MUL) return mul(a, b);
        if (op == DIV) return div(a, b);
        if (op == MAX) return max(a, b);
        if (op == GT) return compare(a, b, GT);
        if (op == SQRT) return sqrt(a);
        if (op == NEG) return neg(a);
        if (op == MIN) return min(a, b);
        if (op <= NE) return compare(a, b, op);
        if (op == LDEXP) return ldexp(a, b);
        if (op == LOGB) return logb(a);
        if (op == SIGNIFICAND) return significand(a);
        if (op == I2F) return i2f(a);
        revert UnknownOp(op);
    }

    function add(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 absA = a & ABS;
        uint256 absB = b & ABS;
        if (absA > INF || absB > INF) return NAN;
        if (absA == INF) return absB == INF && a != b ? NAN : a; // Inf - Inf is NaN
        if (absB == INF) return b;
        if (absA < absB) (a, b, absA, absB) = (b, a, absB, absA); // now |a| >= |b|
        if (absB == 0) return absA == 0 ? a & b : a; // -0 + -0 = -0; every other zero sum is +0
        // unchecked: exponents are <= 254, d <= 40, m < 2^65 below; nothing can wrap.
        unchecked {
            (uint256 ma, uint256 ea) = unpack(absA);
            (uint256 mb, uint256 eb) = unpack(absB);
            uint256 d = ea - eb; // >= 0 because |a| >= |b|
            bool subtract = (a ^ b) & SIGN != 0;
            uint256 m;
            if (d > 40) {
                // |b| < 2^-16 ulp(a): b only decides rounding as a sticky bit, and any value in
                // (0, ulp(a)/4) rounds the same, so 1 unit at 2^-40 ulp(a) stands in for it.
                d = 40;
                m = subtract ? (ma << 40) - 1 : (ma << 40) + 1;
            } else {
                m = subtract ? (ma << d) - mb : (ma << d) + mb;
            }
            if (m == 0) return 0; // x - x = +0 under round to nearest
            return roundPack(a & SIGN, m, int256(ea) - int256(d) - 150);
        }
    }

    function mul(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 sign = (a ^ b) & SIGN;
        uint256 absA = a & ABS;
        uint256 absB = b & ABS;
        if (absA > INF || absB > INF) return NAN;
        if (absA == INF) return absB == 0 ? NAN : sign | INF;
        if (absB == INF) return absA == 0 ? NAN : sign | INF;
        if (absA == 0 || absB == 0) return sign;
        (uint256 ma, uint256 ea) = unpack(absA);
        (uint256 mb, uint256 eb) = unpack(absB);
        // unchecked: 24-bit significands give a 48-bit exact product; exponents are <= 254.
        unchecked {
            return roundPack(sign, ma * mb, int256(ea + eb) - 300);
        }
    }

    function div(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 sign = (a ^ b) & SIGN;
        uint256 absA = a & ABS;
        uint256 absB = b & ABS;
        if (absA > INF || absB > INF) return NAN;
        if (absA == INF) return absB == INF ? NAN : sign | INF;
        if (absB == INF) return sign;
        if (absB == 0) return absA == 0 ? NAN : sign | INF;
        if (absA == 0) return sign;
        (uint256 ma, uint256 ea) = unpack(absA);
        (uint256 mb, uint256 eb) = unpack(absB);
        // unchecked: ma << 64 < 2^88 and mb >= 1; exponents are <= 254.
        unchecked {
            // The quotient has >= 41 bits (ma >= 1, mb < 2^24): more than 24 + a round bit, and a
            // nonzero remainder becomes a sticky bit below all of them.
            uint256 n = ma << 64;
            uint256 q = n / mb;
            uint256 sticky = n - q * mb == 0 ? 0 : 1;
            return roundPack(sign, (q << 1) | sticky, int256(ea) - int256(eb) - 65);
        }
    }

    function sqrt(uint256 a) internal pure returns (uint256) {
        if (a & ABS == 0) return a; // sqrt(-0) = -0
        if (a > INF) return NAN; // NaN or negative
        if (a == INF) return INF;
        (uint256 m, uint256 ea) = unpack(a);
        // unchecked: m < 2^25, so m << 64 < 2^89; r < 2^45; the exponent is in [-215, 104].
        unchecked {
            int256 e = int256(ea) - 150;
            if (e & 1 != 0) {
                m <<= 1;
                e -= 1;
            }
            // m·2^64 >= 2^64, so the root has >= 33 bits: room for 24 + a round bit + sticky.
            uint256 n = m << 64;
            uint256 r = isqrt(n);
            uint256 sticky = r * r == n ? 0 : 1;
            return roundPack(0, (r << 1) | sticky, (e - 64) / 2 - 1);
        }
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        if (a & ABS > INF || b & ABS > INF) return NAN;
        return orderKey(a) >= orderKey(b) ? a : b;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        if (a & ABS > INF || b & ABS > INF) return NAN;
        return orderKey(a) <= orderKey(b) ? a : b;
    }

    /// IEEE comparison `a cmp b` as 1.0 or 0.0 (cmp one of LT, LE, GT, GE, EQ, NE): NaN is
    /// unordered (false, except NE) and -0 equals +0.
    function compare(uint256 a, uint256 b, uint256 cmp) internal pure returns (uint256) {
        if (a & ABS > INF || b & ABS > INF) return cmp == NE ? ONE : 0;
        uint256 ka = orderKey(a);
        uint256 kb = orderKey(b);
        if ((a | b) & ABS == 0) kb = ka; // both zeros
        bool r;
        if (cmp == GT) r = ka > kb;
        else if (cmp == LT) r = ka < kb;
        else if (cmp == LE) r = ka <= kb;
        else if (cmp == GE) r = ka >= kb;
        else if (cmp == EQ) r = ka == kb;
        else r = ka != kb;
        return r ? ONE : 0;
    }

    function neg(uint256 a) internal pure returns (uint256) {
        return a & ABS > INF ? NAN : a ^ SIGN;
    }

    /// a·2^n correctly rounded, n = b as a binary32, like math.ts ldexpf: |n| > 300 (±Inf too)
    /// clamps to ±300 (any finite nonzero binary32 times 2^±300 already rounds to ±Inf or ±0);
    /// a NaN or non-integral n within [-300, 300] gives NaN.
    function ldexp(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 absA = a & ABS;
        uint256 absB = b & ABS;
        if (absA > INF || absB > INF) return NAN;
        int256 n;
        // 300 = 0x43960000
        if (absB > 0x43960000) {
            n = 300;
        } else if (absB >= ONE) {
            // unchecked: 1 <= |b| <= 300, so the exponent is 0..8 and the shift 15..23.
            unchecked {
                uint256 shift = 150 - (absB >> 23); // 23 - unbiased exponent
                uint256 sig = (absB & MANT) | HIDDEN;
                if (sig & ((1 << shift) - 1) != 0) return NAN; // not an integer
                n = int256(sig >> shift);
            }
        } else if (absB != 0) {
            return NAN; // 0 < |n| < 1
        }
        if (b & SIGN != 0) n = -n;
        if (absA == INF || absA == 0) return a;
        (uint256 m, uint256 ea) = unpack(absA);
        // unchecked: ea <= 254 and |n| <= 300.
        unchecked {
            return roundPack(a & SIGN, m, int256(ea) - 150 + n);
        }
    }

    /// floor(log2 |a|) as a binary32 integer (IEEE logB): -Inf for ±0, +Inf for ±Inf. For normal
    /// a it is the exponent field minus 127, which is how the engine's frexp reads it.
    function logb(uint256 a) internal pure returns (uint256) {
        uint256 absA = a & ABS;
        if (absA > INF) return NAN;
        if (absA == INF) return INF;
        if (absA == 0) return SIGN | INF;
        // unchecked: a subnormal's bit length is 1..23, so k is in [-149, 127].
        unchecked {
            int256 k = absA >= HIDDEN ? int256(absA >> 23) - 127 : int256(bitLength(absA)) - 150;
            return k < 0 ? roundPack(SIGN, uint256(-k), 0) : k == 0 ? 0 : roundPack(0, uint256(k), 0);
        }
    }

    /// a / 2^logb(a), |result| in [1, 2), sign kept; ±0, ±Inf unchanged (the engine's frexp
    /// mantissa: exponent field set to 127).
    function significand(uint256 a) internal pure returns (uint256) {
        uint256 absA = a & ABS;
        if (absA > INF) return NAN;
        if (absA == INF || absA == 0) return a;
        if (absA >= HIDDEN) return (a & (SIGN | MANT)) | ONE;
        // unchecked: a subnormal's bit length n is 1..23, so the shift 24 - n is 1..23.
        unchecked {
            return (a & SIGN) | ONE | ((absA << (24 - bitLength(absA))) & MANT);
        }
    }

    /// a read as a two's-complement int32, rounded to binary32.
    function i2f(uint256 a) internal pure returns (uint256) {
        if (a == 0) return 0;
        uint256 sign = a & SIGN;
        // unchecked: a < 2^32, and a >= 2^31 when negative.
        unchecked {
            return roundPack(sign, sign == 0 ? a : (1 << 32) - a, 0);
        }
    }

    /// A uint256 that orders binary32 values like numbers, with -0 just below +0 (NaNs excluded).
    function orderKey(uint256 x) private pure returns (uint256) {
        return x & SIGN != 0 ? ~x & 0xffffffff : x | SIGN;
    }

    /// (significand, biased exponent) with |x| = m·2^(e - 150); subnormals get e = 1, like 2^-126.
    function unpack(uint256 absX) private pure returns (uint256 m, uint256 e) {
        e = absX >> 23;
        m = absX & MANT;
        if (e == 0) e = 1;
        else m |= HIDDEN;
    }

    /// sign | the binary32 nearest to m·2^e, ties to even (0 < m < 2^128, |e| < 2^10). A caller
    /// whose value is inexact appends a sticky 1 bit that lies below the round bit.
    function roundPack(uint256 sign, uint256 m, int256 e) private pure returns (uint256) {
        // unchecked: n <= 128, |e| < 2^10 and shifts stay below 129: nothing can wrap.
        unchecked {
            uint256 n = bitLength(m);
            int256 q = e + int256(n) - 24; // weight of the last kept bit: 24 significant bits
            if (q < -149) q = -149; // ... but never below the subnormal quantum 2^-149
            uint256 r;
            if (q <= e) {
                r = m << uint256(e - q); // exact
            } else {
                uint256 s = uint256(q - e); // bits dropped
                if (s > n) return sign; // below half the quantum: rounds to zero
                r = m >> s;
                uint256 rem = m & ((1 << s) - 1);
                uint256 half = 1 << (s - 1);
                if (rem > half || (rem == half && r & 1 != 0)) ++r;
            }
            // Normal: r in [2^23, 2^24] with biased exponent q + 150, so the hidden bit adds the
            // last 1 (and a carry to 2^24 bumps the exponent); subnormal: q = -149, r <= 2^23.
            uint256 bits = (uint256(q + 149) << 23) + r;
            return sign | (bits < INF ? bits : INF);
        }
    }

    /// floor(sqrt(x)) for 0 < x < 2^128: Newton from a power of two above the root.
    function isqrt(uint256 x) private pure returns (uint256 r) {
        // unchecked: r and x / r stay below 2^65.
        unchecked {
            r = 1 << ((bitLength(x) + 1) >> 1);
            uint256 y = (r + x / r) >> 1;
            while (y < r) {
                r = y;
                y = (r + x / r) >> 1;
            }
        }
    }

    /// Number of significant bits of 0 < x < 2^128 (branch-free binary search).
    function bitLength(uint256 x) private pure returns (uint256 n) {
        assembly ("memory-safe") {
            n := shl(6, lt(0xffffffffffffffff, x))
            n := or(n, shl(5, lt(0xffffffff, shr(n, x))))
            n := or(n, shl(4, lt(0xffff, shr(n, x))))
            n := or(n, shl(3, lt(0xff, shr(n, x))))
            n := or(n, shl(2, lt(0xf, shr(n, x))))
            n := or(n, shl(1, lt(0x3, shr(n, x))))
            n := add(or(n, lt(0x1, shr(n, x))), 1)
        }
    }
}
