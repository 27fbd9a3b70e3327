// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IOpJudge: disputes over ONE op of a training step (docs/verification.md levels 3 and 4).
/// @notice The level-2 judge has found an op whose input commitments both parties agree on and whose
/// output commitment the challenger disputes. It opens an op dispute here and answers PENDING; when
/// the dispute is over it reads `outcome` and resolves its own game (pull, like NestedJudge.settle).
///
/// One game covers levels 3 and 4 together. Its leaves are the states of the op's element machine
/// after each of T = E * S scalar steps (E output elements, S slots per element, both fixed by the
/// descriptor): state = (partial output root, pc, 16 registers), where the partial output root is
/// the Merkle root (docs §2, without the shape wrapper) of the output with elements 0..e-1 written and
/// the rest +0. Slots 0..S-2 of element e run its scalar program (one binary32 operation, compare or
/// move per slot; a halted program idles), slot S-1 writes the result into the partial root and
/// clears the registers. leaf = keccak256(abi.encode(outRoot, pc, regs)). Genesis: the all-zero
/// output, pc 0, zero registers; claim: the defender's output root, pc 0, zero registers.
///
/// The game is a k-ary dissection without a committed root (docs §4, "below level 0") in which the
/// parties take turns, one transaction per turn: the defender opens by revealing the k-1 states that
/// split (0, T) into k parts; each later move names the first part of the other party's last reveal
/// that the mover disputes and reveals the mover's own k-1 split states inside it (fewer near the
/// end). So the agreed pre-state was revealed by one party and accepted by the other, and the
/// disputed post-state is claimed by the party that revealed it (or inherited from the enclosing
/// part). When one step is left, anyone calls `judge` with the pre-state and the operand openings:
/// the contract recomputes that step (SoftFloat32) and the post-state's claimant wins exactly when
/// its claim is right. An honest party never loses: every pre-state is honest (it revealed it or
/// accepted it) and a post-state it disputes is wrong. The party whose turn it is loses a missed
/// deadline; when nobody makes the judge call in time, the post-state's claimant loses.
interface IOpJudge {
    /// What the level-2 judge hands over.
    struct OpCase {
        bytes op; // the op descriptor (src/verify/ops encodeOp: kind, input and output shapes, attrs)
        bytes32[] inputs; // tensor commitment of each input of the descriptor, in order (agreed)
        bytes32 output; // the defender's output commitment (disputed)
        bytes32 outputRoot; // its Merkle root: output == sha256(0x02 ‖ u32 rank ‖ u32 dims ‖ outputRoot)
        address challenger;
        address defender;
        uint32 moveTimeout; // seconds per move
        bytes32 context; // opaque here (e.g. the parent game id), echoed in OpDisputeOpened
    }

    /// The agreed state before the judged step (its keccak256(abi.encode(...)) is the game's pre leaf).
    struct State {
        bytes32 outRoot;
        uint32 pc;
        uint32[16] regs;
    }

    /// One element opening (docs §2): the 1 KiB chunk holding the element and its siblings, bottom up.
    struct Opening {
        bytes chunk;
        bytes32[] siblings;
    }

    event OpDisputeOpened(
        uint256 indexed id, address indexed creator, address indexed challenger, address defender, uint48 steps, bytes32 context
    );
    /// `byDefender`: who revealed; the leaves are the states at the split points of (lo, hi).
    event StatesRevealed(uint256 indexed id, bool byDefender, uint48 lo, uint48 hi, bytes32[] leaves, uint40 deadline);
    event PartChosen(uint256 indexed id, bool byDefender, uint256 choice, uint48 lo, uint48 hi);
    event StepJudged(uint256 indexed id, uint48 step, bool defenderWon);
    event OpDisputeResolved(uint256 indexed id, bool defenderWon, bool byTimeout);

    /// Open a dispute (anyone may; the creator reads the outcome of the ids it opened). Reverts on a
    /// malformed descriptor, a wrong number of inputs or an output root that does not make `output`.
    function open(OpCase calldata c) external returns (uint256 id);

    /// Defender's first move: the states at the k-1 split points of (0, T), in order.
    function reveal(uint256 id, bytes32[] calldata leaves) external;

    /// A later move by the party whose turn it is: the other party's last reveal again (`revealed`),
    /// the part the mover disputes (choice i, 0-based, is the part ending at revealed leaf i;
    /// choice == revealed.length the last part: it agrees with them all) and the mover's own states
    /// at the split points of that part (none when the part is one step).
    function move(uint256 id, bytes32[] calldata revealed, uint256 choice, bytes32[] calldata leaves) external;

    /// One step left: recompute it from the agreed pre-state and decide. Anyone may call.
    function judge(uint256 id, bytes calldata op, bytes32[] calldata inputs, State calldata pre, Opening[] calldata openings)
        external;

    /// After a missed deadline: the party whose turn it was loses (at judging: the post's claimant).
    function timeout(uint256 id) external;

    /// The dispute's phase (the numbers of BisectionGame's Phase): 0 none, 1 defender's turn,
    /// 2 challenger's turn, 3 judging, 5 defender won, 6 challenger won.
    function outcome(uint256 id) external view returns (uint8);
}
