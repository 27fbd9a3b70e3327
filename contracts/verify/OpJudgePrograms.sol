// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OpJudgeTables as TT} from "./OpJudgeTables.sol";

/// @title Op descriptors (src/verify/ops/descriptor.ts): big-endian u32 words
/// kind, nInputs, {dtype, rank, dims…} per input, dtype, rank, dims… of the output, nAttrs, attrs….
library OpDesc {
    struct Desc {
        uint256 kind;
        uint256[][] inShapes;
        uint256[] outShape;
        uint256[] attrs;
    }

    error BadDescriptor(uint256 word);

    /// Word i of the descriptor at calldata offset `off` (the caller has checked i < its length).
    function _w(uint256 off, uint256 i) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := shr(224, calldataload(add(off, shl(2, i))))
        }
    }

    /// (dtype, rank, dims…) at word `at` of a descriptor of n words.
    function _shape(uint256 off, uint256 n, uint256 at) private pure returns (uint256[] memory s, uint256 next) {
        unchecked {
            if (at + 2 > n || _w(off, at) > 1) revert BadDescriptor(at);
            uint256 rank = _w(off, at + 1);
            if (rank > 8 || at + 2 + rank > n) revert BadDescriptor(at + 1);
            s = new uint256[](rank);
            for (uint256 i; i < rank; i++) {
                uint256 v = _w(off, at + 2 + i);
                assembly ("memory-safe") {
                    mstore(add(s, shl(5, add(i, 1))), v)
                }
            }
            next = at + 2 + rank;
        }
    }

    /// Parses a descriptor (every index checked against its length before it is read).
    function parse(bytes calldata op) internal pure returns (Desc memory d) {
        uint256 n = op.length >> 2;
        if (op.length & 3 != 0 || n < 2) revert BadDescriptor(op.length);
        uint256 off;
        assembly ("memory-safe") {
            off := op.offset
        }
        unchecked {
            d.kind = _w(off, 0);
            uint256 nIn = _w(off, 1);
            if (nIn > 64) revert BadDescriptor(1);
            d.inShapes = new uint256[][](nIn);
            uint256 at = 2;
            for (uint256 j; j < nIn; j++) (d.inShapes[j], at) = _shape(off, n, at);
            (d.outShape, at) = _shape(off, n, at);
            if (at >= n) revert BadDescriptor(at);
            uint256 nAttrs = _w(off, at);
            if (nAttrs > 16 || at + 1 + nAttrs != n) revert BadDescriptor(at);
            uint256[] memory attrs = new uint256[](nAttrs);
            for (uint256 i; i < nAttrs; i++) {
                uint256 v = _w(off, at + 1 + i);
                assembly ("memory-safe") {
                    mstore(add(attrs, shl(5, add(i, 1))), v)
                }
            }
            d.attrs = attrs;
        }
    }

    function sizeOf(uint256[] memory shape) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < shape.length; i++) n *= shape[i];
    }
}

