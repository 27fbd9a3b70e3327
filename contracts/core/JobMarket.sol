// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";
import {SafeTransfer} from "./SafeTransfer.sol";
import {Roles} from "./Roles.sol";
import {Staking} from "./Staking.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {Reputation, Kind} from "./Reputation.sol";
import {BisectionGame, Phase} from "./BisectionGame.sol";
import {IJudge} from "./IJudge.sol";

/// @title JobMarket: training jobs with escrow, claims, checkpoint commitments, challenges and payouts.
/// @notice Life of a job: post (price escrowed) → claim (solver locks collateral) → commit checkpoint
/// roots → submit result (challenge window opens, verifiers drawn from a later block) → finalize
/// (payouts credited) → withdraw. A challenge opens a bisection game; the loser's bond or collateral
/// pays the winner. A solver past its deadline is slashed and the job reopens. Every payout is a
/// credit withdrawn by its owner. There is no owner, no pause and no upgrade: no key moves funds.
contract JobMarket {
    using SafeTransfer for IERC20;

    uint8 public constant NONE = 0;
    uint8 public constant OPEN = 1;
    uint8 public constant CLAIMED = 2;
    uint8 public constant SUBMITTED = 3;
    uint8 public constant DISPUTED = 4;
    uint8 public constant FINALIZED = 5;
    uint8 public constant CANCELLED = 6;

    struct Job {
        address submitter;
        uint96 price;
        address solver;
        uint64 solverNode;
        uint32 committed; // checkpoints committed so far
        uint8 state;
        uint8 verifiers; // verifiers to draw (0: optimistic, anyone may still challenge)
        uint32 duration; // seconds from claim to result
        uint32 challengeWindow; // seconds from result to finalize
        uint32 checkpoints; // leaves in the committed sequence
        uint40 since; // when the job entered its current state
        uint96 collateral; // solver stake locked while it holds the job
        bytes32 inputs; // keccak256(abi.encode(specHash, datasetHash)): the agreed genesis of the computation
        bytes32 root; // Merkle root of all checkpoint state hashes (set by submitResult)
        bytes32 modelHash; // final model hash (the last leaf)
    }

    struct PostParams {
        bytes32 specHash;
        bytes32 datasetHash;
        uint96 price;
        uint32 duration;
        uint32 checkpoints;
        uint8 verifiers;
        uint32 challengeWindow;
        uint96 collateral;
    }

    struct Verification {
        uint64 seedBlock; // the block whose hash draws the verifiers (after the result)
        uint16 attested; // bit i: verifier i attested
        address[] drawn;
    }

    struct Dispute {
        address challenger;
        uint64 challengerNode;
        uint64 gameId;
    }

    struct Config {
        IERC20 token;
        Staking staking;
        NodeRegistry registry;
        Reputation reputation;
        BisectionGame game;
        IJudge judge;
        uint96 disputeBond;
        uint32 moveTimeout;
        uint16 verifierFeeBps;
        uint32 priorityWindow;
        uint8 maxVerifiers;
        uint32 minChallengeWindow;
    }

    IERC20 public immutable token;
    Staking public immutable staking;
    NodeRegistry public immutable registry;
    Reputation public immutable reputation;
    BisectionGame public immutable game;
    IJudge public immutable judge;
    /// Tokens a challenger posts; the solver's collateral is the other side's bond.
    uint96 public immutable disputeBond;
    uint32 public immutable moveTimeout;
    /// Share of the price paid to the verifiers that attest, in basis points.
    uint16 public immutable verifierFeeBps;
    /// Seconds after posting (or reopening) during which only nodes with a positive score may claim.
    uint32 public immutable priorityWindow;
    uint8 public immutable maxVerifiers;
    uint32 public immutable minChallengeWindow;

    uint256 public jobCount;
    mapping(uint256 => Job) private _jobs;
    mapping(uint256 => Verification) private _verification;
    mapping(uint256 => Dispute) private _disputes;
    mapping(address => uint256) public withdrawable;

    bool private transient _entered;

    error Reentrancy();
    error BadConfig();
    error ZeroAmount();
    error ZeroHash();
    error BadDuration();
    error BadCheckpoints();
    error TooManyVerifiers(uint8 maximum);
    error ChallengeWindowTooShort(uint32 minimum);
    error CollateralBelowBond(uint96 bond);
    error UnknownJob(uint256 jobId);
    error BadState(uint256 jobId, uint8 state);
    error NotSubmitter(uint256 jobId);
    error NotSolver(uint256 jobId);
    error NotNodeOwner(uint64 nodeId);
    error MissingRole(uint64 nodeId, uint8 role);
    error PriorityWindow(uint256 jobId, uint40 endsAt);
    error DeadlinePassed(uint256 jobId, uint40 deadline);
    error NotExpired(uint256 jobId, uint40 deadline);
    error BadCheckpointCount(uint32 count, uint32 committed, uint32 checkpoints);
    error ChallengeWindowClosed(uint256 jobId, uint40 endedAt);
    error ChallengeWindowOpen(uint256 jobId, uint40 endsAt);
    error CannotChallengeOwnResult(uint256 jobId);
    error DisputeNotOver(uint256 jobId, uint256 gameId, uint8 phase);
    error NoVerifiersRequested(uint256 jobId);
    error VerifiersAlreadyDrawn(uint256 jobId);
    error RandomnessNotReady(uint256 jobId, uint64 seedBlock);
    error NotDrawnVerifier(uint256 jobId);
    error AlreadyAttested(uint256 jobId);
    error NothingToWithdraw();

    event JobPosted(
        uint256 indexed jobId,
        address indexed submitter,
        bytes32 specHash,
        bytes32 datasetHash,
        uint96 price,
        uint32 duration,
        uint32 checkpoints,
        uint8 verifiers,
        uint32 challengeWindow,
        uint96 collateral
    );
    event JobStateChanged(uint256 indexed jobId, uint8 from, uint8 to);
    event JobClaimed(uint256 indexed jobId, address indexed solver, uint64 indexed node, uint40 deadline);
    event CheckpointsCommitted(uint256 indexed jobId, uint32 count, bytes32 root);
    event ResultSubmitted(uint256 indexed jobId, bytes32 root, bytes32 modelHash, uint40 challengeEndsAt, uint64 seedBlock);
    event VerifiersDrawn(uint256 indexed jobId, bytes32 seed, address[] verifiers);
    event VerifierDrawRearmed(uint256 indexed jobId, uint64 seedBlock);
    event Attested(uint256 indexed jobId, address indexed verifier, bytes32 digest);
    event DisputeOpened(uint256 indexed jobId, address indexed challenger, uint64 challengerNode, uint256 gameId);
    event DisputeSettled(uint256 indexed jobId, uint256 indexed gameId, bool solverWon);
    event SolverTimedOut(uint256 indexed jobId, address indexed solver, uint64 indexed node, uint96 slashed);
    event JobFinalized(uint256 indexed jobId, address indexed solver, uint256 solverPay, uint256 verifierPay, uint256 refund);
    event JobCancelled(uint256 indexed jobId);
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    constructor(Config memory c) {
        if (
            address(c.token) == address(0) || address(c.staking) == address(0) || address(c.registry) == address(0)
                || address(c.reputation) == address(0) || address(c.game) == address(0) || address(c.judge) == address(0)
                || c.moveTimeout == 0 || c.verifierFeeBps > 10_000 || c.maxVerifiers > 16 || c.minChallengeWindow == 0
        ) revert BadConfig();
        token = c.token;
        staking = c.staking;
        registry = c.registry;
        reputation = c.reputation;
        game = c.game;
        judge = c.judge;
        disputeBond = c.disputeBond;
        moveTimeout = c.moveTimeout;
        verifierFeeBps = c.verifierFeeBps;
        priorityWindow = c.priorityWindow;
        maxVerifiers = c.maxVerifiers;
        minChallengeWindow = c.minChallengeWindow;
    }

    modifier nonReentrant() {
        if (_entered) revert Reentrancy();
        _entered = true;
        _;
        _entered = false;
    }

    // ---- submitter --------------------------------------------------------------------------

    /// Post a job and escrow its price (needs an approval of this contract for `price`).
    function postJob(PostParams calldata p) external nonReentrant returns (uint256 jobId) {
        if (p.price == 0) revert ZeroAmount();
        if (p.specHash == 0 || p.datasetHash == 0) revert ZeroHash();
        if (p.duration == 0) revert BadDuration();
        if (p.checkpoints == 0) revert BadCheckpoints();
        if (p.verifiers > maxVerifiers) revert TooManyVerifiers(maxVerifiers);
        if (p.challengeWindow < minChallengeWindow) revert ChallengeWindowTooShort(minChallengeWindow);
        if (p.collateral < disputeBond || p.collateral == 0) revert CollateralBelowBond(disputeBond);
        jobId = ++jobCount;
        Job storage j = _jobs[jobId];
        j.submitter = msg.sender;
        j.price = p.price;
        j.state = OPEN;
        j.verifiers = p.verifiers;
        j.duration = p.duration;
        j.challengeWindow = p.challengeWindow;
        j.checkpoints = p.checkpoints;
        j.since = uint40(block.timestamp);
        j.collateral = p.collateral;
        // One slot commits to both hashes (JobPosted carries them in full): posting stays cheap.
        j.inputs = keccak256(abi.encode(p.specHash, p.datasetHash));
        emit JobPosted(
            jobId, msg.sender, p.specHash, p.datasetHash, p.price, p.duration, p.checkpoints, p.verifiers, p.challengeWindow, p.collateral
        );
        emit JobStateChanged(jobId, NONE, OPEN);
        token.pull(msg.sender, p.price);
    }

    /// Cancel an unclaimed job; the price is credited back to the submitter.
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        if (msg.sender != j.submitter) revert NotSubmitter(jobId);
        _expect(jobId, j, OPEN);
        _moveTo(jobId, j, CANCELLED);
        _credit(j.submitter, jobId, j.price);
        emit JobCancelled(jobId);
    }

    // ---- solver -----------------------------------------------------------------------------

    /// Claim an open job for one of the caller's solver nodes, locking the job's collateral.
    /// Claims are first come, first served at the posted price; during the priority window only
    /// nodes with a positive reputation score may claim.
    function claimJob(uint256 jobId, uint64 nodeId) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, OPEN);
        (address owner, uint8 roles) = registry.ownerAndRoles(nodeId);
        if (owner != msg.sender) revert NotNodeOwner(nodeId);
        if (roles & Roles.SOLVER == 0) revert MissingRole(nodeId, Roles.SOLVER);
        uint40 priorityEnds = j.since + priorityWindow;
        if (block.timestamp < priorityEnds && reputation.score(nodeId) <= 0) revert PriorityWindow(jobId, priorityEnds);
        j.solver = msg.sender;
        j.solverNode = nodeId;
        _moveTo(jobId, j, CLAIMED);
        emit JobClaimed(jobId, msg.sender, nodeId, j.since + j.duration);
        staking.lock(msg.sender, j.collateral, Roles.SOLVER);
    }

    /// Commit the Merkle root over the first `count` checkpoint state hashes (progress, before the
    /// result). The count is stored; the root is committed in the event log (the final root, which
    /// the dispute game uses, is stored by submitResult), which keeps progress commits cheap.
    function commitCheckpoints(uint256 jobId, uint32 count, bytes32 root) external nonReentrant {
        Job storage j = _solverJob(jobId);
        if (count <= j.committed || count > j.checkpoints) revert BadCheckpointCount(count, j.committed, j.checkpoints);
        if (root == 0) revert ZeroHash();
        j.committed = count;
        emit CheckpointsCommitted(jobId, count, root);
    }

    /// Submit the result: the root over all checkpoint state hashes and the final model hash (its last
    /// leaf). The challenge window opens; verifiers are drawn from the hash of the next block.
    function submitResult(uint256 jobId, bytes32 root, bytes32 modelHash) external nonReentrant {
        Job storage j = _solverJob(jobId);
        if (root == 0 || modelHash == 0) revert ZeroHash();
        j.committed = j.checkpoints;
        j.root = root;
        j.modelHash = modelHash;
        _moveTo(jobId, j, SUBMITTED);
        uint64 seedBlock;
        if (j.verifiers != 0) {
            seedBlock = uint64(block.number) + 1;
            _verification[jobId].seedBlock = seedBlock;
        }
        emit ResultSubmitted(jobId, root, modelHash, j.since + j.challengeWindow, seedBlock);
    }

    /// After the deadline anyone reopens a job whose solver sent no result: its collateral is slashed
    /// to the submitter and its node's timeout counter goes up.
    function reopenExpired(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, CLAIMED);
        uint40 deadline = j.since + j.duration;
        if (block.timestamp <= deadline) revert NotExpired(jobId, deadline);
        (address solver, uint64 node, uint96 collateral) = (j.solver, j.solverNode, j.collateral);
        _reopen(jobId, j);
        _credit(j.submitter, jobId, collateral);
        emit SolverTimedOut(jobId, solver, node, collateral);
        staking.slash(solver, collateral, address(this));
        reputation.record(node, Kind.TIMEOUT);
    }

    // ---- verifiers and challengers ----------------------------------------------------------

    /// Draw the job's verifiers, weighted by stake, from the hash of the block after the result (which
    /// the solver could not know when it committed). Anyone may call; if that block hash has aged out
    /// (256 blocks), the draw is re-armed on the next block instead.
    function drawVerifiers(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, SUBMITTED);
        if (j.verifiers == 0) revert NoVerifiersRequested(jobId);
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp >= ends) revert ChallengeWindowClosed(jobId, ends);
        Verification storage v = _verification[jobId];
        if (v.drawn.length != 0) revert VerifiersAlreadyDrawn(jobId);
        if (block.number <= v.seedBlock) revert RandomnessNotReady(jobId, v.seedBlock);
        bytes32 bh = blockhash(v.seedBlock);
        if (bh == 0) {
            v.seedBlock = uint64(block.number) + 1;
            emit VerifierDrawRearmed(jobId, v.seedBlock);
            return;
        }
        bytes32 seed = keccak256(abi.encode(bh, jobId));
        address[] memory picked = _draw(seed, j.verifiers, j.solver);
        for (uint256 i; i < picked.length; i++) v.drawn.push(picked[i]);
        emit VerifiersDrawn(jobId, seed, picked);
    }

    /// A drawn verifier attests that its replay of the sampled segments matched; `digest` commits to
    /// the hashes it computed. Attesting verifiers share the verifier fee at finalize.
    function attest(uint256 jobId, bytes32 digest) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, SUBMITTED);
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp >= ends) revert ChallengeWindowClosed(jobId, ends);
        Verification storage v = _verification[jobId];
        uint256 n = v.drawn.length;
        uint256 i;
        while (i < n && v.drawn[i] != msg.sender) i++;
        if (i == n) revert NotDrawnVerifier(jobId);
        if (v.attested & (uint16(1) << i) != 0) revert AlreadyAttested(jobId);
        v.attested |= uint16(1) << i;
        emit Attested(jobId, msg.sender, digest);
    }

    /// Challenge a submitted result: posts the dispute bond and opens a bisection game over the
    /// committed checkpoints, genesis = the job's inputs hash, claim = the model hash. `challengerNode` (0 for
    /// none) is the caller's node credited in reputation.
    function challenge(uint256 jobId, uint64 challengerNode) external nonReentrant returns (uint256 gameId) {
        Job storage j = _job(jobId);
        _expect(jobId, j, SUBMITTED);
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp >= ends) revert ChallengeWindowClosed(jobId, ends);
        if (msg.sender == j.solver) revert CannotChallengeOwnResult(jobId);
        if (challengerNode != 0) {
            (address owner,) = registry.ownerAndRoles(challengerNode);
            if (owner != msg.sender) revert NotNodeOwner(challengerNode);
        }
        _moveTo(jobId, j, DISPUTED);
        token.pull(msg.sender, disputeBond);
        gameId = game.open(
            BisectionGame.Params({
                challenger: msg.sender,
                defender: j.solver,
                judge: judge,
                moveTimeout: moveTimeout,
                n: j.checkpoints,
                root: j.root,
                genesis: j.inputs,
                claim: j.modelHash,
                context: bytes32(jobId)
            })
        );
        _disputes[jobId] = Dispute({challenger: msg.sender, challengerNode: challengerNode, gameId: uint64(gameId)});
        emit DisputeOpened(jobId, msg.sender, challengerNode, gameId);
    }

    /// Apply the outcome of a finished game. Solver won: it gets the challenger's bond and a fresh
    /// challenge window starts. Challenger won: the solver's collateral is slashed (half to the
    /// challenger, half to the submitter), the bond returns, and the job reopens.
    function settleDispute(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, DISPUTED);
        Dispute memory d = _disputes[jobId];
        uint8 phase = game.phaseOf(d.gameId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert DisputeNotOver(jobId, d.gameId, phase);
        bool solverWon = phase == Phase.DEFENDER_WON;
        delete _disputes[jobId];
        emit DisputeSettled(jobId, d.gameId, solverWon);
        if (solverWon) {
            _moveTo(jobId, j, SUBMITTED);
            _credit(j.solver, jobId, disputeBond);
            reputation.record(j.solverNode, Kind.DISPUTE_WON);
            reputation.record(d.challengerNode, Kind.DISPUTE_LOST);
        } else {
            (address solver, uint64 node, uint96 collateral) = (j.solver, j.solverNode, j.collateral);
            _reopen(jobId, j);
            uint96 half = collateral / 2;
            _credit(d.challenger, jobId, uint256(disputeBond) + half);
            _credit(j.submitter, jobId, collateral - half);
            staking.slash(solver, collateral, address(this));
            reputation.record(node, Kind.DISPUTE_LOST);
            reputation.record(d.challengerNode, Kind.DISPUTE_WON);
        }
    }

    // ---- payouts ----------------------------------------------------------------------------

    /// After the challenge window, with no dispute open, anyone finalizes: the solver is paid, each
    /// attesting verifier gets its share of the verifier fee, shares nobody earned go back to the
    /// submitter, and the collateral unlocks.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _expect(jobId, j, SUBMITTED);
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp < ends) revert ChallengeWindowOpen(jobId, ends);
        _moveTo(jobId, j, FINALIZED);
        uint256 price = j.price;
        uint256 k = j.verifiers;
        uint256 share = k == 0 ? 0 : price * verifierFeeBps / 10_000 / k;
        uint256 verifierPay;
        if (k != 0) {
            Verification storage v = _verification[jobId];
            uint16 attested = v.attested;
            for (uint256 i; i < v.drawn.length; i++) {
                if (attested & (uint16(1) << i) != 0) {
                    _credit(v.drawn[i], jobId, share);
                    verifierPay += share;
                }
            }
        }
        uint256 refund = share * k - verifierPay;
        uint256 solverPay = price - share * k;
        _credit(j.solver, jobId, solverPay);
        if (refund != 0) _credit(j.submitter, jobId, refund);
        emit JobFinalized(jobId, j.solver, solverPay, verifierPay, refund);
        staking.unlock(j.solver, j.collateral);
        reputation.record(j.solverNode, Kind.JOB_DONE);
    }

    /// Withdraw everything credited to the caller.
    function withdraw() external nonReentrant {
        uint256 amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        withdrawable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.pay(msg.sender, amount);
    }

    // ---- views ------------------------------------------------------------------------------

    function getJob(uint256 jobId) external view returns (Job memory) {
        return _job(jobId);
    }

    function verificationOf(uint256 jobId) external view returns (Verification memory) {
        _job(jobId);
        return _verification[jobId];
    }

    function disputeOf(uint256 jobId) external view returns (Dispute memory) {
        _job(jobId);
        return _disputes[jobId];
    }

    /// The time the current state ends: claim priority (open), result deadline (claimed) or
    /// challenge window (submitted); 0 otherwise.
    function stateEndsAt(uint256 jobId) external view returns (uint40) {
        Job storage j = _job(jobId);
        if (j.state == OPEN) return j.since + priorityWindow;
        if (j.state == CLAIMED) return j.since + j.duration;
        if (j.state == SUBMITTED) return j.since + j.challengeWindow;
        return 0;
    }

    // ---- internals --------------------------------------------------------------------------

    function _job(uint256 jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.state == NONE) revert UnknownJob(jobId);
    }

    function _expect(uint256 jobId, Job storage j, uint8 state) private view {
        if (j.state != state) revert BadState(jobId, j.state);
    }

    /// The caller's claimed job, before its deadline.
    function _solverJob(uint256 jobId) private view returns (Job storage j) {
        j = _job(jobId);
        _expect(jobId, j, CLAIMED);
        if (msg.sender != j.solver) revert NotSolver(jobId);
        uint40 deadline = j.since + j.duration;
        if (block.timestamp > deadline) revert DeadlinePassed(jobId, deadline);
    }

    function _moveTo(uint256 jobId, Job storage j, uint8 to) private {
        emit JobStateChanged(jobId, j.state, to);
        j.state = to;
        j.since = uint40(block.timestamp);
    }

    /// Back to OPEN without a solver: its commitments and verifier draw are forgotten.
    function _reopen(uint256 jobId, Job storage j) private {
        _moveTo(jobId, j, OPEN);
        j.solver = address(0);
        j.solverNode = 0;
        j.committed = 0;
        j.root = 0;
        j.modelHash = 0;
        delete _verification[jobId];
    }

    function _credit(address account, uint256 jobId, uint256 amount) private {
        withdrawable[account] += amount;
        emit Credited(account, jobId, amount);
    }

    /// Up to k distinct pool members, stake-weighted without replacement, never `exclude` (the
    /// solver): each pick draws a point in the weight of the members still eligible and shifts it
    /// past the ranges of those excluded so far, so it needs no retries.
    function _draw(bytes32 seed, uint256 k, address exclude) private view returns (address[] memory picked) {
        picked = new address[](k);
        uint256[] memory starts = new uint256[](k + 1); // excluded ranges, sorted by start
        uint256[] memory weights = new uint256[](k + 1);
        uint256 excluded;
        uint256 remaining = staking.totalVerifierWeight();
        (uint256 s0, uint256 w0) = staking.rangeOf(exclude);
        if (w0 != 0) {
            (starts[0], weights[0], excluded) = (s0, w0, 1);
            remaining -= w0;
        }
        uint256 count;
        for (; count < k && remaining != 0; count++) {
            uint256 r = uint256(keccak256(abi.encode(seed, count))) % remaining;
            for (uint256 i; i < excluded; i++) {
                if (r >= starts[i]) r += weights[i];
            }
            address a = staking.verifierAt(r);
            picked[count] = a;
            (uint256 st, uint256 w) = staking.rangeOf(a);
            remaining -= w;
            uint256 at = excluded++;
            while (at > 0 && starts[at - 1] > st) {
                (starts[at], weights[at]) = (starts[at - 1], weights[at - 1]);
                at--;
            }
            (starts[at], weights[at]) = (st, w);
        }
        assembly {
            mstore(picked, count) // shrink to the members actually drawn
        }
    }
}
