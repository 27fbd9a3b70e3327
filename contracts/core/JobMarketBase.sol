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
import {MerkleProof} from "./MerkleProof.sol";

/// @title JobMarketBase: what JobMarket and JobMarketVerifiers share — constants, structs,
/// configuration, storage layout, errors, events and helpers.
/// @notice JobMarket runs JobMarketVerifiers' code by delegatecall (the two together exceed the
/// EIP-170 code size limit), so both must see exactly this storage layout: only this contract
/// declares state, and both are constructed from the same Config. Life of a job: post (price escrowed, inputs = the manifest hash) → claim (solver locks
/// collateral) → submit the root over identity-bound checkpoint leaves (challenge window opens) →
/// verifiers drawn by stake from a later block hash commit, then reveal probe state hashes; the
/// solver may dispute a wrong probe (a game one level down, the verifier defending); drawn verifiers
/// that miss the commit deadline are replaced and pay a no-show penalty → finalize (payouts
/// credited) → withdraw. Anyone may challenge the result: a game over the checkpoints whose loser's
/// bond or collateral pays the winner. A solver past its deadline is slashed and the job reopens.
/// Every payout is a credit withdrawn by its owner. There is no owner, no pause and no upgrade.
abstract contract JobMarketBase {
    using SafeTransfer for IERC20;

    uint8 public constant NONE = 0;
    uint8 public constant OPEN = 1;
    uint8 public constant CLAIMED = 2;
    uint8 public constant SUBMITTED = 3;
    uint8 public constant DISPUTED = 4;
    uint8 public constant FINALIZED = 5;
    uint8 public constant CANCELLED = 6;

    // Verifier slot status.
    uint8 public constant SLOT_DRAWN = 1; // must commit by commitBy
    uint8 public constant SLOT_COMMITTED = 2; // must reveal by commitBy + revealPeriod
    uint8 public constant SLOT_REVEALED = 3;
    uint8 public constant SLOT_REPLACED = 4; // missed the commit deadline: penalized, lock released

    // Probe dispute state of a slot (each verifier's probes can be disputed once).
    uint8 public constant PROBE_NONE = 0;
    uint8 public constant PROBE_OPEN = 1;
    uint8 public constant PROBE_VERIFIER_WON = 2;
    uint8 public constant PROBE_SOLVER_WON = 3;

    uint256 public constant MAX_SAMPLES = 16;
    uint256 public constant MAX_SLOTS = 32; // drawn + replacements per job

    /// A job as stored: three packed slots and three hashes. Steps and interval sit in the solver's
    /// slot so that posting writes it once and claiming only updates it.
    struct JobRecord {
        address submitter;
        uint96 price;
        address solver;
        uint32 solverNode; // node ids are sequential: 2^32 is far off (claim refuses a larger one)
        uint32 steps; // training steps
        uint32 checkpointInterval; // steps per checkpoint; checkpoints = ceil(steps / interval)
        uint8 state;
        uint8 verifiers; // verifiers to draw (0: optimistic, anyone may still challenge)
        uint8 samples; // probes per verifier
        uint32 duration; // seconds from claim to result
        uint32 challengeWindow; // seconds from result to finalize
        uint32 committed; // checkpoints committed so far
        uint40 since; // when the job entered its current state
        uint96 collateral; // solver stake locked while it holds the job
        bytes32 inputs; // the manifest hash (docs/verification.md §1): the agreed genesis of the computation
        bytes32 root; // Merkle root of the checkpoint leaves keccak256(abi.encode(jobId, solver, stateHash))
        bytes32 modelHash; // final model state hash (the state hash of the last leaf)
    }

    /// A job as getJob returns it (JobRecord with the node id widened and the checkpoint count).
    struct Job {
        address submitter;
        uint96 price;
        address solver;
        uint64 solverNode;
        uint32 committed;
        uint8 state;
        uint8 verifiers;
        uint8 samples;
        uint32 duration;
        uint32 challengeWindow;
        uint32 steps;
        uint32 checkpointInterval;
        uint32 checkpoints;
        uint40 since;
        uint96 collateral;
        bytes32 inputs;
        bytes32 root;
        bytes32 modelHash;
    }

    /// docs/verification.md §1; the job's inputs = keccak256(abi.encode(manifest)).
    struct Manifest {
        bytes32 specHash;
        bytes32 datasetRoot;
        bytes32 initState;
        bytes32 dataOrder;
        bytes32 schedule;
        bytes32 program;
    }

    struct PostParams {
        Manifest manifest;
        uint96 price;
        uint32 duration;
        uint32 steps; // training steps
        uint32 checkpointInterval; // steps per checkpoint (the last segment may be shorter)
        uint8 verifiers;
        uint8 samples; // probes (segments) per verifier; 0 iff verifiers == 0
        uint32 challengeWindow;
        uint96 collateral;
    }

    struct Slot {
        address verifier;
        uint40 commitBy; // reveal closes at commitBy + revealPeriod
        uint8 status;
        bool agree;
        uint8 probe; // PROBE_*
        bytes32 commitment;
    }

    struct Verification {
        uint16 round; // +1 each time the job reopens: tells stale probe disputes apart
        uint64 seedBlock; // the block whose hash draws the next verifiers (after the result)
        uint8 pending; // replacements armed, not drawn yet
        uint8 uncommitted; // slots still in SLOT_DRAWN
        uint8 openProbes; // probe disputes not settled yet
        bytes32 seed; // seed of the first draw: every verifier's probe positions derive from it
        Slot[] slots;
    }

    struct Dispute {
        address challenger;
        uint64 challengerNode;
        uint64 gameId;
    }

    struct ProbeDispute {
        uint64 jobId;
        uint16 round;
        uint8 slot;
        uint8 index; // which probe of the slot
    }

    struct Config {
        IERC20 token;
        Staking staking;
        NodeRegistry registry;
        Reputation reputation;
        BisectionGame game;
        IJudge checkpointJudge; // level 0: the game over the checkpoints
        IJudge stepJudge; // level 1: the game over the steps from a checkpoint to a probe
        uint96 disputeBond;
        uint96 noShowPenalty;
        uint32 moveTimeout;
        uint16 verifierFeeBps;
        uint32 priorityWindow;
        uint8 maxVerifiers;
        uint32 minChallengeWindow;
        uint32 commitPeriod;
        uint32 revealPeriod;
        uint32 probeDisputePeriod;
    }

    IERC20 public immutable token;
    Staking public immutable staking;
    NodeRegistry public immutable registry;
    Reputation public immutable reputation;
    BisectionGame public immutable game;
    IJudge public immutable checkpointJudge;
    IJudge public immutable stepJudge;
    /// Tokens a challenger posts, and each side's bond in a probe dispute (the solver's in tokens, the
    /// verifier's from the stake locked at its draw); the solver's collateral is its bond at level 0.
    uint96 public immutable disputeBond;
    /// Taken from a drawn verifier's stake when it never reveals (credited to the submitter).
    uint96 public immutable noShowPenalty;
    /// Stake locked from each drawn verifier until the job ends: max(disputeBond, noShowPenalty).
    uint96 public immutable verifierLock;
    uint32 public immutable moveTimeout;
    /// Share of the price paid to the verifiers that reveal agreement, in basis points.
    uint16 public immutable verifierFeeBps;
    /// Seconds after posting (or reopening) during which only nodes with a positive score may claim.
    uint32 public immutable priorityWindow;
    uint8 public immutable maxVerifiers;
    uint32 public immutable minChallengeWindow;
    /// Seconds a drawn verifier has to commit, then to reveal; after its reveal deadline the solver
    /// has at least probeDisputePeriod seconds of the challenge window to dispute a probe.
    uint32 public immutable commitPeriod;
    uint32 public immutable revealPeriod;
    uint32 public immutable probeDisputePeriod;

    uint256 public jobCount;
    mapping(uint256 => JobRecord) internal _jobs;
    mapping(uint256 => Verification) internal _verification;
    mapping(uint256 => Dispute) internal _disputes;
    mapping(uint256 => ProbeDispute) internal _probeDisputes; // by game id
    mapping(address => uint256) public withdrawable;

    bool private transient _entered;

    error Reentrancy();
    error BadConfig();
    error ZeroAmount();
    error ZeroHash();
    error BadDuration();
    error BadSteps(uint32 steps, uint32 checkpointInterval);
    error BadSampling(uint8 verifiers, uint8 samples);
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
    error NodeIdTooLarge(uint64 nodeId);
    error ChallengeWindowClosed(uint256 jobId, uint40 endedAt);
    error ChallengeWindowOpen(uint256 jobId, uint40 endsAt);
    error CannotChallengeOwnResult(uint256 jobId);
    error DisputeNotOver(uint256 jobId, uint256 gameId, uint8 phase);
    error NoVerifiersRequested(uint256 jobId);
    error VerifiersAlreadyDrawn(uint256 jobId);
    error RandomnessNotReady(uint256 jobId, uint64 seedBlock);
    error NoTimeToVerify(uint256 jobId, uint40 needed, uint40 endsAt);
    error NotDrawnVerifier(uint256 jobId);
    error AlreadyAttested(uint256 jobId);
    error VerifierReplaced(uint256 jobId, uint256 slot);
    error CommitDeadlinePassed(uint256 jobId, uint40 deadline);
    error NotCommitted(uint256 jobId);
    error RevealNotOpen(uint256 jobId, uint40 opensAfter);
    error RevealDeadlinePassed(uint256 jobId, uint40 deadline);
    error WrongProbeCount(uint256 expected, uint256 got);
    error RevealMismatch(uint256 jobId, uint256 slot);
    error UnknownSlot(uint256 jobId, uint256 slot);
    error CommitDeadlineNotPassed(uint256 jobId, uint256 slot, uint40 deadline);
    error NotReplaceable(uint256 jobId, uint256 slot, uint8 status);
    error TooManySlots(uint256 jobId);
    error NotRevealed(uint256 jobId, uint256 slot);
    error ProbeAlreadyDisputed(uint256 jobId, uint256 slot);
    error BadProbeIndex(uint256 index, uint256 count);
    error BadCheckpointProof(uint256 jobId, uint256 segment);
    error UnknownProbeDispute(uint256 gameId);
    error ProbeDisputesOpen(uint256 jobId, uint8 open);
    error NothingToWithdraw();

    event JobPosted(
        uint256 indexed jobId,
        address indexed submitter,
        bytes32 specHash,
        bytes32 datasetRoot,
        bytes32 manifestHash,
        uint96 price,
        uint32 duration,
        uint32 steps,
        uint32 checkpointInterval,
        uint32 checkpoints,
        uint8 verifiers,
        uint8 samples,
        uint32 challengeWindow,
        uint96 collateral
    );
    event JobStateChanged(uint256 indexed jobId, uint8 from, uint8 to);
    event JobClaimed(uint256 indexed jobId, address indexed solver, uint64 indexed node, uint40 deadline);
    event CheckpointsCommitted(uint256 indexed jobId, uint32 count, bytes32 root);
    event ResultSubmitted(uint256 indexed jobId, bytes32 root, bytes32 modelHash, uint40 challengeEndsAt, uint64 seedBlock);
    /// Slots firstSlot.. firstSlot + verifiers.length - 1; each commits by commitBy, reveals by revealBy.
    event VerifiersDrawn(
        uint256 indexed jobId, bytes32 seed, uint256 firstSlot, address[] verifiers, uint40 commitBy, uint40 revealBy
    );
    event VerifierDrawRearmed(uint256 indexed jobId, uint64 seedBlock);
    event Attested(uint256 indexed jobId, address indexed verifier, uint256 slot, bytes32 commitment);
    event Revealed(uint256 indexed jobId, address indexed verifier, uint256 slot, bool agree, bytes32[] probes, bytes32 salt);
    event VerifierSlotReplaced(uint256 indexed jobId, address indexed verifier, uint256 slot, uint96 penalty, uint64 seedBlock);
    event VerifierNoShow(uint256 indexed jobId, address indexed verifier, uint256 slot, uint96 penalty);
    event ProbeDisputeOpened(
        uint256 indexed jobId, address indexed verifier, uint256 slot, uint256 index, uint256 gameId, uint64 fromStep, uint64 probeStep
    );
    event ProbeDisputeSettled(uint256 indexed jobId, address indexed verifier, uint256 indexed gameId, bool verifierWon, bool stale);
    event DisputeOpened(uint256 indexed jobId, address indexed challenger, uint64 challengerNode, uint256 gameId);
    event DisputeSettled(uint256 indexed jobId, uint256 indexed gameId, bool solverWon);
    event SolverTimedOut(uint256 indexed jobId, address indexed solver, uint64 indexed node, uint96 slashed);
    /// penalties: no-show penalties credited to the submitter by this call (on top of the refund).
    event JobFinalized(
        uint256 indexed jobId, address indexed solver, uint256 solverPay, uint256 verifierPay, uint256 refund, uint256 penalties
    );
    event JobCancelled(uint256 indexed jobId);
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    constructor(Config memory c) {
        if (
            address(c.token) == address(0) || address(c.staking) == address(0) || address(c.registry) == address(0)
                || address(c.reputation) == address(0) || address(c.game) == address(0)
                || address(c.checkpointJudge) == address(0) || address(c.stepJudge) == address(0) || c.moveTimeout == 0
                || c.verifierFeeBps > 10_000 || c.maxVerifiers > 16 || c.minChallengeWindow == 0 || c.commitPeriod == 0
                || c.revealPeriod == 0 || c.probeDisputePeriod == 0
        ) revert BadConfig();
        uint96 lock_ = c.disputeBond > c.noShowPenalty ? c.disputeBond : c.noShowPenalty;
        // A verifier is drawn only while its free stake is at least the minimum: the lock must fit in it.
        if (lock_ > c.staking.minVerifierStake()) revert BadConfig();
        token = c.token;
        staking = c.staking;
        registry = c.registry;
        reputation = c.reputation;
        game = c.game;
        checkpointJudge = c.checkpointJudge;
        stepJudge = c.stepJudge;
        disputeBond = c.disputeBond;
        noShowPenalty = c.noShowPenalty;
        verifierLock = lock_;
        moveTimeout = c.moveTimeout;
        verifierFeeBps = c.verifierFeeBps;
        priorityWindow = c.priorityWindow;
        maxVerifiers = c.maxVerifiers;
        minChallengeWindow = c.minChallengeWindow;
        commitPeriod = c.commitPeriod;
        revealPeriod = c.revealPeriod;
        probeDisputePeriod = c.probeDisputePeriod;
    }

    modifier nonReentrant() {
        if (_entered) revert Reentrancy();
        _entered = true;
        _;
        _entered = false;
    }

    // ---- pure helpers and views both sides use -------------------------------------------

    /// Seconds a verifier round needs inside the challenge window: commit, reveal, dispute a probe.
    function verifyTime() public view returns (uint32) {
        return commitPeriod + revealPeriod + probeDisputePeriod;
    }

    /// The leaf a solver commits for its checkpoint with state hash `stateHash` (docs §3): bound to the
    /// job and the solver, so commitments copied from another job or solver are wrong for the copier.
    function checkpointLeaf(uint256 jobId, address solver, bytes32 stateHash) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, solver, stateHash));
    }

    /// What a verifier commits with attest (docs §6).
    function commitmentOf(bool agree, bytes32[] calldata probes, bytes32 salt, address verifier) public pure returns (bytes32) {
        return keccak256(abi.encode(agree, probes, salt, verifier));
    }

    /// The context of a probe game for the step judge: the job id and the step count of its genesis
    /// state (game step i computes the state after fromStep + i + 1 steps).
    function probeContext(uint256 jobId, uint64 fromStep) public pure returns (bytes32) {
        return bytes32((jobId << 64) | fromStep);
    }

    // ---- internals --------------------------------------------------------------------------

