// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "../core/IJudge.sol";

/// @title LeafJudge: the market's level-0 judge in tests and on the devnet until the verification
/// layer's checkpoint judge. It opens identity-bound checkpoint leaves (docs/verification.md §3:
/// leaf = keccak256(abi.encode(jobId, solver, stateHash)), jobId = the game's context) and judges
/// TestJudge's hash-chain step on the state hashes inside them: state[i] = keccak256(abi.encode(
/// state[i-1], i)), state[-1] = the game's genesis (the job's manifest hash).
contract LeafJudge is IJudge {
    error BadPreimage();

    event Judged(uint256 indexed gameId, uint48 step, bool defenderWins);

    /// proof = abi.encode(preState, postState): the state hashes in the agreed leaf (for step 0 the
    /// genesis itself) and in the disputed leaf. Preimages that do not open the leaves revert.
    function judge(Case calldata c, bytes calldata proof) external returns (uint8) {
        (bytes32 preState, bytes32 postState) = abi.decode(proof, (bytes32, bytes32));
        uint256 jobId = uint256(c.context);
        bytes32 pre = c.step == 0 ? preState : keccak256(abi.encode(jobId, c.defender, preState));
        if (pre != c.pre || keccak256(abi.encode(jobId, c.defender, postState)) != c.post) revert BadPreimage();
        bool ok = keccak256(abi.encode(preState, c.step)) == postState;
        emit Judged(c.gameId, c.step, ok);
        return ok ? Verdict.DEFENDER_WINS : Verdict.CHALLENGER_WINS;
    }
}