/// @title The op table on chain: for each kind, the element program's instruction at pc, the value
/// an element's last slot writes, and the slots per element; the same as src/verify/ops/programs.ts
/// (test/op-judge-programs.test.ts compares them instruction by instruction).
contract OpJudgePrograms {
    // Kinds (src/verify/ops/descriptor.ts KIND).
    uint256 internal constant K_CONST = 0;
    uint256 internal constant K_ADD = 1;
    uint256 internal constant K_TANH = 11;
    uint256 internal constant K_SUM = 12;
    uint256 internal constant K_MAX = 13;
    uint256 internal constant K_MATMUL = 14;
    uint256 internal constant K_RESHAPE = 15;
    uint256 internal constant K_COPY = 16;
    uint256 internal constant K_PERMUTE = 17;
    uint256 internal constant K_SLICE = 18;
    uint256 internal constant K_PAD = 19;
    uint256 internal constant K_CONCAT = 20;
    uint256 internal constant K_EXPAND = 21;
    uint256 internal constant K_GATHER = 22;
    uint256 internal constant K_IM2COL = 23;
    uint256 internal constant K_SUMTO = 24;
    uint256 internal constant K_MAXBACKWARD = 25;
    uint256 internal constant K_SCATTERADD = 26;
    uint256 internal constant K_COL2IM = 27;
    uint256 internal constant K_ONEHOT = 28;
    uint256 internal constant K_DROPOUTMASK = 29;
    uint256 internal constant K_CAUSALMASK = 30;
    uint256 internal constant K_WINDOWS = 31;
    uint256 internal constant K_SUMSQUARES = 32;
    uint256 internal constant K_SELECT = 33;
    uint256 internal constant K_ADAMWM = 34;
    uint256 internal constant K_ADAMWV = 35;
    uint256 internal constant K_ADAMWW = 36;
    uint256 internal constant K_SGDBUF = 37;
    uint256 internal constant K_SGDW = 38;
    uint256 internal constant K_SUMSQUARESACC = 39;

    // Opcodes (src/verify/scalar.ts OP, src/verify/ops/machine.ts MOP).
    uint256 internal constant ADD = 0;
    uint256 internal constant MUL = 2;
    uint256 internal constant MAXOP = 4;
    uint256 internal constant GE = 11;
    uint256 internal constant EQ = 12;
    uint256 internal constant MOV = 64;
    uint256 internal constant IEQ = 65;
    uint256 internal constant INE = 66;
    uint256 internal constant UNIFORM = 67;

    uint256 internal constant NO_JUMP = type(uint256).max;
    uint256 internal constant END = 0xffffffff;
    uint256 internal constant NULL_AXIS = 0xffffffff;
    uint256 internal constant NEG_INF = 0xff800000;
    uint256 internal constant MINUS_1E30 = 0xf149f2ca;

    // Operand kinds.
    uint256 internal constant S_NONE = 0;
    uint256 internal constant S_REG = 1;
    uint256 internal constant S_CONST = 2;
    uint256 internal constant S_IN = 3;
    uint256 internal constant S_IND = 4;

    /// t: S_REG (i = register), S_CONST (i = word), S_IN (element i of input j),
    /// S_IND (element w * mul + add of input j, w = element i of input k, w < limit).
    struct Src {
        uint256 t;
        uint256 j;
        uint256 i;
        uint256 k;
        uint256 mul;
        uint256 add;
        uint256 limit;
    }

    struct Instr {
        bool valid; // false: the slot idles (past the program's end)
        uint256 op;
        uint256 dst;
        Src a;
        Src b;
        uint256 counter; // UNIFORM's stream index
        uint256 jump; // NO_JUMP, END or a pc
    }

    error UnknownKind(uint256 kind);
    error BadShapes(uint256 kind);

    // ---- external ----------------------------------------------------------------------------

    /// Output elements E and slots per element S of a descriptor.
    function dims(bytes calldata op) external pure returns (uint256 E, uint256 S) {
        OpDesc.Desc memory d = OpDesc.parse(op);
        return (OpDesc.sizeOf(d.outShape), slotsOf(d));
    }

    function fetch(bytes calldata op, uint256 e, uint256 pc) external pure returns (Instr memory) {
        return fetchOf(OpDesc.parse(op), e, pc);
    }

    function result(bytes calldata op, uint256 e) external pure returns (Src memory) {
        return resultOf(OpDesc.parse(op), e);
    }

    /// Everything the judge needs about step t from a pre-state at `pc`, with one parse: E, S,
    /// whether t is an element's write slot, and then its write source, else the instruction at pc.
    function stepInfo(bytes calldata op, uint256 t, uint256 pc)
        external
        pure
        returns (uint256 E, uint256 S, bool write, Instr memory ins, Src memory res)
    {
        OpDesc.Desc memory d = OpDesc.parse(op);
        E = OpDesc.sizeOf(d.outShape);
        S = slotsOf(d);
        uint256 e = t / S;
        write = t % S == S - 1;
        if (write) res = resultOf(d, e);
        else if (pc != END) ins = fetchOf(d, e, pc);
    }

    // ---- slots --------------------------------------------------------------------------------

    function slotsOf(OpDesc.Desc memory d) internal pure returns (uint256) {
        uint256 k = d.kind;
        (bool isT, uint256 tid) = _template(d);
        if (isT) {
            (,, uint256 slots) = _meta(tid);
            return slots;
        }
        if (k == K_CONST || k == K_CAUSALMASK || (k >= K_RESHAPE && k <= K_IM2COL) || k == K_WINDOWS) return 1;
        if (k == K_ONEHOT) return 2;
        if (k == K_DROPOUTMASK) return 4;
        if (k == K_SUM || k == K_MAX) {
            (, uint256 L,) = _reduceAxis(d.inShapes[0], d.attrs[0]);
            return L + 1;
        }
        if (k == K_MATMUL) return 2 * _matmul(d).K + 1;
        if (k == K_SUMTO) return _sumToCount(d) + 1;
        if (k == K_SUMSQUARES) {
            uint256 total;
            for (uint256 j; j < d.inShapes.length; j++) total += OpDesc.sizeOf(d.inShapes[j]);
            return 2 * total + 1;
        }
        if (k == K_MAXBACKWARD) {
            (, uint256 L,) = _reduceAxis(d.inShapes[0], d.attrs[0]);
            return L + 2;
        }
        if (k == K_SCATTERADD) return 2 * d.inShapes[1][0] + 1;
        if (k == K_SUMSQUARESACC) return 2 * OpDesc.sizeOf(d.inShapes[1]) + 1;
        if (k == K_COL2IM) return d.attrs[0] * d.attrs[1] + 1;
        revert UnknownKind(k);
    }

    // ---- fetch --------------------------------------------------------------------------------

    function fetchOf(OpDesc.Desc memory d, uint256 e, uint256 pc) internal pure returns (Instr memory ins) {
        uint256 k = d.kind;
        (bool isT, uint256 tid) = _template(d);
        if (isT) return _fetchTemplate(d, tid, e, pc);
        ins.jump = NO_JUMP;
        if (k == K_SUM || k == K_MAX) {
            (, uint256 L, uint256 inner) = _reduceAxis(d.inShapes[0], d.attrs[0]);
            if (pc >= L) return ins;
            uint256 at = ((e / inner) * L + pc) * inner + (e % inner);
            if (k == K_SUM) return _accAdd(_in(0, at));
            ins.valid = true;
            ins.op = MAXOP;
            ins.a = pc == 0 ? _const(NEG_INF) : _reg(0);
            ins.b = _in(0, at);
            return ins;
        }
        if (k == K_MATMUL) return _fetchMatmul(d, e, pc);
        if (k == K_SUMTO) {
            if (pc >= _sumToCount(d)) return ins;
            return _accAdd(_in(0, _sumToSrc(d, e, pc)));
        }
        if (k == K_SUMSQUARES) return _fetchSumSquares(d, pc);
        if (k == K_SUMSQUARESACC) {
            // (acc, g): r1 = g*g; r0 = (pc == 1 ? acc : r0) + r1
            if (pc >= 2 * OpDesc.sizeOf(d.inShapes[1])) return ins;
            ins.valid = true;
            if (pc & 1 == 1) {
                ins.op = ADD;
                ins.a = pc == 1 ? _in(0, 0) : _reg(0);
                ins.b = _reg(1);
            } else {
                ins.op = MUL;
                ins.dst = 1;
                ins.a = _in(1, pc >> 1);
                ins.b = _in(1, pc >> 1);
            }
            return ins;
        }
        if (k == K_MAXBACKWARD) return _fetchMaxBackward(d, e, pc);
        if (k == K_SCATTERADD) {
            uint256 P = d.inShapes[1][0];
            if (pc >= 2 * P) return ins;
            uint256 row = OpDesc.sizeOf(d.outShape) / d.attrs[0];
            uint256 p = pc >> 1;
            if (pc & 1 == 1) return _accAdd(_in(0, p * row + (e % row)));
            ins.valid = true;
            ins.op = INE;
            ins.a = _in(1, p);
            ins.b = _const(e / row);
            ins.jump = pc + 2;
            return ins;
        }
        if (k == K_COL2IM) return _fetchCol2im(d, e, pc);
        if (k == K_ONEHOT) {
            if (pc != 0) return ins;
            uint256 C = d.attrs[0];
            ins.valid = true;
            ins.op = IEQ;
            ins.a = _in(0, e / C);
            ins.b = _const(e % C);
            return ins;
        }
        if (k == K_DROPOUTMASK) {
            // u = uniform(key, offset + e); u >= p ? scale : 0
            ins.valid = pc < 4;
            if (pc == 0) {
                ins.op = UNIFORM;
                ins.dst = 1;
                ins.a = _in(0, 0);
                ins.b = _in(0, 1);
                ins.counter = d.attrs[1] + e;
            } else if (pc == 1) {
                ins.op = GE;
                ins.a = _reg(1);
                ins.b = _const(d.attrs[0]);
                ins.jump = 3;
            } else if (pc == 2) {
                ins.op = MOV;
                ins.a = _const(0);
                ins.jump = END;
            } else if (pc == 3) {
                ins.op = MOV;
                ins.a = _const(d.attrs[2]);
                ins.jump = END;
            }
            return ins;
        }
        if (k == K_CONST || k == K_CAUSALMASK || (k >= K_RESHAPE && k <= K_IM2COL) || k == K_WINDOWS) return ins; // no program
        revert UnknownKind(k);
    }

    function _fetchMatmul(OpDesc.Desc memory d, uint256 e, uint256 pc) private pure returns (Instr memory ins) {
        MM memory m = _matmul(d);
        ins.jump = NO_JUMP;
        if (pc >= 2 * m.K) return ins;
        if (pc & 1 == 1) return _accAdd(_reg(1));
        uint256 kk = pc >> 1;
        uint256 j = e % m.N;
        uint256 i = (e / m.N) % m.M;
        uint256 bi = e / (m.M * m.N);
        uint256 ai = bi * m.aR * m.aC + (m.transA ? kk * m.aC + i : i * m.aC + kk);
        uint256 bj = (m.bShared ? 0 : bi * m.bR * m.bC) + (m.transB ? j * m.bC + kk : kk * m.bC + j);
        ins.valid = true;
        ins.op = MUL;
        ins.dst = 1;
        ins.a = _in(0, ai);
        ins.b = _in(1, bj);
    }

    function _fetchSumSquares(OpDesc.Desc memory d, uint256 pc) private pure returns (Instr memory ins) {
        ins.jump = NO_JUMP;
        uint256 q = pc >> 1;
        uint256 j;
        uint256 n = d.inShapes.length;
        for (; j < n; j++) {
            uint256 s = OpDesc.sizeOf(d.inShapes[j]);
            if (q < s) break;
            q -= s;
        }
        if (j == n) return ins; // past the end
        if (pc & 1 == 1) return _accAdd(_reg(1));
        ins.valid = true;
        ins.op = MUL;
        ins.dst = 1;
        ins.a = _in(j, q);
        ins.b = _in(j, q);
    }

    function _fetchMaxBackward(OpDesc.Desc memory d, uint256 e, uint256 pc) private pure returns (Instr memory ins) {
        // (x, y, g): for l' < l: if x[l'] == y goto zero; if x[l] == y goto take; zero: 0; take: g
        (, uint256 L, uint256 inner) = _reduceAxis(d.inShapes[0], d.attrs[0]);
        uint256 o = e / (L * inner);
        uint256 l = (e / inner) % L;
        uint256 i = e % inner;
        ins.jump = NO_JUMP;
        if (pc <= l) {
            ins.valid = true;
            ins.op = EQ;
            ins.a = _in(0, (o * L + pc) * inner + i);
            ins.b = _in(1, o * inner + i);
            ins.jump = pc < l ? l + 1 : l + 2;
        } else if (pc == l + 1) {
            ins.valid = true;
            ins.op = MOV;
            ins.a = _const(0);
            ins.jump = END;
        } else if (pc == l + 2) {
            ins.valid = true;
            ins.op = MOV;
            ins.a = _in(2, o * inner + i);
            ins.jump = END;
        }
    }

    struct Geo {
        uint256 N;
        uint256 C;
        uint256 H;
        uint256 W;
        uint256 kh;
        uint256 kw;
        uint256 stride;
        uint256 pad;
        uint256 OH;
        uint256 OW;
        uint256 P;
    }

    function _geo(uint256[] memory x, uint256[] memory attrs) private pure returns (Geo memory g) {
        if (x.length != 4 || attrs[2] == 0) revert BadShapes(K_IM2COL);
        (g.N, g.C, g.H, g.W) = (x[0], x[1], x[2], x[3]);
        (g.kh, g.kw, g.stride, g.pad) = (attrs[0], attrs[1], attrs[2], attrs[3]);
        if (g.H + 2 * g.pad < g.kh || g.W + 2 * g.pad < g.kw) revert BadShapes(K_IM2COL);
        g.OH = (g.H + 2 * g.pad - g.kh) / g.stride + 1;
        g.OW = (g.W + 2 * g.pad - g.kw) / g.stride + 1;
        g.P = g.N * g.OH * g.OW;
    }

    /// Kernel offsets reaching input position y, ascending: an arithmetic progression (first, count)
    /// (src/verify/ops/programs.ts kernelRange).
    function _kernelRange(uint256 y, uint256 kk, uint256 stride, uint256 pad, uint256 O)
        private
        pure
        returns (uint256 first, uint256 count)
    {
        uint256 t = y + pad;
        uint256 lo = t > (O - 1) * stride ? t - (O - 1) * stride : 0;
        uint256 hi = kk - 1 < t ? kk - 1 : t;
        if (hi < lo) return (0, 0);
        first = lo + (t - lo) % stride;
        if (first > hi) return (0, 0);
        count = (hi - first) / stride + 1;
    }

    function _fetchCol2im(OpDesc.Desc memory d, uint256 e, uint256 pc) private pure returns (Instr memory ins) {
        Geo memory g = _geo(d.outShape, d.attrs);
        ins.jump = NO_JUMP;
        uint256 ix = e % g.W;
        uint256 iy = (e / g.W) % g.H;
        uint256 c = (e / (g.H * g.W)) % g.C;
        uint256 n = e / (g.C * g.H * g.W);
        (uint256 fy, uint256 cy) = _kernelRange(iy, g.kh, g.stride, g.pad, g.OH);
        (uint256 fx, uint256 cx) = _kernelRange(ix, g.kw, g.stride, g.pad, g.OW);
        if (pc >= cy * cx) return ins;
        uint256 ky = fy + (pc / cx) * g.stride;
        uint256 kx = fx + (pc % cx) * g.stride;
        uint256 oy = (iy + g.pad - ky) / g.stride;
        uint256 ox = (ix + g.pad - kx) / g.stride;
        uint256 r = (c * g.kh + ky) * g.kw + kx;
        uint256 col = (n * g.OH + oy) * g.OW + ox;
        return _accAdd(_in(0, r * g.P + col));
    }

    // ---- the write slot -----------------------------------------------------------------------

    function resultOf(OpDesc.Desc memory d, uint256 e) internal pure returns (Src memory) {
        uint256 k = d.kind;
        if (k == K_CONST) return _const(d.attrs[0]);
        if (k == K_CAUSALMASK) {
            uint256 T = d.attrs[0];
            return _const(e % T > e / T ? MINUS_1E30 : 0);
        }
        if (k == K_RESHAPE || k == K_COPY) return _in(0, e);
        if (k == K_EXPAND) return _in(0, _broadcast(e, d.outShape, d.inShapes[0]));
        if (k == K_PERMUTE) return _in(0, _permuted(d, e));
        if (k == K_SLICE || k == K_PAD) return _sliced(d, e);
        if (k == K_CONCAT) return _concat(d, e);
        if (k == K_GATHER) {
            uint256[] memory x = d.inShapes[0];
            uint256 row = 1;
            for (uint256 i = 1; i < x.length; i++) row *= x[i];
            return Src(S_IND, 0, e / row, 1, row, e % row, x[0]);
        }
        if (k == K_WINDOWS) {
            uint256 L = d.attrs[0];
            return Src(S_IND, 0, e / L, 1, 1, d.attrs[1] + (e % L), d.inShapes[0][0]);
        }
        if (k == K_IM2COL) return _im2col(d, e);
        if (k == K_MAX) {
            (, uint256 L,) = _reduceAxis(d.inShapes[0], d.attrs[0]);
            if (L == 0) return _const(NEG_INF);
        }
        if (k == K_SUMSQUARESACC && OpDesc.sizeOf(d.inShapes[1]) == 0) return _in(0, 0);
        return _reg(0);
    }

    function _permuted(OpDesc.Desc memory d, uint256 e) private pure returns (uint256 off) {
        uint256[] memory x = d.inShapes[0];
        uint256[] memory out = d.outShape;
        uint256[] memory st = _strides(x);
        for (uint256 i = out.length; i > 0; i--) {
            off += (e % out[i - 1]) * st[d.attrs[i - 1]];
            e /= out[i - 1];
        }
    }

    function _sliced(OpDesc.Desc memory d, uint256 e) private pure returns (Src memory) {
        uint256[] memory x = d.inShapes[0];
        uint256[] memory out = d.outShape;
        uint256 ax = d.attrs[0];
        uint256 first = d.attrs[1];
        uint256[] memory st = _strides(x);
        uint256 off;
        for (uint256 i = out.length; i > 0; i--) {
            uint256 c = e % out[i - 1];
            e /= out[i - 1];
            if (i - 1 == ax) {
                if (d.kind == K_SLICE) c += first;
                else if (c < first || c - first >= x[ax]) return _const(0);
                else c -= first;
            }
            off += c * st[i - 1];
        }
        return _in(0, off);
    }

    function _concat(OpDesc.Desc memory d, uint256 e) private pure returns (Src memory) {
        uint256[] memory out = d.outShape;
        uint256 ax = d.attrs[0];
        uint256[] memory idx = new uint256[](out.length);
        for (uint256 i = out.length; i > 0; i--) {
            idx[i - 1] = e % out[i - 1];
            e /= out[i - 1];
        }
        uint256 j;
        while (idx[ax] >= d.inShapes[j][ax]) idx[ax] -= d.inShapes[j++][ax];
        uint256[] memory st = _strides(d.inShapes[j]);
        uint256 off;
        for (uint256 i; i < idx.length; i++) off += idx[i] * st[i];
        return _in(j, off);
    }

    function _im2col(OpDesc.Desc memory d, uint256 e) private pure returns (Src memory) {
        Geo memory g = _geo(d.inShapes[0], d.attrs);
        uint256 r = e / g.P;
        uint256 col = e % g.P;
        uint256 c = r / (g.kh * g.kw);
        uint256 ky = (r / g.kw) % g.kh;
        uint256 kx = r % g.kw;
        uint256 n = col / (g.OH * g.OW);
        uint256 oy = (col / g.OW) % g.OH;
        uint256 ox = col % g.OW;
        uint256 iy = oy * g.stride + ky;
        uint256 ix = ox * g.stride + kx;
        if (iy < g.pad || iy - g.pad >= g.H || ix < g.pad || ix - g.pad >= g.W) return _const(0);
        return _in(0, ((n * g.C + c) * g.H + iy - g.pad) * g.W + ix - g.pad);
    }

    // ---- templates ----------------------------------------------------------------------------

    function _template(OpDesc.Desc memory d) private pure returns (bool, uint256) {
        uint256 k = d.kind;
        if (k >= K_ADD && k <= K_TANH) return (true, k - K_ADD); // add..tanh are templates 0..10 in kind order
        bool flag = d.attrs.length > 1 && d.attrs[1] & 0x7fffffff != 0;
        if (k == K_SELECT) return (true, TT.T_SELECT);
        if (k == K_ADAMWM) return (true, TT.T_ADAMWM);
        if (k == K_ADAMWV) return (true, TT.T_ADAMWV);
        if (k == K_ADAMWW) return (true, flag ? TT.T_ADAMWW_1 : TT.T_ADAMWW);
        if (k == K_SGDBUF) return (true, flag ? TT.T_SGDBUF_1 : TT.T_SGDBUF);
        if (k == K_SGDW) return (true, TT.T_SGDW);
        return (false, 0);
    }

    function _meta(uint256 tid) private pure returns (uint256 start, uint256 len, uint256 slots) {
        bytes memory m = TT.META;
        uint256 w;
        assembly ("memory-safe") {
            w := shr(208, mload(add(add(m, 32), mul(tid, 6))))
        }
        return (w >> 32, (w >> 16) & 0xffff, w & 0xffff);
    }

    function _fetchTemplate(OpDesc.Desc memory d, uint256 tid, uint256 e, uint256 pc) private pure returns (Instr memory ins) {
        (uint256 start, uint256 len,) = _meta(tid);
        ins.jump = NO_JUMP;
        if (pc >= len) return ins;
        bytes memory code = TT.CODE;
        uint256 at = start + pc;
        uint256 w;
        assembly ("memory-safe") {
            w := shr(192, mload(add(add(code, 32), mul(at, 8))))
        }
        ins.valid = true;
        ins.op = w >> 56;
        ins.dst = (w >> 48) & 0xff;
        ins.a = _tsrc(d, e, (w >> 40) & 0xff, (w >> 32) & 0xff);
        ins.b = _tsrc(d, e, (w >> 24) & 0xff, (w >> 16) & 0xff);
        uint256 jump = w & 0xffff;
        ins.jump = jump == 0xffff ? NO_JUMP : jump == 0xfffe ? END : jump;
    }

    function _tsrc(OpDesc.Desc memory d, uint256 e, uint256 kind, uint256 v) private pure returns (Src memory s) {
        if (kind == 1) return _reg(v);
        if (kind == 2) {
            bytes memory c = TT.CONSTS;
            uint256 w;
            assembly ("memory-safe") {
                w := shr(224, mload(add(add(c, 32), mul(v, 4))))
            }
            return _const(w);
        }
        if (kind == 3) return _in(v, _broadcast(e, d.outShape, d.inShapes[v]));
        if (kind == 4) return _in(v, 0);
        if (kind == 5) return _const(d.attrs[v]);
        return s; // none
    }

    // ---- shapes -------------------------------------------------------------------------------

    function _reduceAxis(uint256[] memory shape, uint256 axis) private pure returns (uint256 outer, uint256 L, uint256 inner) {
        if (axis == NULL_AXIS) return (1, OpDesc.sizeOf(shape), 1);
        if (axis >= shape.length) revert BadShapes(K_SUM);
        outer = 1;
        inner = 1;
        for (uint256 i; i < axis; i++) outer *= shape[i];
        for (uint256 i = axis + 1; i < shape.length; i++) inner *= shape[i];
        L = shape[axis];
    }

    struct MM {
        uint256 aR;
        uint256 aC;
        uint256 bR;
        uint256 bC;
        uint256 M;
        uint256 K;
        uint256 N;
        bool transA;
        bool transB;
        bool bShared;
    }

    function _matmul(OpDesc.Desc memory d) private pure returns (MM memory m) {
        uint256[] memory a = d.inShapes[0];
        uint256[] memory b = d.inShapes[1];
        if (a.length < 2 || b.length < 2) revert BadShapes(K_MATMUL);
        m.transA = d.attrs[0] != 0;
        m.transB = d.attrs[1] != 0;
        (m.aR, m.aC, m.bR, m.bC) = (a[a.length - 2], a[a.length - 1], b[b.length - 2], b[b.length - 1]);
        (m.M, m.K) = m.transA ? (m.aC, m.aR) : (m.aR, m.aC);
        m.N = m.transB ? m.bR : m.bC;
        m.bShared = b.length == 2;
    }

    function _sumToCount(OpDesc.Desc memory d) private pure returns (uint256 count) {
        uint256[] memory g = d.inShapes[0];
        uint256[] memory out = d.outShape;
        if (out.length > g.length) revert BadShapes(K_SUMTO);
        uint256 shift = g.length - out.length;
        count = 1;
        for (uint256 i; i < g.length; i++) {
            uint256 o = i < shift ? 1 : out[i - shift];
            if (o == 1) count *= g[i];
        }
    }

    /// Source index of the q-th contribution to element m of sumTo (ascending source order).
    function _sumToSrc(OpDesc.Desc memory d, uint256 m, uint256 q) private pure returns (uint256 off) {
        uint256[] memory g = d.inShapes[0];
        uint256[] memory out = d.outShape;
        uint256 shift = g.length - out.length;
        uint256[] memory st = _strides(g);
        for (uint256 i = g.length; i > 0; i--) {
            if (i - 1 < shift) continue;
            uint256 o = out[i - 1 - shift];
            uint256 c = m % o;
            m /= o;
            if (o != 1) off += c * st[i - 1];
        }
        for (uint256 i = g.length; i > 0; i--) {
            uint256 o = i - 1 < shift ? 1 : out[i - 1 - shift];
            if (o != 1 || g[i - 1] == 1) continue;
            off += (q % g[i - 1]) * st[i - 1];
            q /= g[i - 1];
        }
    }

    function _strides(uint256[] memory shape) private pure returns (uint256[] memory s) {
        s = new uint256[](shape.length);
        uint256 acc = 1;
        for (uint256 i = shape.length; i > 0; i--) {
            s[i - 1] = acc;
            acc *= shape[i - 1];
        }
    }

    /// Index in `inp` of the element broadcast onto element e of `out` (right-aligned).
    function _broadcast(uint256 e, uint256[] memory out, uint256[] memory inp) private pure returns (uint256 off) {
        uint256 stride = 1;
        uint256 shift = out.length - inp.length; // inputs never have more axes than the output
        for (uint256 i = out.length; i > 0; i--) {
            uint256 o = e % out[i - 1];
            e /= out[i - 1];
            if (i - 1 < shift) continue;
            uint256 dim = inp[i - 1 - shift];
            if (dim != 1) off += o * stride;
            stride *= dim;
        }
    }

    // ---- operands -----------------------------------------------------------------------------

    function _reg(uint256 r) private pure returns (Src memory s) {
        s.t = S_REG;
        s.i = r;
    }

    function _const(uint256 w) private pure returns (Src memory s) {
        s.t = S_CONST;
        s.i = w;
    }

    function _in(uint256 j, uint256 i) private pure returns (Src memory s) {
        s.t = S_IN;
        s.j = j;
        s.i = i;
    }

    function _accAdd(Src memory b) private pure returns (Instr memory ins) {
        ins.valid = true;
        ins.op = ADD;
        ins.a = _reg(0);
        ins.b = b;
        ins.jump = NO_JUMP;
    }
}
