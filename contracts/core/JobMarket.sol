// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";
import {SafeTransfer} from "./SafeTransfer.sol";
import {Roles} from "./Roles.sol";
import {Kind} from "./Reputation.sol";
import {BisectionGame, Phase} from "./BisectionGame.sol";
import {JobMarketBase} from "./JobMarketBase.sol";
import {JobMarketVerifiers} from "./JobMarketVerifiers.sol";

/// @title JobMarket: training jobs with escrow, claims, checkpoint commitments, sampled verification,
/// challenges and payouts (the life of a job: JobMarketBase).
/// @notice The verifier rounds (draw, commit, reveal, replacement, probe disputes) are
/// JobMarketVerifiers' code, created by this constructor with the same Config and run by
/// delegatecall on this contract's storage, as Aave V2's pool runs its collateral manager: one
/// market, one ledger, one address, code split only because of the EIP-170 size limit.
contract JobMarket is JobMarketBase {
    using SafeTransfer for IERC20;

    /// The verifier-round code (fixed here; it refuses to run except by this delegatecall).
    address public immutable verifiers;

    constructor(Config memory c) JobMarketBase(c) {
        verifiers = address(new JobMarketVerifiers(c));
    }

    // ---- submitter --------------------------------------------------------------------------

    /// Post a job and escrow its price (needs an approval of this contract for `price`).
    /// Verifier jobs need every segment to have a step inside it (interval >= 2, steps >= 2, no last
    /// segment of one step: a probe is a state between checkpoints) and a challenge window of at
    /// least verifyTime() + minChallengeWindow (the draw must fit in the rest).
    function postJob(PostParams calldata p) external nonReentrant returns (uint256 jobId) {
        Manifest calldata mf = p.manifest;
        if (p.price == 0) revert ZeroAmount();
        if (mf.specHash == 0 || mf.datasetRoot == 0) revert ZeroHash();
        if (p.duration == 0) revert BadDuration();
        if (
            p.steps == 0 || p.checkpointInterval == 0
                || (p.verifiers != 0 && (p.steps < 2 || p.checkpointInterval < 2 || p.steps % p.checkpointInterval == 1))
        ) {
            revert BadSteps(p.steps, p.checkpointInterval);
        }
        if (p.verifiers > maxVerifiers) revert TooManyVerifiers(maxVerifiers);
        if ((p.verifiers == 0) != (p.samples == 0) || p.samples > MAX_SAMPLES) revert BadSampling(p.verifiers, p.samples);
        uint32 minWindow = p.verifiers == 0 ? minChallengeWindow : minChallengeWindow + verifyTime();
        if (p.challengeWindow < minWindow) revert ChallengeWindowTooShort(minWindow);
        if (p.collateral < disputeBond || p.collateral == 0) revert CollateralBelowBond(disputeBond);
        jobId = ++jobCount;
        JobRecord storage j = _jobs[jobId];
        j.submitter = msg.sender;
        j.price = p.price;
        j.state = OPEN;
        j.verifiers = p.verifiers;
        j.samples = p.samples;
        j.duration = p.duration;
        j.challengeWindow = p.challengeWindow;
        (j.steps, j.checkpointInterval) = (p.steps, p.checkpointInterval);
        j.since = uint40(block.timestamp);
        j.collateral = p.collateral;
        bytes32 manifestHash = keccak256(abi.encode(mf));
        j.inputs = manifestHash;
        emit JobPosted(
            jobId,
            msg.sender,
            mf.specHash,
            mf.datasetRoot,
            manifestHash,
            p.price,
            p.duration,
            p.steps,
            p.checkpointInterval,
            (p.steps - 1) / p.checkpointInterval + 1,
            p.verifiers,
            p.samples,
            p.challengeWindow,
            p.collateral
        );
        emit JobStateChanged(jobId, NONE, OPEN);
        token.pull(msg.sender, p.price);
    }

    /// Cancel an unclaimed job; the price is credited back to the submitter.
    function cancelJob(uint256 jobId) external nonReentrant {
        JobRecord storage j = _job(jobId);
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
        JobRecord storage j = _job(jobId);
        _expect(jobId, j, OPEN);
        (address owner, uint8 roles) = registry.ownerAndRoles(nodeId);
        if (owner != msg.sender) revert NotNodeOwner(nodeId);
        if (roles & Roles.SOLVER == 0) revert MissingRole(nodeId, Roles.SOLVER);
        if (nodeId > type(uint32).max) revert NodeIdTooLarge(nodeId);
        uint40 priorityEnds = j.since + priorityWindow;
        if (block.timestamp < priorityEnds && reputation.score(nodeId) <= 0) revert PriorityWindow(jobId, priorityEnds);
        j.solver = msg.sender;
        j.solverNode = uint32(nodeId);
        _moveTo(jobId, j, CLAIMED);
        emit JobClaimed(jobId, msg.sender, nodeId, j.since + j.duration);
        staking.lock(msg.sender, j.collateral, Roles.SOLVER);
    }

    /// Commit the Merkle root over the first `count` checkpoint leaves (progress, before the result).
    /// The count is stored; the root is committed in the event log (the final root, which the
    /// dispute game uses, is stored by submitResult), which keeps progress commits cheap.
    function commitCheckpoints(uint256 jobId, uint32 count, bytes32 root) external nonReentrant {
        JobRecord storage j = _solverJob(jobId);
        uint32 n = _checkpoints(j);
        if (count <= j.committed || count > n) revert BadCheckpointCount(count, j.committed, n);
        if (root == 0) revert ZeroHash();
        j.committed = count;
        emit CheckpointsCommitted(jobId, count, root);
    }

    /// Submit the result: the Merkle root over the checkpoint leaves checkpointLeaf(jobId, solver,
    /// stateHash_i) and the final model state hash (that of the last leaf). The challenge window
    /// opens; verifiers are drawn from the hash of the next block.
    function submitResult(uint256 jobId, bytes32 root, bytes32 modelHash) external nonReentrant {
        JobRecord storage j = _solverJob(jobId);
        if (root == 0 || modelHash == 0) revert ZeroHash();
        j.committed = _checkpoints(j);
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
        JobRecord storage j = _job(jobId);
        _expect(jobId, j, CLAIMED);
        uint40 deadline = j.since + j.duration;
        if (block.timestamp <= deadline) revert NotExpired(jobId, deadline);
        (address solver, uint64 node, uint96 collateral) = (j.solver, j.solverNode, j.collateral);
        _reopen(jobId, j); // no verifiers yet: nothing to unlock
        _credit(j.submitter, jobId, collateral);
        emit SolverTimedOut(jobId, solver, node, collateral);
        staking.slash(solver, collateral, address(this));
        reputation.record(node, Kind.TIMEOUT);
    }

    // ---- verifiers --------------------------------------------------------------------------

    // ---- verifiers (JobMarketVerifiers, by delegatecall) ------------------------------------

    /// Draw the job's verifiers, or the replacements armed so far (JobMarketVerifiers.drawVerifiers).
    function drawVerifiers(uint256) external {
        _delegate();
    }

    /// A drawn verifier commits: commitment = commitmentOf(agree, probes, salt, verifier).
    function attest(uint256, bytes32) external {
        _delegate();
    }

    /// A committed verifier opens its commitment: agree flag, probe state hashes, salt.
    function reveal(uint256, bool, bytes32[] calldata, bytes32) external {
        _delegate();
    }

    /// Replace a drawn verifier that missed its commit deadline (it pays the no-show penalty).
    function replaceVerifier(uint256, uint256) external {
        _delegate();
    }

    /// The solver disputes one revealed probe: a step game with the verifier defending.
    /// Args: jobId, slot, probes, salt, index, preState, proof. Returns the game id.
    function disputeProbe(uint256, uint256, bytes32[] calldata, bytes32, uint256, bytes32, bytes32[] calldata)
        external
        returns (uint256)
    {
        _delegate();
    }

    /// Move the bonds of a finished probe game.
    function settleProbeDispute(uint256) external {
        _delegate();
    }

    // ---- challengers ------------------------------------------------------------------------

    /// Challenge a submitted result: posts the dispute bond and opens a bisection game over the
    /// committed checkpoint leaves, genesis = the manifest hash, claim = the solver's leaf of the model
    /// hash. `challengerNode` (0 for none) is the caller's node credited in reputation.
    function challenge(uint256 jobId, uint64 challengerNode) external nonReentrant returns (uint256 gameId) {
        JobRecord storage j = _job(jobId);
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
                judge: checkpointJudge,
                moveTimeout: moveTimeout,
                n: _checkpoints(j),
                root: j.root,
                genesis: j.inputs,
                claim: checkpointLeaf(jobId, j.solver, j.modelHash),
                context: bytes32(jobId)
            })
        );
        _disputes[jobId] = Dispute({challenger: msg.sender, challengerNode: challengerNode, gameId: uint64(gameId)});
        emit DisputeOpened(jobId, msg.sender, challengerNode, gameId);
    }

    /// Apply the outcome of a finished game. Solver won: it gets the challenger's bond and a fresh
    /// challenge window starts. Challenger won: the solver's collateral is slashed (half to the
    /// challenger, half to the submitter), the bond returns, the verifiers' locks are released
    /// (those defending a probe keep theirs until that game settles) and the job reopens.
    function settleDispute(uint256 jobId) external nonReentrant {
        JobRecord storage j = _job(jobId);
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
            address[] memory release = _reopen(jobId, j);
            uint96 half = collateral / 2;
            _credit(d.challenger, jobId, uint256(disputeBond) + half);
            _credit(j.submitter, jobId, collateral - half);
            staking.slash(solver, collateral, address(this));
            for (uint256 i; i < release.length; i++) staking.unlock(release[i], verifierLock);
            reputation.record(node, Kind.DISPUTE_LOST);
            reputation.record(d.challengerNode, Kind.DISPUTE_WON);
        }
    }

    // ---- payouts ----------------------------------------------------------------------------

    /// After the challenge window, with no dispute open, anyone finalizes: the solver is paid; each
    /// verifier that revealed agreement and lost no probe dispute gets its share of the verifier fee;
    /// a drawn verifier that never revealed forfeits the no-show penalty to the submitter; shares nobody
    /// earned go back to the submitter; the collateral and the verifiers' locks are released.
    function finalize(uint256 jobId) external nonReentrant {
        JobRecord storage j = _job(jobId);
        _expect(jobId, j, SUBMITTED);
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp < ends) revert ChallengeWindowOpen(jobId, ends);
        uint256 k = j.verifiers;
        Verification storage v = _verification[jobId];
        // A job without verifiers has no verification record: skip its (cold) reads.
        if (k != 0 && v.openProbes != 0) revert ProbeDisputesOpen(jobId, v.openProbes);
        _moveTo(jobId, j, FINALIZED);
        uint256 price = j.price;
        uint256 share = k == 0 ? 0 : price * verifierFeeBps / 10_000 / k;
        uint256 verifierPay;
        uint256 n = k == 0 ? 0 : v.slots.length;
        address[] memory release = new address[](n);
        bool[] memory noShow = new bool[](n);
        uint256 penalties;
        for (uint256 i; i < n; i++) {
            Slot storage s = v.slots[i];
            if (s.status == SLOT_REPLACED || s.probe == PROBE_SOLVER_WON) continue; // lock already released
            release[i] = s.verifier;
            if (s.status != SLOT_REVEALED) {
                noShow[i] = true;
                penalties += noShowPenalty;
                emit VerifierNoShow(jobId, s.verifier, i, noShowPenalty);
            } else if (s.agree) {
                _credit(s.verifier, jobId, share);
                verifierPay += share;
            }
        }
        uint256 refund = share * k - verifierPay;
        uint256 solverPay = price - share * k;
        _credit(j.solver, jobId, solverPay);
        if (refund + penalties != 0) _credit(j.submitter, jobId, refund + penalties);
        emit JobFinalized(jobId, j.solver, solverPay, verifierPay, refund, penalties);
        staking.unlock(j.solver, j.collateral);
        for (uint256 i; i < n; i++) {
            if (release[i] == address(0)) continue;
            if (noShow[i]) _release(release[i], noShowPenalty);
            else staking.unlock(release[i], verifierLock);
        }
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
        JobRecord storage j = _job(jobId);
        Job memory out;
        (out.submitter, out.price, out.solver, out.solverNode, out.committed) = (j.submitter, j.price, j.solver, j.solverNode, j.committed);
        (out.state, out.verifiers, out.samples, out.duration, out.challengeWindow) = (j.state, j.verifiers, j.samples, j.duration, j.challengeWindow);
        (out.steps, out.checkpointInterval, out.checkpoints, out.since, out.collateral) =
            (j.steps, j.checkpointInterval, _checkpoints(j), j.since, j.collateral);
        (out.inputs, out.root, out.modelHash) = (j.inputs, j.root, j.modelHash);
        return out;
    }

    /// What the verification judges read of a job (contracts/verify/IJobShape.sol): the manifest hash,
    /// the solver the leaves are bound to, the steps and the checkpoint interval.
    function jobShape(uint256 jobId) external view returns (bytes32 inputs, address solver, uint32 steps, uint32 checkpointInterval) {
        JobRecord storage j = _job(jobId);
        return (j.inputs, j.solver, j.steps, j.checkpointInterval);
    }

    function verificationOf(uint256 jobId) external view returns (Verification memory) {
        _job(jobId);
        return _verification[jobId];
    }

    function disputeOf(uint256 jobId) external view returns (Dispute memory) {
        _job(jobId);
        return _disputes[jobId];
    }

    /// The probe game `gameId` of the market (jobId 0: none, or settled).
    function probeDisputeOf(uint256 gameId) external view returns (ProbeDispute memory) {
        return _probeDisputes[gameId];
    }

    /// The time the current state ends: claim priority (open), result deadline (claimed) or
    /// challenge window (submitted); 0 otherwise.
    function stateEndsAt(uint256 jobId) external view returns (uint40) {
        JobRecord storage j = _job(jobId);
        if (j.state == OPEN) return j.since + priorityWindow;
        if (j.state == CLAIMED) return j.since + j.duration;
        if (j.state == SUBMITTED) return j.since + j.challengeWindow;
        return 0;
    }

    /// Where `verifier` must probe job `jobId` (after the first draw): for each probe in reveal order,
    /// the segment it lies in (replayed from checkpoint segment - 1, or the initial state) and the
    /// step count of the probed state, strictly inside the segment.
    function probesOf(uint256 jobId, address verifier) external view returns (uint32[] memory segments, uint64[] memory steps) {
        JobRecord storage j = _job(jobId);
        Verification storage v = _verification[jobId];
        if (v.seed == 0) return (segments, steps);
        return _probes(j, v, verifier);
    }

    // ---- internals --------------------------------------------------------------------------

    /// Run the calldata as JobMarketVerifiers' code on this contract's storage; return or revert
    /// with its result.
    function _delegate() private {
        address target = verifiers;
        assembly ("memory-safe") {
            let ptr := mload(0x40) // free memory: calldata in, return data out
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), target, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    /// The caller's claimed job, before its deadline.
    function _solverJob(uint256 jobId) private view returns (JobRecord storage j) {
        j = _job(jobId);
        _expect(jobId, j, CLAIMED);
        if (msg.sender != j.solver) revert NotSolver(jobId);
        uint40 deadline = j.since + j.duration;
        if (block.timestamp > deadline) revert DeadlinePassed(jobId, deadline);
    }

    function _moveTo(uint256 jobId, JobRecord storage j, uint8 to) private {
        emit JobStateChanged(jobId, j.state, to);
        j.state = to;
        j.since = uint40(block.timestamp);
    }

    /// Back to OPEN without a solver: its commitments and verifier draw are forgotten. Returns the
    /// verifiers whose locks the caller must release (not those replaced, nor those whose probe
    /// game is still open or already lost: that game's settlement handles their lock).
    function _reopen(uint256 jobId, JobRecord storage j) private returns (address[] memory release) {
        _moveTo(jobId, j, OPEN);
        j.solver = address(0);
        j.solverNode = 0;
        j.committed = 0;
        j.root = 0;
        j.modelHash = 0;
        if (j.verifiers == 0) return release; // no verification record
        Verification storage v = _verification[jobId];
        uint256 n = v.slots.length;
        release = new address[](n);
        uint256 count;
        for (uint256 i; i < n; i++) {
            Slot storage s = v.slots[i];
            if (s.status != SLOT_REPLACED && s.probe != PROBE_OPEN && s.probe != PROBE_SOLVER_WON) release[count++] = s.verifier;
        }
        assembly ("memory-safe") {
            mstore(release, count) // shrink to the verifiers actually listed
        }
        if (n != 0 || v.seedBlock != 0) {
            delete v.slots;
            (v.seedBlock, v.pending, v.uncommitted, v.openProbes, v.seed) = (0, 0, 0, 0, 0);
            v.round += 1;
        }
    }
}
