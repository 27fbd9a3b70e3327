// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "../core/IJudge.sol";
import {BisectionGame, Phase} from "../core/BisectionGame.sol";
import {MerkleProof} from "../core/MerkleProof.sol";
import {IJobShape} from "./IJobShape.sol";
import {IOpJudge} from "./IOpJudge.sol";

/// @title StepJudge: dispute levels 1 → 2 → 3 (docs/verification.md §4).
/// @notice Level 1 (a game over the state hashes after each step of a segment, opened by the
/// CheckpointJudge or by the market's probe dispute, context (jobId << 64) | fromStep) ends on one
/// step: judging it checks the pre and post state preimages (state hash v2) and the successor rules
/// of their headers, reads the step's inputs from the manifest (dataset commitments, the batch input
/// from dataOrder, the schedule inputs from schedule), computes the step's memory before its first op
/// and opens level 2: an unrooted k-ary game over the memory roots after each op, claim =
/// keccak256(stateRoot(post) ‖ bytes32(0)) (only the state part of the final memory is claimed, so
/// the judge call needs nothing the caller could choose). Level 2 ends on one op: judging it opens
/// the op's descriptor (program root), its input commitments (agreed memory) and the output
/// commitment (the one-slot update that makes the disputed memory) and hands the op to the op judge
/// (levels 3–4). Outcomes come back up through settle / settleOp (pull: anyone may call them).
contract StepJudge is IJudge {
    BisectionGame public immutable game;
    IJobShape public immutable market;
    IOpJudge public immutable opJudge;
    uint32 public immutable moveTimeout;
    uint8 public immutable arity;

    uint256 private constant HEADER = 87; // "veritrain/state/v2\0" ‖ spec ‖ 4 × u64 ‖ u32 n
    uint256 private constant TAG_LEN = 19;

    struct Manifest {
        bytes32 specHash;
        bytes32 datasetRoot;
        bytes32 initState;
        bytes32 dataOrder;
        bytes32 schedule;
        bytes32 program;
    }

    /// What the manifest commits for one step (src/verify/manifest.ts).
    struct StepInputs {
        bytes32[] data; // dataset commitments: keccak256(concat) = datasetRoot
        bytes32 batch; // the batch input's commitment: leaf `step` of dataOrder
        bytes32[] batchProof;
        uint64 epochAfter;
        bytes32[] schedule; // schedule input commitments, by name
        bytes32[] scheduleProof;
    }

    /// The program's shape: program = keccak256(abi.encode(S, I, nOps, opsRoot)).
    struct ProgramShape {
        uint32 S;
        uint32 I;
        uint32 nOps;
        bytes32 opsRoot;
    }

    struct StepProof {
        Manifest m;
        bytes pre;
        bytes post;
        ProgramShape program;
        StepInputs inputs;
    }

    struct OpProof {
        bytes descriptor;
        uint32[] inSlots;
        uint32 outSlot;
        bytes32[] programProof;
        bytes32 stateRoot; // the agreed memory's two subtrees
        bytes32 opsRoot;
        bytes32[] inputs; // commitment in each input slot
        bytes32[][] inputProofs;
        bytes32 oldOutput; // what the output slot held before
        bytes32[] outputProof;
        bytes32 output; // the defender's output commitment
        bytes32 outputRoot;
    }

    struct Level2 {
        uint256 parent; // the level-1 game
        bytes32 opsRoot; // the program's op leaves
        uint32 S;
        uint32 I;
        uint32 nOps;
    }

    mapping(uint256 => Level2) private _level2; // level-2 game → its step
    mapping(uint256 => uint256) public opParent; // op dispute → level-2 game

    error NotGame();
    error BadPreimage();
    error BadInputs();
    error BadProgram();
    error BadMemoryProof(uint256 slot);
    error UnknownSubGame(uint256 id);
    error SubGameNotOver(uint256 id, uint8 phase);

    event OpsGameOpened(uint256 indexed parentGameId, uint256 indexed subGameId, uint256 indexed jobId, uint64 step, uint32 ops);
    event OpDisputeOpened(uint256 indexed parentGameId, uint256 indexed opId, uint48 op);
    /// The defender's claimed successor state is not one (header, names or shape): decided at once.
    event BadSuccessor(uint256 indexed gameId, uint8 reason);

    constructor(BisectionGame game_, IJobShape market_, IOpJudge opJudge_, uint32 moveTimeout_, uint8 arity_) {
        game = game_;
        market = market_;
        opJudge = opJudge_;
        moveTimeout = moveTimeout_;
        arity = arity_;
    }

    function judge(Case calldata c, bytes calldata proof) external returns (uint8) {
        if (msg.sender != address(game)) revert NotGame();
        if (_level2[c.gameId].nOps != 0) return _judgeOp(c, proof);
        return _judgeStep(c, abi.decode(proof, (StepProof)));
    }

    // ---- level 1: one step → a game over its ops -----------------------------------------------

    function _judgeStep(Case calldata c, StepProof memory p) private returns (uint8) {
        uint256 jobId = uint256(c.context) >> 64;
        (bytes32 inputs,, uint32 steps,) = market.jobShape(jobId);
        // Everything the caller passes is bound: revert when it does not open the case.
        if (keccak256(abi.encode(p.m)) != inputs) revert BadPreimage();
        if (sha256(p.pre) != c.pre || sha256(p.post) != c.post) revert BadPreimage();
        if (p.pre.length < HEADER || (p.pre.length - HEADER) % 64 != 0) revert BadPreimage();
        uint256 S = (p.pre.length - HEADER) / 64;
        ProgramShape memory ps = p.program;
        StepInputs memory si = p.inputs;
        uint256 I = si.data.length + 1 + si.schedule.length;
        if (keccak256(abi.encode(ps.S, ps.I, ps.nOps, ps.opsRoot)) != p.m.program || ps.S != S || ps.I != I || ps.nOps == 0) {
            revert BadProgram();
        }
        uint64 s = uint64(_le(p.pre, 51, 8));
        if (
            keccak256(abi.encodePacked(si.data)) != p.m.datasetRoot
                || !_verify(p.m.dataOrder, steps, s, si.batch, si.batchProof)
                || !_verify(p.m.schedule, steps, s, keccak256(abi.encode(s, si.epochAfter, si.schedule)), si.scheduleProof)
        ) revert BadInputs();
        uint8 bad = _successor(p.pre, p.post, p.m.specHash, si.epochAfter);
        if (bad != 0) {
            emit BadSuccessor(c.gameId, bad);
            return Verdict.CHALLENGER_WINS;
        }
        bytes32 mem0 = keccak256(abi.encodePacked(_stateRoot(p.pre, S), _inputsRoot(si, I + ps.nOps)));
        bytes32 claim = keccak256(abi.encodePacked(_stateRoot(p.post, S), bytes32(0)));
        uint256 sub = game.openWithArity(
            BisectionGame.Params({
                challenger: c.challenger,
                defender: c.defender,
                judge: this,
                moveTimeout: moveTimeout,
                n: ps.nOps,
                root: bytes32(0),
                genesis: mem0,
                claim: claim,
                context: bytes32(c.gameId)
            }),
            arity
        );
        _level2[sub] = Level2({parent: c.gameId, opsRoot: ps.opsRoot, S: uint32(S), I: uint32(I), nOps: ps.nOps});
        emit OpsGameOpened(c.gameId, sub, jobId, s, ps.nOps);
        return Verdict.PENDING;
    }

    /// 0 when `post` is a valid successor of `pre`: same job, every counter one step on, the epoch
    /// the schedule names, the same tensors (names) in the same order. Else a reason code.
    function _successor(bytes memory pre, bytes memory post, bytes32 specHash, uint64 epochAfter) private pure returns (uint8) {
        if (post.length != pre.length) return 1;
        for (uint256 i; i < TAG_LEN; i++) if (pre[i] != post[i]) return 2;
        if (_word(pre, TAG_LEN) != specHash || _word(post, TAG_LEN) != specHash) return 3;
        for (uint256 k; k < 3; k++) {
            if (_le(post, 51 + 8 * k, 8) != _le(pre, 51 + 8 * k, 8) + 1) return 4;
        }
        if (_le(post, 75, 8) != epochAfter) return 5;
        if (_le(post, 83, 4) != _le(pre, 83, 4) || _le(pre, 83, 4) != (pre.length - HEADER) / 64) return 6;
        for (uint256 o = HEADER; o < pre.length; o += 64) if (_word(pre, o) != _word(post, o)) return 7;
        return 0;
    }

    /// Merkle root (MerkleProof.sol) over the state commitments of a preimage.
    function _stateRoot(bytes memory pre, uint256 S) private pure returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](S);
        for (uint256 i; i < S; i++) leaves[i] = _word(pre, HEADER + 64 * i + 32);
        return _root(leaves, S);
    }

    /// Root of the ops subtree before the first op: the input commitments, then n - I zero slots.
    function _inputsRoot(StepInputs memory si, uint256 n) private pure returns (bytes32) {
        uint256 I = si.data.length + 1 + si.schedule.length;
        bytes32[] memory leaves = new bytes32[](I);
        for (uint256 i; i < si.data.length; i++) leaves[i] = si.data[i];
        leaves[si.data.length] = si.batch;
        for (uint256 i; i < si.schedule.length; i++) leaves[si.data.length + 1 + i] = si.schedule[i];
        return _root(leaves, n);
    }

    /// Root of a tree of n leaves whose first leaves.length are given and the rest zero.
    function _root(bytes32[] memory leaves, uint256 n) private pure returns (bytes32) {
        uint256 depth = MerkleProof.depthOf(n);
        uint256 len = leaves.length;
        bytes32 zero; // root of an all-zero subtree at the current level
        for (uint256 d; d < depth; d++) {
            uint256 half = (len + 1) / 2;
            for (uint256 i; i < half; i++) {
                bytes32 l = leaves[2 * i];
                bytes32 r = 2 * i + 1 < len ? leaves[2 * i + 1] : zero;
                leaves[i] = _hash(l, r);
            }
            len = half;
            zero = _hash(zero, zero);
        }
        return len == 0 ? zero : leaves[0];
    }

    // ---- level 2: one op → the op judge --------------------------------------------------------

    function _judgeOp(Case calldata c, bytes calldata proof) private returns (uint8) {
        Level2 memory L = _level2[c.gameId];
        OpProof memory p = abi.decode(proof, (OpProof));
        if (!_verify(L.opsRoot, L.nOps, c.step, keccak256(abi.encode(uint32(c.step), p.inSlots, p.outSlot, p.descriptor)), p.programProof)) {
            revert BadProgram();
        }
        if (keccak256(abi.encodePacked(p.stateRoot, p.opsRoot)) != c.pre) revert BadPreimage();
        if (p.inputs.length != p.inSlots.length || p.inputProofs.length != p.inSlots.length) revert BadInputs();
        uint256 opsN = uint256(L.I) + L.nOps;
        for (uint256 i; i < p.inSlots.length; i++) {
            uint256 slot = p.inSlots[i];
            bool ok = slot < L.S
                ? _verify(p.stateRoot, L.S, slot, p.inputs[i], p.inputProofs[i])
                : _verify(p.opsRoot, opsN, slot - L.S, p.inputs[i], p.inputProofs[i]);
            if (!ok) revert BadMemoryProof(slot);
        }
        // The disputed memory is the agreed one with the output slot written (for the last op: its state part).
        (bytes32 stateAfter, bytes32 opsAfter) = (p.stateRoot, p.opsRoot);
        uint256 o = p.outSlot;
        if (o < L.S) {
            if (!_verify(p.stateRoot, L.S, o, p.oldOutput, p.outputProof)) revert BadMemoryProof(o);
            stateAfter = _rootOf(o, p.output, p.outputProof);
        } else {
            if (!_verify(p.opsRoot, opsN, o - L.S, p.oldOutput, p.outputProof)) revert BadMemoryProof(o);
            opsAfter = _rootOf(o - L.S, p.output, p.outputProof);
        }
        bool last = c.step == L.nOps - 1;
        bytes32 post = keccak256(abi.encodePacked(stateAfter, last ? bytes32(0) : opsAfter));
        if (post != c.post) revert BadPreimage();
        if (last && o >= L.S) return Verdict.DEFENDER_WINS; // the claimed state does not depend on this op's output
        uint256 id = opJudge.open(
            IOpJudge.OpCase({
                op: p.descriptor,
                inputs: p.inputs,
                output: p.output,
                outputRoot: p.outputRoot,
                challenger: c.challenger,
                defender: c.defender,
                moveTimeout: moveTimeout,
                context: bytes32(c.gameId)
            })
        );
        opParent[id] = c.gameId;
        emit OpDisputeOpened(c.gameId, id, c.step);
        return Verdict.PENDING;
    }

    // ---- outcomes back up ----------------------------------------------------------------------

    /// A finished level-2 game decides its level-1 game. Anyone may call.
    function settle(uint256 subGameId) external {
        uint256 parent = _level2[subGameId].parent;
        if (parent == 0) revert UnknownSubGame(subGameId);
        uint8 phase = game.phaseOf(subGameId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert SubGameNotOver(subGameId, phase);
        _level2[subGameId].parent = 0;
        game.resolve(parent, phase == Phase.DEFENDER_WON);
    }

    /// A finished op dispute decides its level-2 game. Anyone may call.
    function settleOp(uint256 opId) external {
        uint256 parent = opParent[opId];
        if (parent == 0) revert UnknownSubGame(opId);
        uint8 phase = opJudge.outcome(opId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert SubGameNotOver(opId, phase);
        delete opParent[opId];
        game.resolve(parent, phase == Phase.DEFENDER_WON);
    }

    function level2Of(uint256 gameId) external view returns (Level2 memory) {
        return _level2[gameId];
    }

    // ---- helpers -------------------------------------------------------------------------------

    function _verify(bytes32 root, uint256 n, uint256 index, bytes32 leaf, bytes32[] memory proof) private pure returns (bool) {
        if (index >= n || proof.length != MerkleProof.depthOf(n)) return false;
        return _rootOf(index, leaf, proof) == root;
    }

    function _rootOf(uint256 index, bytes32 leaf, bytes32[] memory proof) private pure returns (bytes32 h) {
        h = leaf;
        for (uint256 i; i < proof.length; i++) h = (index >> i) & 1 == 0 ? _hash(h, proof[i]) : _hash(proof[i], h);
    }

    function _hash(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    function _word(bytes memory b, uint256 at) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(b, 32), at))
        }
    }

    /// Little-endian unsigned integer of `len` bytes at `at`.
    function _le(bytes memory b, uint256 at, uint256 len) private pure returns (uint256 v) {
        for (uint256 i; i < len; i++) v |= uint256(uint8(b[at + i])) << (8 * i);
    }
}