function _job(uint256 jobId) internal view returns (JobRecord storage j) {
        j = _jobs[jobId];
        if (j.state == NONE) revert UnknownJob(jobId);
    }

    function _expect(uint256 jobId, JobRecord storage j, uint8 state) internal view {
        if (j.state != state) revert BadState(jobId, j.state);
    }

    /// Verification goes on while a result stands: submitted, or disputed at level 0.
    function _expectVerifying(uint256 jobId, JobRecord storage j) internal view {
        if (j.state != SUBMITTED && j.state != DISPUTED) revert BadState(jobId, j.state);
    }

    /// End a verifier's lock: `penalty` of it is slashed to the market (the caller credited it), the
    /// rest is released.
    function _release(address verifier, uint96 penalty) internal {
        if (penalty != 0) staking.slash(verifier, penalty, address(this));
        if (verifierLock > penalty) staking.unlock(verifier, verifierLock - penalty);
    }

    /// Leaves of the job's committed sequence: ceil(steps / interval).
    function _checkpoints(JobRecord storage j) internal view returns (uint32) {
        return (j.steps - 1) / j.checkpointInterval + 1;
    }

    /// Probes per verifier: `samples`, at most one per segment.
    function _probeCount(JobRecord storage j) internal view returns (uint256) {
        uint256 n = _checkpoints(j);
        return j.samples < n ? j.samples : n;
    }

    /// Probe positions (src/chain/market.ts probePositions mirrors this): probe i draws r =
    /// keccak256(abi.encode(seed, verifier, i)); its segment is the (r mod (checkpoints - i))-th
    /// segment not drawn before (distinct, uniform); the probed state is the one before the segment's
    /// last step. Never published, it takes a replay of all but one step of the segment, so a verifier
    /// cannot earn its fee by replaying a short prefix and agreeing about the rest.
    function _probes(JobRecord storage j, Verification storage v, address verifier)
        internal
        view
        returns (uint32[] memory segments, uint64[] memory steps)
    {
        uint256 count = _probeCount(j);
        (uint256 n, uint256 k, uint256 total) = (_checkpoints(j), j.checkpointInterval, j.steps);
        segments = new uint32[](count);
        steps = new uint64[](count);
        uint256[] memory sorted = new uint256[](count);
        bytes32 seed = v.seed;
        for (uint256 i; i < count; i++) {
            uint256 x = uint256(keccak256(abi.encode(seed, verifier, i))) % (n - i);
            uint256 at = i;
            for (uint256 q; q < i; q++) {
                if (x >= sorted[q]) x++;
            }
            while (at > 0 && sorted[at - 1] > x) {
                sorted[at] = sorted[at - 1];
                at--;
            }
            sorted[at] = x;
            uint256 end = x == n - 1 ? total : (x + 1) * k;
            segments[i] = uint32(x);
            steps[i] = uint64(end - 1);
        }
    }

    function _credit(address account, uint256 jobId, uint256 amount) internal {
        withdrawable[account] += amount;
        emit Credited(account, jobId, amount);
    }
}
