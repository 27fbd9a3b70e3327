// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "../core/IJudge.sol";
import {BisectionGame} from "../core/BisectionGame.sol";

/// @title TestJudge: the judge of the coordination layer's tests and of the devnet until the
/// verification issue brings the real one. Its "step function" is a hash chain:
/// leaf[i] = keccak256(abi.encode(leaf[i-1], i)), leaf[-1] = genesis. In deferred mode it answers
/// PENDING and decides later through `decide`, as a judge that opens a game one level down would.
contract TestJudge is IJudge {
    bool public immutable deferred;
    mapping(uint256 => Case) private _pending;

    error BadProof();
    error NothingPending(uint256 gameId);

    event Judged(uint256 indexed gameId, uint48 step, bool defenderWins);

    constructor(bool deferred_) {
        deferred = deferred_;
    }

    /// The honest leaf after step `step` from `pre`.
    function stepOf(bytes32 pre, uint48 step) public pure returns (bytes32) {
        return keccak256(abi.encode(pre, step));
    }

    /// Proof data 0xbad0 stands for a malformed proof: the call reverts and the game is unchanged.
    /// Proof data 0xbad1 makes it answer an invalid verdict (7), which the game must refuse.
    function judge(Case calldata c, bytes calldata proof) external returns (uint8) {
        if (keccak256(proof) == keccak256(hex"bad0")) revert BadProof();
        if (keccak256(proof) == keccak256(hex"bad1")) return 7;
        if (deferred) {
            _pending[c.gameId] = c;
            return Verdict.PENDING;
        }
        bool ok = stepOf(c.pre, c.step) == c.post;
        emit Judged(c.gameId, c.step, ok);
        return ok ? Verdict.DEFENDER_WINS : Verdict.CHALLENGER_WINS;
    }

    /// Deferred mode: decide a pending case and report to the game.
    function decide(BisectionGame game, uint256 gameId) external {
        Case memory c = _pending[gameId];
        if (c.gameId == 0) revert NothingPending(gameId);
        delete _pending[gameId];
        bool ok = stepOf(c.pre, c.step) == c.post;
        emit Judged(gameId, c.step, ok);
        game.resolve(gameId, ok);
    }
}
