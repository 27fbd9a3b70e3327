// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOpJudge} from "./IOpJudge.sol";
import {OpDesc, OpJudgePrograms} from "./OpJudgePrograms.sol";
import {SoftFloat32} from "./SoftFloat32.sol";
import {TensorCommit} from "./TensorCommit.sol";

/// @title OpJudge: dispute levels 3 and 4 as one k-ary game over an op's scalar steps, ending in
/// one step the contract recomputes (IOpJudge.sol describes the states and the moves).
/// @notice Holds no money. The level-2 judge that opened a dispute reads `outcome` and resolves
/// its own game. One transaction per turn: the other party's k-1 leaves again (checked against
/// their stored hash), the chosen part, the mover's own k-1 leaves (hashed and logged).
contract OpJudge is IOpJudge {
    uint8 internal constant DEFENDER_MOVES = 1;
    uint8 internal constant CHALLENGER_MOVES = 2;
    uint8 internal constant JUDGING = 3;
    uint8 internal constant DEFENDER_WON = 5;
    uint8 internal constant CHALLENGER_WON = 6;

    uint256 internal constant END = 0xffffffff;
    uint256 internal constant NO_JUMP = type(uint256).max;
    uint256 internal constant ONE = 0x3f800000;
    uint256 internal constant MOV = 64;
    uint256 internal constant IEQ = 65;
    uint256 internal constant INE = 66;
    uint256 internal constant UNIFORM = 67;

    struct Dispute {
        address challenger;
        uint40 deadline;
        uint8 phase;
        uint32 moveTimeout;
        bool postByChallenger; // who claims the post-state (initially the defender: its output)
        address defender;
        uint48 lo; // state lo (after lo steps) is agreed
        uint48 hi; // state hi is disputed
        bytes32 pre; // leaf of state lo (bytes32(0) while lo == 0: the genesis, derived from the op)
        bytes32 post; // leaf of state hi, as its claimant has it
        bytes32 revealed; // keccak256 of the leaves revealed last (bytes32(0) before the first reveal)
        bytes32 opHash; // keccak256(abi.encode(op, inputs))
    }

    OpJudgePrograms public immutable programs;
    /// Parts per round (k): the defender reveals k-1 states.
    uint256 public immutable arity;
    uint256 public disputeCount;
    mapping(uint256 => Dispute) private _disputes;

    error BadParams();
    error UnknownDispute(uint256 id);
    error WrongPhase(uint256 id, uint8 phase);
    error NotYourMove(uint256 id, address expected);
    error MoveTooLate(uint256 id, uint40 deadline);
    error NotTimedOut(uint256 id, uint40 deadline);
    error BadInputCount(uint256 given, uint256 expected);
    error TooManySteps(uint256 steps);
    error BadOutputRoot();
    error BadLeafCount(uint256 given, uint256 expected);
    error NotRevealed();
    error AlreadyRevealed();
    error BadChoice(uint256 choice);
    error NotThisOp();
    error NotThePreState();
    error IndexOutOfRange(uint256 input, uint256 index, uint256 limit);

    constructor(OpJudgePrograms programs_, uint256 arity_) {
        if (arity_ < 2 || arity_ > 64) revert BadParams();
        programs = programs_;
        arity = arity_;
    }

    // ---- the game -----------------------------------------------------------------------------

    function open(OpCase calldata c) external returns (uint256 id) {
        if (c.challenger == address(0) || c.defender == address(0) || c.challenger == c.defender || c.moveTimeout == 0) {
            revert BadParams();
        }
        OpDesc.Desc memory d = OpDesc.parse(c.op);
        if (c.inputs.length != d.inShapes.length) revert BadInputCount(c.inputs.length, d.inShapes.length);
        (uint256 E, uint256 S) = programs.dims(c.op);
        uint256 T = E * S;
        if (T >= 2 ** 48) revert TooManySteps(T);
        if (TensorCommit.commitOf(d.outShape, c.outputRoot) != c.output) revert BadOutputRoot();
        uint32[16] memory zero;
        bytes32 claim = _leaf(c.outputRoot, 0, zero);
        id = ++disputeCount;
        Dispute storage g = _disputes[id];
        g.challenger = c.challenger;
        g.defender = c.defender;
        g.moveTimeout = c.moveTimeout;
        g.hi = uint48(T);
        g.post = claim; // g.pre stays 0: the genesis (all-zero output, pc 0, zero registers)
        g.opHash = keccak256(abi.encode(c.op, c.inputs));
        g.deadline = uint40(block.timestamp) + c.moveTimeout;
        emit OpDisputeOpened(id, msg.sender, c.challenger, c.defender, uint48(T), c.context);
        if (T == 0) {
            _finish(id, g, claim == _leaf(bytes32(0), 0, zero), false); // nothing to compute: the empty output
        } else {
            g.phase = T == 1 ? JUDGING : DEFENDER_MOVES;
        }
    }

    function reveal(uint256 id, bytes32[] calldata leaves) external {
        Dispute storage g = _move(id, DEFENDER_MOVES);
        if (g.revealed != bytes32(0)) revert AlreadyRevealed();
        _reveal(id, g, true, g.lo, g.hi, leaves);
    }

    function move(uint256 id, bytes32[] calldata revealed, uint256 choice, bytes32[] calldata leaves) external {
        Dispute storage g = _dispute(id);
        bool byDefender = g.phase == DEFENDER_MOVES;
        g = _move(id, byDefender ? DEFENDER_MOVES : CHALLENGER_MOVES);
        if (g.revealed == bytes32(0) || keccak256(abi.encodePacked(revealed)) != g.revealed) revert NotRevealed();
        uint256 m = revealed.length;
        if (choice > m) revert BadChoice(choice);
        uint256 lo = g.lo;
        uint256 L = g.hi - lo;
        uint256 newLo = lo + (choice * L) / (m + 1);
        uint256 newHi = choice == m ? g.hi : lo + ((choice + 1) * L) / (m + 1);
        if (choice > 0) g.pre = revealed[choice - 1];
        if (choice < m) {
            g.post = revealed[choice];
            g.postByChallenger = byDefender; // the other party revealed it
        }
        g.lo = uint48(newLo);
        g.hi = uint48(newHi);
        emit PartChosen(id, byDefender, choice, uint48(newLo), uint48(newHi));
        if (newHi - newLo == 1) {
            if (leaves.length != 0) revert BadLeafCount(leaves.length, 0);
            g.phase = JUDGING;
            g.deadline = uint40(block.timestamp) + g.moveTimeout;
        } else {
            _reveal(id, g, byDefender, newLo, newHi, leaves);
        }
    }

    function _reveal(uint256 id, Dispute storage g, bool byDefender, uint256 lo, uint256 hi, bytes32[] calldata leaves) private {
        uint256 L = hi - lo;
        uint256 m = (L < arity ? L : arity) - 1;
        if (leaves.length != m) revert BadLeafCount(leaves.length, m);
        g.revealed = keccak256(abi.encodePacked(leaves));
        g.phase = byDefender ? CHALLENGER_MOVES : DEFENDER_MOVES;
        uint40 deadline = uint40(block.timestamp) + g.moveTimeout;
        g.deadline = deadline;
        emit StatesRevealed(id, byDefender, uint48(lo), uint48(hi), leaves, deadline);
    }

    function timeout(uint256 id) external {
        Dispute storage g = _dispute(id);
        uint8 phase = g.phase;
        if (phase != DEFENDER_MOVES && phase != CHALLENGER_MOVES && phase != JUDGING) revert WrongPhase(id, phase);
        if (block.timestamp <= g.deadline) revert NotTimedOut(id, g.deadline);
        // The party whose turn it was loses; with the judge call missing, the post-state's claimant.
        _finish(id, g, phase == CHALLENGER_MOVES || (phase == JUDGING && g.postByChallenger), true);
    }

    function outcome(uint256 id) external view returns (uint8) {
        return _disputes[id].phase;
    }

    function getDispute(uint256 id) external view returns (Dispute memory) {
        return _dispute(id);
    }

    // ---- the judged step ----------------------------------------------------------------------

    /// Reads operands: registers, constants and input elements, each opening verified against its
    /// input's commitment; consecutive reads of one chunk of one input share an opening.
    struct Reader {
        uint256 cursor; // next opening
        uint256 lastInput; // input and chunk of the last opening (type(uint256).max: none)
        uint256 lastChunk;
        uint256 lastOpening;
    }

    function judge(uint256 id, bytes calldata op, bytes32[] calldata inputs, State calldata pre, Opening[] calldata openings)
        external
    {
        Dispute storage g = _move(id, JUDGING);
        if (keccak256(abi.encode(op, inputs)) != g.opHash) revert NotThisOp();
        uint256 t = g.lo;
        (bytes32 post, bytes32 genesis) = _step(op, inputs, pre, openings, t);
        if (_leaf(pre.outRoot, pre.pc, pre.regs) != (g.pre == bytes32(0) ? genesis : g.pre)) revert NotThePreState();
        bool claimRight = post == g.post;
        bool defenderWon = g.postByChallenger ? !claimRight : claimRight;
        emit StepJudged(id, uint48(t), defenderWon);
        _finish(id, g, defenderWon, false);
    }

    /// The leaf after step t from `pre` (what `judge` compares with the disputed leaf); reverts on
    /// a bad opening. For off-chain checks (eth_call) and the tests.
    function stepLeaf(bytes calldata op, bytes32[] calldata inputs, State calldata pre, Opening[] calldata openings, uint256 t)
        external
        view
        returns (bytes32)
    {
        (bytes32 post,) = _step(op, inputs, pre, openings, t);
        return post;
    }

    /// The leaf after step t from `pre`, and the genesis leaf (only computed while t is 0).
    function _step(bytes calldata op, bytes32[] calldata inputs, State calldata pre, Opening[] calldata openings, uint256 t)
        private
        view
        returns (bytes32 post, bytes32 genesis)
    {
        OpDesc.Desc memory d = OpDesc.parse(op);
        if (inputs.length != d.inShapes.length) revert BadInputCount(inputs.length, d.inShapes.length);
        (uint256 E, uint256 S, bool write, OpJudgePrograms.Instr memory ins, OpJudgePrograms.Src memory res) =
            programs.stepInfo(op, t, pre.pc);
        Reader memory r = Reader(0, type(uint256).max, 0, 0);
        uint32[16] memory regs = pre.regs;
        bytes32 root = pre.outRoot;
        uint256 pc = pre.pc;
        if (write) {
            // The write slot: the element's value into the partial output root; registers cleared.
            uint256 v = _read(r, d, inputs, openings, res, regs);
            Opening calldata o = openings[r.cursor];
            root = TensorCommit.replaceElement(root, E, t / S, o.chunk, o.siblings, v);
            pc = 0;
            regs = [uint32(0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        } else if (ins.valid) {
            pc = _execute(r, d, inputs, openings, ins, pc, regs);
        }
        post = _leaf(root, pc, regs);
        if (t == 0) {
            uint32[16] memory zero;
            genesis = _leaf(TensorCommit.zeroRoot(E), 0, zero);
        }
    }

    function _execute(
        Reader memory r,
        OpDesc.Desc memory d,
        bytes32[] calldata inputs,
        Opening[] calldata openings,
        OpJudgePrograms.Instr memory ins,
        uint256 pc,
        uint32[16] memory regs
    ) private view returns (uint256) {
        uint256 a = _read(r, d, inputs, openings, ins.a, regs);
        uint256 b = ins.b.t == 0 ? 0 : _read(r, d, inputs, openings, ins.b, regs);
        uint256 op = ins.op;
        uint256 v;
        if (op == MOV) v = a;
        else if (op == IEQ) v = a == b ? ONE : 0;
        else if (op == INE) v = a != b ? ONE : 0;
        else if (op == UNIFORM) v = uniform(a, b, ins.counter);
        else v = SoftFloat32.compute(op, a, b);
        if (ins.jump != NO_JUMP && _isCompare(op)) return v != 0 ? ins.jump : pc + 1;
        regs[ins.dst] = uint32(v);
        return ins.jump != NO_JUMP ? ins.jump : pc + 1;
    }

    function _isCompare(uint256 op) private pure returns (bool) {
        return op == SoftFloat32.GT || (op >= SoftFloat32.LT && op <= SoftFloat32.NE) || op == IEQ || op == INE;
    }

    function _read(
        Reader memory r,
        OpDesc.Desc memory d,
        bytes32[] calldata inputs,
        Opening[] calldata openings,
        OpJudgePrograms.Src memory s,
        uint32[16] memory regs
    ) private view returns (uint256) {
        if (s.t == 1) return regs[s.i];
        if (s.t == 2) return s.i;
        if (s.t == 3) return _element(r, d, inputs, openings, s.j, s.i);
        // indirect: element w * mul + add of input j, w = element i of input k
        uint256 w = _element(r, d, inputs, openings, s.k, s.i);
        if (w >= s.limit) revert IndexOutOfRange(s.k, s.i, s.limit);
        return _element(r, d, inputs, openings, s.j, w * s.mul + s.add);
    }

    function _element(
        Reader memory r,
        OpDesc.Desc memory d,
        bytes32[] calldata inputs,
        Opening[] calldata openings,
        uint256 j,
        uint256 i
    ) private view returns (uint256) {
        uint256 c = i / TensorCommit.CHUNK_ELEMENTS;
        if (j == r.lastInput && c == r.lastChunk) {
            uint256 n = OpDesc.sizeOf(d.inShapes[j]);
            if (i >= n) revert IndexOutOfRange(j, i, n);
            return TensorCommit.wordAt(openings[r.lastOpening].chunk, i % TensorCommit.CHUNK_ELEMENTS);
        }
        Opening calldata o = openings[r.cursor];
        uint256 word = TensorCommit.openElement(inputs[j], d.inShapes[j], i, o.chunk, o.siblings);
        (r.lastInput, r.lastChunk, r.lastOpening) = (j, c, r.cursor);
        r.cursor++;
        return word;
    }

    /// rng.ts: the uniform binary32 in [0, 1) at stream index `counter` of the Philox4x32-10 key
    /// (k0, k1): word counter % 4 of the block with counter (counter / 4, 0, 0), top 24 bits · 2^-24.
    function uniform(uint256 k0, uint256 k1, uint256 counter) public pure returns (uint256) {
        uint256 blk = counter / 4;
        uint256 c0 = blk & 0xffffffff;
        uint256 c1 = (blk >> 32) & 0xffffffff;
        uint256 c2;
        uint256 c3;
        for (uint256 round; round < 10; round++) {
            if (round > 0) {
                k0 = (k0 + 0x9e3779b9) & 0xffffffff;
                k1 = (k1 + 0xbb67ae85) & 0xffffffff;
            }
            uint256 p0 = 0xd2511f53 * c0;
            uint256 p1 = 0xcd9e8d57 * c2;
            (c0, c1, c2, c3) = ((p1 >> 32) ^ c1 ^ k0, p1 & 0xffffffff, (p0 >> 32) ^ c3 ^ k1, p0 & 0xffffffff);
        }
        uint256 w = counter & 3 == 0 ? c0 : counter & 3 == 1 ? c1 : counter & 3 == 2 ? c2 : c3;
        uint256 u = w >> 8;
        if (u == 0) return 0;
        uint256 n;
        while ((u >> n) != 0) n++; // bit length, 1..24
        return ((102 + n) << 23) | ((u << (24 - n)) & 0x7fffff); // u · 2^-24, exact
    }

    // ---- internals ----------------------------------------------------------------------------

    function _leaf(bytes32 root, uint256 pc, uint32[16] memory regs) private pure returns (bytes32) {
        return keccak256(abi.encode(root, uint32(pc), regs));
    }

    function _dispute(uint256 id) private view returns (Dispute storage g) {
        g = _disputes[id];
        if (g.phase == 0) revert UnknownDispute(id);
    }

    /// Checks the phase, the mover (judging is open to anyone) and the deadline.
    function _move(uint256 id, uint8 phase) private view returns (Dispute storage g) {
        g = _dispute(id);
        if (g.phase != phase) revert WrongPhase(id, g.phase);
        address mover = phase == DEFENDER_MOVES ? g.defender : phase == CHALLENGER_MOVES ? g.challenger : address(0);
        if (mover != address(0) && msg.sender != mover) revert NotYourMove(id, mover);
        if (block.timestamp > g.deadline) revert MoveTooLate(id, g.deadline);
    }

    function _finish(uint256 id, Dispute storage g, bool defenderWon, bool byTimeout) private {
        g.phase = defenderWon ? DEFENDER_WON : CHALLENGER_WON;
        g.deadline = 0;
        emit OpDisputeResolved(id, defenderWon, byTimeout);
    }
}
