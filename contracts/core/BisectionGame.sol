// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJudge, Verdict} from "./IJudge.sol";
import {MerkleProof} from "./MerkleProof.sol";

/// Phases of a game.
library Phase {
    uint8 internal constant NONE = 0;
    uint8 internal constant DEFENDER_MOVES = 1; // reveal the leaf at the midpoint
    uint8 internal constant CHALLENGER_MOVES = 2; // agree or disagree with the revealed leaf
    uint8 internal constant JUDGING = 3; // one step left: anyone calls the judge (the defender must see it done)
    uint8 internal constant AWAITING_JUDGE = 4; // the judge answered PENDING and will call resolve
    uint8 internal constant DEFENDER_WON = 5;
    uint8 internal constant CHALLENGER_WON = 6;
}

/// @title BisectionGame: a generic interactive dispute over a sequence of leaves.
/// @notice The defender claims the chain of steps genesis → L[0] → … → L[n-1] = claim; the challenger
/// says the claim is wrong. Rooted games (level 0): the defender committed a Merkle root over the n
/// leaves; each round it reveals the leaf at the midpoint of the disputed range with a Merkle proof and
/// the challenger agrees or disagrees, halving the range. Unrooted games (root 0, the deeper levels,
/// docs/verification.md §4): no commitment in advance; the endpoints are fixed and every revealed leaf
/// binds the defender once given. An unrooted game may have an arity k > 2 (openWithArity): each round
/// the defender reveals the k-1 leaves that cut the disputed range into k parts and the challenger names
/// the first part it disputes, so a range of n steps takes ceil(log_k n) rounds. When one step remains,
/// the agreed leaf before it and the defender's leaf after it go to the judge. Every move has a
/// deadline; the party that misses it loses. The game holds no money: its creator (the job market)
/// holds both parties' bonds and reads the outcome. Levels nest: a judge may open a game one level down.
contract BisectionGame {

    struct Params {
        address challenger;
        address defender;
        IJudge judge;
        uint32 moveTimeout; // seconds per move
        uint48 n; // leaves in the sequence (>= 1)
        bytes32 root; // defender's Merkle root over the leaves; 0: unrooted
        bytes32 genesis; // agreed state before leaf 0
        bytes32 claim; // defender's final leaf L[n-1], disputed
        bytes32 context; // passed to the judge unchanged
    }

    struct Game {
        address challenger;
        uint40 deadline;
        uint8 phase;
        uint8 arity; // parts per round: 2 (bisection) or up to 64 (unrooted games only)
        address defender;
        uint32 moveTimeout;
        uint48 n;
        IJudge judge;
        uint48 agreed; // leaves L[0..agreed-1] are agreed; pre = agreed == 0 ? genesis : L[agreed-1]
        uint48 disputed; // the defender's L[disputed-1] is disputed; post = that leaf
        bytes32 root;
        bytes32 pre;
        bytes32 post;
        bytes32 revealed; // the defender's midpoint leaf (arity 2) or keccak256 of its k-1 leaves, while the challenger moves
        bytes32 context;
    }

    uint256 public gameCount;
    mapping(uint256 => Game) private _games;

    error BadParams();
    error UnknownGame(uint256 gameId);
    error WrongPhase(uint256 gameId, uint8 phase);
    error NotYourMove(uint256 gameId, address expected);
    error MoveTooLate(uint256 gameId, uint40 deadline);
    error NotTimedOut(uint256 gameId, uint40 deadline);
    error BadMerkleProof(uint256 gameId, uint48 index);
    error NotJudge(uint256 gameId);
    error BadVerdict(uint8 verdict);
    error BadArity(uint8 arity);
    error WrongMove(uint256 gameId);
    error BadLeaves(uint256 gameId, uint256 expected);
    error BadPart(uint256 gameId, uint256 part);

    event GameOpened(
        uint256 indexed gameId,
        address indexed creator,
        address indexed challenger,
        address defender,
        uint48 n,
        bytes32 root,
        bytes32 genesis,
        bytes32 claim,
        bytes32 context
    );
    event LeafRevealed(uint256 indexed gameId, uint48 index, bytes32 leaf, uint40 deadline);
    event LeafAnswered(uint256 indexed gameId, bool agree, uint48 agreed, uint48 disputed, uint40 deadline);
    /// An unrooted k-ary round: the leaves after steps `cuts` of the range (agreed, disputed].
    event LeavesRevealed(uint256 indexed gameId, uint48 agreed, uint48 disputed, bytes32[] leaves, uint40 deadline);
    event PartChosen(uint256 indexed gameId, uint256 part, uint48 agreed, uint48 disputed, uint40 deadline);
    event JudgeCalled(uint256 indexed gameId, uint48 step, bytes32 pre, bytes32 post, uint8 verdict);
    event GameResolved(uint256 indexed gameId, bool defenderWon, bool byTimeout);

    uint8 public constant MAX_ARITY = 64;

    /// Open a bisection game (arity 2; root 0 = unrooted). The caller (e.g. the job market) is named in
    /// GameOpened; it reads the outcome with phaseOf.
    function open(Params calldata p) external returns (uint256 gameId) {
        return _open(p, 2);
    }

    /// Open an unrooted game whose rounds cut the disputed range into `arity` parts (2..MAX_ARITY).
    function openWithArity(Params calldata p, uint8 arity) external returns (uint256 gameId) {
        if (arity < 2 || arity > MAX_ARITY || (arity != 2 && p.root != 0)) revert BadArity(arity);
        return _open(p, arity);
    }

    function _open(Params calldata p, uint8 arity) private returns (uint256 gameId) {
        if (
            p.challenger == address(0) || p.defender == address(0) || p.challenger == p.defender
                || address(p.judge) == address(0) || p.moveTimeout == 0 || p.n == 0
        ) revert BadParams();
        gameId = ++gameCount;
        Game storage g = _games[gameId];
        g.arity = arity;
        g.challenger = p.challenger;
        g.defender = p.defender;
        g.moveTimeout = p.moveTimeout;
        g.judge = p.judge;
        g.n = p.n;
        g.disputed = p.n;
        g.root = p.root;
        g.pre = p.genesis;
        g.post = p.claim;
        g.context = p.context;
        g.phase = p.n == 1 ? Phase.JUDGING : Phase.DEFENDER_MOVES;
        g.deadline = uint40(block.timestamp) + p.moveTimeout;
        emit GameOpened(gameId, msg.sender, p.challenger, p.defender, p.n, p.root, p.genesis, p.claim, p.context);
    }

    /// Defender (arity 2): reveal L[mid-1], mid = midpoint of the disputed range, with its Merkle proof
    /// (an unrooted game takes an empty proof).
    function reveal(uint256 gameId, bytes32 leaf, bytes32[] calldata proof) external {
        Game storage g = _move(gameId, Phase.DEFENDER_MOVES);
        if (g.arity != 2) revert WrongMove(gameId);
        uint48 index = (g.agreed + g.disputed) / 2 - 1;
        if (g.root != 0 && !MerkleProof.verify(g.root, g.n, index, leaf, proof)) revert BadMerkleProof(gameId, index);
        g.revealed = leaf;
        g.phase = Phase.CHALLENGER_MOVES;
        g.deadline = uint40(block.timestamp) + g.moveTimeout;
        emit LeafRevealed(gameId, index, leaf, g.deadline);
    }

    /// Challenger (arity 2): agree (the error is after the midpoint) or disagree (at or before it).
    function answer(uint256 gameId, bool agree) external {
        Game storage g = _move(gameId, Phase.CHALLENGER_MOVES);
        if (g.arity != 2) revert WrongMove(gameId);
        uint48 mid = (g.agreed + g.disputed) / 2;
        if (agree) {
            g.agreed = mid;
            g.pre = g.revealed;
        } else {
            g.disputed = mid;
            g.post = g.revealed;
        }
        g.phase = g.disputed - g.agreed == 1 ? Phase.JUDGING : Phase.DEFENDER_MOVES;
        g.deadline = uint40(block.timestamp) + g.moveTimeout;
        emit LeafAnswered(gameId, agree, g.agreed, g.disputed, g.deadline);
    }

    /// The cut points of the disputed range (agreed, disputed] of an arity-k round: m = min(k, width)
    /// parts, cut i (1 <= i < m) after step agreed + floor(i * width / m). The defender reveals the
    /// leaf after each cut, i.e. L[cut - 1].
    function cutsOf(uint48 agreed, uint48 disputed, uint8 arity) public pure returns (uint48[] memory cuts) {
        uint256 width = disputed - agreed;
        uint256 m = width < arity ? width : arity;
        cuts = new uint48[](m - 1);
        for (uint256 i = 1; i < m; i++) cuts[i - 1] = uint48(agreed + (i * width) / m);
    }

    /// Defender (arity k > 2): reveal the leaves after each cut of the disputed range (cutsOf).
    function revealMany(uint256 gameId, bytes32[] calldata leaves) external {
        Game storage g = _move(gameId, Phase.DEFENDER_MOVES);
        if (g.arity == 2) revert WrongMove(gameId);
        uint256 width = g.disputed - g.agreed;
        uint256 want = (width < g.arity ? width : g.arity) - 1;
        if (leaves.length != want) revert BadLeaves(gameId, want);
        g.revealed = keccak256(abi.encodePacked(leaves));
        g.phase = Phase.CHALLENGER_MOVES;
        g.deadline = uint40(block.timestamp) + g.moveTimeout;
        emit LeavesRevealed(gameId, g.agreed, g.disputed, leaves, g.deadline);
    }

    /// Challenger (arity k > 2): name the first part (0..m-1) whose end leaf it disputes, passing the
    /// revealed leaves back (checked against their hash; they are in the LeavesRevealed event).
    function choosePart(uint256 gameId, uint256 part, bytes32[] calldata leaves) external {
        Game storage g = _move(gameId, Phase.CHALLENGER_MOVES);
        if (g.arity == 2) revert WrongMove(gameId);
        if (keccak256(abi.encodePacked(leaves)) != g.revealed) revert BadLeaves(gameId, leaves.length);
        uint256 m = leaves.length + 1;
        if (part >= m) revert BadPart(gameId, part);
        // Part j runs from cut j to cut j+1 (cut 0 = agreed, cut m = disputed).
        if (part != 0) g.pre = leaves[part - 1];
        if (part != m - 1) g.post = leaves[part];
        (g.agreed, g.disputed) = _part(g.agreed, g.disputed, part, m);
        g.phase = g.disputed - g.agreed == 1 ? Phase.JUDGING : Phase.DEFENDER_MOVES;
        g.deadline = uint40(block.timestamp) + g.moveTimeout;
        emit PartChosen(gameId, part, g.agreed, g.disputed, g.deadline);
    }

    function _part(uint48 agreed, uint48 disputed, uint256 part, uint256 m) private pure returns (uint48, uint48) {
        uint256 width = disputed - agreed;
        return (uint48(agreed + (part * width) / m), uint48(agreed + ((part + 1) * width) / m));
    }

    /// Hand the last step to the judge with the caller's proof data. Anyone may call. If nobody has
    /// by the deadline, the defender loses: the proof data may need preimages only the defender
    /// holds (e.g. the next level's commitment inside its leaf), so showing its step is its burden.
    function callJudge(uint256 gameId, bytes calldata proof) external {
        Game storage g = _move(gameId, Phase.JUDGING);
        g.phase = Phase.AWAITING_JUDGE; // before the external call: a re-entering caller finds the game taken
        IJudge.Case memory c = IJudge.Case({
            gameId: gameId,
            context: g.context,
            step: g.agreed,
            n: g.n,
            pre: g.pre,
            post: g.post,
            challenger: g.challenger,
            defender: g.defender
        });
        uint8 verdict = g.judge.judge(c, proof);
        emit JudgeCalled(gameId, c.step, c.pre, c.post, verdict);
        if (verdict == Verdict.PENDING) return;
        if (verdict != Verdict.DEFENDER_WINS && verdict != Verdict.CHALLENGER_WINS) revert BadVerdict(verdict);
        if (g.phase == Phase.AWAITING_JUDGE) _finish(gameId, g, verdict == Verdict.DEFENDER_WINS, false);
    }

    /// A judge that answered PENDING delivers its verdict.
    function resolve(uint256 gameId, bool defenderWins) external {
        Game storage g = _game(gameId);
        if (g.phase != Phase.AWAITING_JUDGE) revert WrongPhase(gameId, g.phase);
        if (msg.sender != address(g.judge)) revert NotJudge(gameId);
        _finish(gameId, g, defenderWins, false);
    }

    /// After a missed deadline anyone ends the game: the party whose move it was loses.
    function timeout(uint256 gameId) external {
        Game storage g = _game(gameId);
        uint8 phase = g.phase;
        if (phase != Phase.DEFENDER_MOVES && phase != Phase.CHALLENGER_MOVES && phase != Phase.JUDGING) revert WrongPhase(gameId, phase);
        if (block.timestamp <= g.deadline) revert NotTimedOut(gameId, g.deadline);
        // The defender misses a reveal or the judge call; the challenger misses an answer.
        _finish(gameId, g, phase == Phase.CHALLENGER_MOVES, true);
    }

    // ---- views ------------------------------------------------------------------------------

    function getGame(uint256 gameId) external view returns (Game memory) {
        return _game(gameId);
    }

    function phaseOf(uint256 gameId) external view returns (uint8) {
        return _games[gameId].phase;
    }

    /// The leaf index the defender must reveal next (meaningful in Phase.DEFENDER_MOVES).
    function nextIndex(uint256 gameId) external view returns (uint48) {
        Game storage g = _game(gameId);
        return (g.agreed + g.disputed) / 2 - 1;
    }

    // ---- internals --------------------------------------------------------------------------

    function _game(uint256 gameId) private view returns (Game storage g) {
        g = _games[gameId];
        if (g.phase == Phase.NONE) revert UnknownGame(gameId);
    }

    /// Checks the phase, the mover (the phase says whose move it is; judging is open to anyone) and the deadline.
    function _move(uint256 gameId, uint8 phase) private view returns (Game storage g) {
        g = _game(gameId);
        if (g.phase != phase) revert WrongPhase(gameId, g.phase);
        address mover = phase == Phase.DEFENDER_MOVES ? g.defender : phase == Phase.CHALLENGER_MOVES ? g.challenger : address(0);
        if (mover != address(0) && msg.sender != mover) revert NotYourMove(gameId, mover);
        if (block.timestamp > g.deadline) revert MoveTooLate(gameId, g.deadline);
    }

    function _finish(uint256 gameId, Game storage g, bool defenderWon, bool byTimeout) private {
        g.phase = defenderWon ? Phase.DEFENDER_WON : Phase.CHALLENGER_WON;
        g.deadline = 0;
        emit GameResolved(gameId, defenderWon, byTimeout);
    }
}
