// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "../core/IJudge.sol";
import {BisectionGame, Phase} from "../core/BisectionGame.sol";
import {IJobShape} from "./IJobShape.sol";

/// @title CheckpointJudge: dispute level 0 → 1 (docs/verification.md §4).
/// @notice The level-0 game bisects over the solver's committed checkpoint leaves
/// leaf_i = keccak256(abi.encode(jobId, solver, stateHash_i)) down to one checkpoint c. Judging it
/// unwraps the agreed leaf before c (for c = 0: the manifest, whose hash is the game's genesis and
/// whose initState is the state before step 0) and the disputed leaf c to their state hashes, and
/// opens a level-1 game over the steps of segment c (unrooted, k-ary), judged by the StepJudge, with
/// context (jobId << 64) | fromStep. The level-1 outcome comes back through `settle`.
contract CheckpointJudge is IJudge {
    BisectionGame public immutable game;
    IJobShape public immutable market;
    IJudge public immutable stepJudge;
    uint32 public immutable moveTimeout;
    uint8 public immutable arity;

    /// level-1 game → the level-0 game whose checkpoint it decides
    mapping(uint256 => uint256) public parentOf;

    struct Manifest {
        bytes32 specHash;
        bytes32 datasetRoot;
        bytes32 initState;
        bytes32 dataOrder;
        bytes32 schedule;
        bytes32 program;
    }

    error NotGame();
    error NotSolver(address defender, address solver);
    error BadPreimage();
    error UnknownSubGame(uint256 subGameId);
    error SubGameNotOver(uint256 subGameId, uint8 phase);

    event SegmentOpened(uint256 indexed parentGameId, uint256 indexed subGameId, uint256 indexed jobId, uint64 fromStep, uint48 steps);

    constructor(BisectionGame game_, IJobShape market_, IJudge stepJudge_, uint32 moveTimeout_, uint8 arity_) {
        game = game_;
        market = market_;
        stepJudge = stepJudge_;
        moveTimeout = moveTimeout_;
        arity = arity_;
    }

    /// proof = abi.encode(bytes32 preState, bytes32 postState, Manifest m): the state hashes inside
    /// the agreed and the disputed leaf; m is read only for checkpoint 0 (its hash must be the genesis).
    function judge(Case calldata c, bytes calldata proof) external returns (uint8) {
        if (msg.sender != address(game)) revert NotGame();
        uint256 jobId = uint256(c.context);
        (, address solver, uint32 steps, uint32 interval) = market.jobShape(jobId);
        if (c.defender != solver) revert NotSolver(c.defender, solver);
        (bytes32 preState, bytes32 postState, Manifest memory m) = abi.decode(proof, (bytes32, bytes32, Manifest));
        if (c.step == 0) {
            if (keccak256(abi.encode(m)) != c.pre || m.initState != preState) revert BadPreimage();
        } else if (keccak256(abi.encode(jobId, solver, preState)) != c.pre) {
            revert BadPreimage();
        }
        if (keccak256(abi.encode(jobId, solver, postState)) != c.post) revert BadPreimage();
        uint64 fromStep = uint64(c.step) * interval;
        uint48 n = uint48(steps - fromStep < interval ? steps - fromStep : interval);
        uint256 sub = game.openWithArity(
            BisectionGame.Params({
                challenger: c.challenger,
                defender: c.defender,
                judge: stepJudge,
                moveTimeout: moveTimeout,
                n: n,
                root: bytes32(0),
                genesis: preState,
                claim: postState,
                context: bytes32((jobId << 64) | fromStep)
            }),
            arity
        );
        parentOf[sub] = c.gameId;
        emit SegmentOpened(c.gameId, sub, jobId, fromStep, n);
        return Verdict.PENDING;
    }

    /// Report a finished level-1 game's outcome to its level-0 game. Anyone may call.
    function settle(uint256 subGameId) external {
        uint256 parent = parentOf[subGameId];
        if (parent == 0) revert UnknownSubGame(subGameId);
        uint8 phase = game.phaseOf(subGameId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert SubGameNotOver(subGameId, phase);
        delete parentOf[subGameId];
        game.resolve(parent, phase == Phase.DEFENDER_WON);
    }
}
