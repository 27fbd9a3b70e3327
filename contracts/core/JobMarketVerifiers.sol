// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";
import {SafeTransfer} from "./SafeTransfer.sol";
import {Roles} from "./Roles.sol";
import {BisectionGame, Phase} from "./BisectionGame.sol";
import {MerkleProof} from "./MerkleProof.sol";
import {JobMarketBase} from "./JobMarketBase.sol";

/// @title JobMarketVerifiers: the job market's verifier rounds (docs/verification.md §6), run by
/// JobMarket through delegatecall on the market's storage, tokens and stake permissions.
/// @notice After the result, k verifiers are drawn by free stake from a later block hash; each
/// commits (attest) within commitPeriod, then reveals its agree flag and the state hashes at its
/// probe steps (probesOf) within revealPeriod. The solver may dispute one wrong probe per verifier:
/// a step game from the checkpoint before it, the verifier defending, both sides bonded. A drawn
/// verifier that misses the commit deadline is replaced while the window allows and pays the
/// no-show penalty. Called directly (not by delegatecall) every function reverts.
contract JobMarketVerifiers is JobMarketBase {
    using SafeTransfer for IERC20;

    address private immutable _self;

    error NotDelegated();

    constructor(Config memory c) JobMarketBase(c) {
        _self = address(this);
    }

    modifier onlyDelegated() {
        if (address(this) == _self) revert NotDelegated();
        _;
    }

    /// Draw verifiers, weighted by free stake, from the hash of a block after the result (or after a
    /// replacement was armed), which nobody could know when the solver committed. The first call draws
    /// the job's `verifiers`; later calls draw the replacements armed by replaceVerifier. Everyone drawn
    /// so far and the solver are excluded. Each drawn verifier gets `verifierLock` of its stake locked
    /// and commitPeriod seconds to commit. Anyone may call; if the seed block hash aged out (256
    /// blocks), the draw is re-armed on the next block instead.
    function drawVerifiers(uint256 jobId) external onlyDelegated nonReentrant {
        JobRecord storage j = _job(jobId);
        _expectVerifying(jobId, j);
        if (j.verifiers == 0) revert NoVerifiersRequested(jobId);
        Verification storage v = _verification[jobId];
        bool first = v.seed == 0;
        if (!first && v.pending == 0) revert VerifiersAlreadyDrawn(jobId);
        _expectTimeToVerify(jobId, j);
        if (block.number <= v.seedBlock) revert RandomnessNotReady(jobId, v.seedBlock);
        bytes32 bh = blockhash(v.seedBlock);
        if (bh == 0) {
            v.seedBlock = uint64(block.number) + 1;
            emit VerifierDrawRearmed(jobId, v.seedBlock);
            return;
        }
        uint256 firstSlot = v.slots.length;
        bytes32 seed = keccak256(abi.encode(bh, jobId, firstSlot));
        uint256 want = first ? j.verifiers : v.pending;
        address[] memory exclude = new address[](firstSlot + 1);
        exclude[0] = j.solver;
        for (uint256 i; i < firstSlot; i++) exclude[i + 1] = v.slots[i].verifier;
        address[] memory picked = staking.drawVerifiers(seed, want, exclude);
        if (first) v.seed = seed;
        v.pending = 0;
        v.uncommitted += uint8(picked.length);
        uint40 commitBy = uint40(block.timestamp) + commitPeriod;
        for (uint256 i; i < picked.length; i++) {
            v.slots.push(Slot({verifier: picked[i], commitBy: commitBy, status: SLOT_DRAWN, agree: false, probe: PROBE_NONE, commitment: 0}));
        }
        emit VerifiersDrawn(jobId, seed, firstSlot, picked, commitBy, commitBy + revealPeriod);
        for (uint256 i; i < picked.length; i++) staking.lock(picked[i], verifierLock, Roles.VERIFIER);
    }

    /// A drawn verifier commits to its replay result before its commit deadline:
    /// commitment = commitmentOf(agree, probes, salt, verifier) (docs/verification.md §6).
    function attest(uint256 jobId, bytes32 commitment) external onlyDelegated nonReentrant {
        JobRecord storage j = _job(jobId);
        _expectVerifying(jobId, j);
        Verification storage v = _verification[jobId];
        (Slot storage s, uint256 slot) = _slotOf(jobId, v, msg.sender);
        if (s.status != SLOT_DRAWN) revert AlreadyAttested(jobId);
        if (block.timestamp > s.commitBy) revert CommitDeadlinePassed(jobId, s.commitBy);
        if (commitment == 0) revert ZeroHash();
        s.status = SLOT_COMMITTED;
        s.commitment = commitment;
        v.uncommitted -= 1;
        emit Attested(jobId, msg.sender, slot, commitment);
    }

    /// Open the commitment: the agree flag (the replayed segment ends matched the committed leaves), the
    /// probe state hashes at probesOf(jobId, verifier) in draw order, and the salt. Reveals open when
    /// the slot's commit deadline has passed or every drawn slot has committed, and close revealPeriod
    /// after the commit deadline.
    function reveal(uint256 jobId, bool agree, bytes32[] calldata probes, bytes32 salt) external onlyDelegated nonReentrant {
        JobRecord storage j = _job(jobId);
        _expectVerifying(jobId, j);
        Verification storage v = _verification[jobId];
        (Slot storage s, uint256 slot) = _slotOf(jobId, v, msg.sender);
        if (s.status != SLOT_COMMITTED) revert NotCommitted(jobId);
        if (block.timestamp <= s.commitBy && v.uncommitted != 0) revert RevealNotOpen(jobId, s.commitBy);
        uint40 deadline = s.commitBy + revealPeriod;
        if (block.timestamp > deadline) revert RevealDeadlinePassed(jobId, deadline);
        uint256 count = _probeCount(j);
        if (probes.length != count) revert WrongProbeCount(count, probes.length);
        if (commitmentOf(agree, probes, salt, msg.sender) != s.commitment) revert RevealMismatch(jobId, slot);
        s.status = SLOT_REVEALED;
        s.agree = agree;
        emit Revealed(jobId, msg.sender, slot, agree, probes, salt);
    }

    /// A drawn verifier that missed its commit deadline is replaced while the challenge window still
    /// has room for a full commit-reveal-dispute round: it forfeits the no-show penalty (credited to the
    /// submitter), the rest of its lock is released, and a fresh draw is armed on the next block
    /// (drawVerifiers). Anyone may call.
    function replaceVerifier(uint256 jobId, uint256 slot) external onlyDelegated nonReentrant {
        JobRecord storage j = _job(jobId);
        _expectVerifying(jobId, j);
        Verification storage v = _verification[jobId];
        if (slot >= v.slots.length) revert UnknownSlot(jobId, slot);
        Slot storage s = v.slots[slot];
        if (s.status != SLOT_DRAWN) revert NotReplaceable(jobId, slot, s.status);
        if (block.timestamp <= s.commitBy) revert CommitDeadlineNotPassed(jobId, slot, s.commitBy);
        _expectTimeToVerify(jobId, j);
        if (v.slots.length + v.pending >= MAX_SLOTS) revert TooManySlots(jobId);
        address verifier = s.verifier;
        s.status = SLOT_REPLACED;
        v.uncommitted -= 1;
        v.pending += 1;
        v.seedBlock = uint64(block.number) + 1;
        if (noShowPenalty != 0) _credit(j.submitter, jobId, noShowPenalty);
        emit VerifierSlotReplaced(jobId, verifier, slot, noShowPenalty, v.seedBlock);
        _release(verifier, noShowPenalty);
    }

    /// The solver disputes probe `index` of a revealed slot that it believes wrong: a game one level
    /// down (stepJudge) with the verifier defending genesis = the state hash of the checkpoint before
    /// the probe's segment → … → claim = the probe, over the steps in between. `probes` and `salt` are
    /// those of the Revealed event. `preState` is that checkpoint's state hash, shown by `proof`: for
    /// segment 0 the six manifest fields (preState = initState), else the Merkle proof of leaf
    /// checkpointLeaf(jobId, solver, preState) at index segment - 1 of the committed root. The solver
    /// posts disputeBond (needs an approval); the verifier's bond is its locked stake.
    function disputeProbe(
        uint256 jobId,
        uint256 slot,
        bytes32[] calldata probes,
        bytes32 salt,
        uint256 index,
        bytes32 preState,
        bytes32[] calldata proof
    ) external onlyDelegated nonReentrant returns (uint256 gameId) {
        JobRecord storage j = _job(jobId);
        _expectVerifying(jobId, j);
        if (msg.sender != j.solver) revert NotSolver(jobId);
        if (j.state == SUBMITTED) {
            uint40 ends = j.since + j.challengeWindow;
            if (block.timestamp >= ends) revert ChallengeWindowClosed(jobId, ends);
        }
        Verification storage v = _verification[jobId];
        if (slot >= v.slots.length) revert UnknownSlot(jobId, slot);
        Slot storage s = v.slots[slot];
        if (s.status != SLOT_REVEALED) revert NotRevealed(jobId, slot);
        if (s.probe != PROBE_NONE) revert ProbeAlreadyDisputed(jobId, slot);
        if (commitmentOf(s.agree, probes, salt, s.verifier) != s.commitment) revert RevealMismatch(jobId, slot);
        if (index >= probes.length) revert BadProbeIndex(index, probes.length);
        (uint32[] memory segments, uint64[] memory steps) = _probes(j, v, s.verifier);
        uint256 segment = segments[index];
        bool shown = segment == 0
            ? proof.length == 6 && proof[2] == preState && keccak256(abi.encodePacked(proof)) == j.inputs
            : MerkleProof.verify(j.root, _checkpoints(j), segment - 1, checkpointLeaf(jobId, j.solver, preState), proof);
        if (!shown) revert BadCheckpointProof(jobId, segment);
        uint64 fromStep = uint64(segment) * j.checkpointInterval;
        s.probe = PROBE_OPEN;
        v.openProbes += 1;
        address verifier = s.verifier;
        token.pull(msg.sender, disputeBond);
        gameId = game.open(
            BisectionGame.Params({
                challenger: msg.sender,
                defender: verifier,
                judge: stepJudge,
                moveTimeout: moveTimeout,
                n: uint48(steps[index] - fromStep),
                root: bytes32(0), // below level 0 the defender commits no root (docs §4)
                genesis: preState,
                claim: probes[index],
                context: probeContext(jobId, fromStep)
            })
        );
        _probeDisputes[gameId] = ProbeDispute({jobId: uint64(jobId), round: v.round, slot: uint8(slot), index: uint8(index)});
        emit ProbeDisputeOpened(jobId, verifier, slot, index, gameId, fromStep, steps[index]);
    }

    /// Apply a finished probe game. Verifier won: it is credited the solver's bond. Solver won: the
    /// verifier's bond is slashed from its stake and the solver gets both bonds; the verifier is not
    /// paid at finalize. A game whose job has reopened since (stale) still moves the bonds.
    function settleProbeDispute(uint256 gameId) external onlyDelegated nonReentrant {
        ProbeDispute memory pd = _probeDisputes[gameId];
        if (pd.jobId == 0) revert UnknownProbeDispute(gameId);
        uint8 phase = game.phaseOf(gameId);
        if (phase != Phase.DEFENDER_WON && phase != Phase.CHALLENGER_WON) revert DisputeNotOver(pd.jobId, gameId, phase);
        BisectionGame.Game memory g = game.getGame(gameId);
        bool verifierWon = phase == Phase.DEFENDER_WON;
        delete _probeDisputes[gameId];
        Verification storage v = _verification[pd.jobId];
        bool stale = pd.round != v.round;
        if (!stale) {
            v.slots[pd.slot].probe = verifierWon ? PROBE_VERIFIER_WON : PROBE_SOLVER_WON;
            v.openProbes -= 1;
        }
        emit ProbeDisputeSettled(pd.jobId, g.defender, gameId, verifierWon, stale);
        if (verifierWon) {
            _credit(g.defender, pd.jobId, disputeBond);
            if (stale) staking.unlock(g.defender, verifierLock); // its job reopened: nothing left to hold it for
        } else {
            _credit(g.challenger, pd.jobId, uint256(disputeBond) * 2);
            staking.slash(g.defender, disputeBond, address(this));
            if (verifierLock > disputeBond) staking.unlock(g.defender, verifierLock - disputeBond);
        }
    }

    /// A new verifier round (commit, reveal, probe dispute) must end inside the challenge window. While
    /// disputed the window restarts whole when the solver wins (challengeWindow > verifyTime).
    function _expectTimeToVerify(uint256 jobId, JobRecord storage j) private view {
        if (j.state != SUBMITTED) return;
        uint40 ends = j.since + j.challengeWindow;
        if (block.timestamp >= ends) revert ChallengeWindowClosed(jobId, ends);
        uint40 needed = uint40(block.timestamp) + verifyTime();
        if (needed > ends) revert NoTimeToVerify(jobId, needed, ends);
    }

    /// The caller's slot among the drawn verifiers (each address is drawn at most once per job).
    function _slotOf(uint256 jobId, Verification storage v, address verifier) private view returns (Slot storage s, uint256 i) {
        i = _indexOf(v, verifier);
        if (i == v.slots.length) revert NotDrawnVerifier(jobId);
        s = v.slots[i];
        if (s.status == SLOT_REPLACED) revert VerifierReplaced(jobId, i);
    }

    function _indexOf(Verification storage v, address verifier) private view returns (uint256 i) {
        uint256 n = v.slots.length;
        while (i < n && v.slots[i].verifier != verifier) i++;
    }
}
