// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IJudge: decides the one step a bisection game narrowed a dispute down to.
/// @notice The game hands the judge the step index, the agreed leaf before the step and the
/// defender's leaf after it, plus proof data that the caller supplies (e.g. Merkle proofs of the
/// step's operands). A judge may decide at once, or return PENDING and open a game one level down
/// (steps → ops → scalar operations), then call IBisectionGame.resolve when that game ends.
/// A judge reverts on malformed proof data; the game's state is then unchanged.
interface IJudge {
    struct Case {
        uint256 gameId;
        bytes32 context; // opaque, chosen by the game's creator (the job market passes the job id)
        uint48 step; // index of the disputed step: leaf[step - 1] (or genesis) → leaf[step]
        uint48 n; // number of leaves in the committed sequence
        bytes32 pre; // agreed leaf before the step (the genesis hash when step is 0)
        bytes32 post; // the defender's leaf after the step, disputed by the challenger
        address challenger;
        address defender;
    }

    /// Returns Verdict.DEFENDER_WINS, Verdict.CHALLENGER_WINS or Verdict.PENDING.
    function judge(Case calldata c, bytes calldata proof) external returns (uint8 verdict);
}

library Verdict {
    uint8 internal constant DEFENDER_WINS = 1;
    uint8 internal constant CHALLENGER_WINS = 2;
    uint8 internal constant PENDING = 3;
}
