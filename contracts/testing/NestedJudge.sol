// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "../core/IJudge.sol";
import {BisectionGame, Phase} from "../core/BisectionGame.sol";

/// @title NestedJudge: a judge that settles a step by a game one level down, the way the
/// verification layer nests steps → ops → scalar operations. A leaf of the upper level commits to
/// its state and to the defender's trace inside the step: leaf = keccak256(abi.encode(state,
/// subRoot, subN)). Judging the step opens a game over that trace from the agreed state to the
/// disputed one, answers PENDING, and `settle` hands that game's outcome back up.
contract NestedJudge is IJudge {
    BisectionGame public immutable game;
    IJudge public immutable inner;
    uint32 public immutable moveTimeout;
    /// sub-game → the game whose step it decides
    mapping(uint256 => uint256) public parentOf;

    error NotGame();
    error BadPreimage();
    error UnknownSubGame(uint256 subGameId);
    error SubGameNotOver(uint256 subGameId, uint8 phase);

    event SubGameOpened(uint256 indexed parentGameId, uint256 indexed subGameId);

    constructor(BisectionGame game_, IJudge inner_, uint32 moveTimeout_) {
        game = game_;
        inner = inner_;
        moveTimeout = moveTimeout_;
    }

    /// proof = abi.encode(preState, preSubRoot, preSubN, postState, subRoot, subN): the preimages of
    /// the agreed leaf (for step 0 the genesis is the state itself) and of the disputed leaf.
    function judge(Case calldata c, bytes calldata proof) external returns (uint8) {
        if (msg.sender != address(game)) revert NotGame();
        (bytes32 preState, bytes32 preSubRoot, uint48 preSubN, bytes32 postState, bytes32 subRoot, uint48 subN) =
            abi.decode(proof, (bytes32, bytes32, uint48, bytes32, bytes32, uint48));
        bytes32 pre = c.step == 0 ? preState : keccak256(abi.encode(preState, preSubRoot, preSubN));
        if (pre != c.pre || keccak256(abi.encode(postState, subRoot, subN)) != c.post) revert BadPreimage();
        uint256 sub = game.open(
            BisectionGame.Params({
                challenger: c.challenger,
                defender: c.defender,
                judge: inner,
                moveTimeout: moveTimeout,
                n: subN,
                root: subRoot,
                genesis: preState,
                claim: postState,
                context: bytes32(c.gameId)
            })
        );
        parentOf[sub] = c.gameId;
        emit SubGameOpened(c.gameId, sub);
        return Verdict.PENDING;
    }

    /// Report a finished sub-game's outcome to its parent game.
    function settle(uint256 subGameId) external {
        uint256 parent = parentOf[subGameId];
        if (parent == 0) revert UnknownSubGame(subGameId);
        uint8 phase = game.phaseOf(subGameId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert SubGameNotOver(subGameId, phase);
        delete parentOf[subGameId];
        game.resolve(parent, phase == Phase.DEFENDER_WON);
    }
}
