// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// What a reputation record counts.
library Kind {
    uint8 internal constant JOB_DONE = 0;
    uint8 internal constant DISPUTE_WON = 1;
    uint8 internal constant DISPUTE_LOST = 2;
    uint8 internal constant TIMEOUT = 3;
}

/// @title Reputation: on-chain counters per node that scheduling reads.
/// @notice Written only by the job market (fixed at deployment), as jobs finalize, disputes settle
/// and deadlines pass. Anyone reads them; the market reads `score` for claim priority.
contract Reputation {
    struct Record {
        uint48 jobsDone;
        uint48 disputesWon;
        uint48 disputesLost;
        uint48 timeouts;
    }

    address public immutable recorder;
    mapping(uint64 => Record) private _records;

    error NotRecorder();
    error BadKind(uint8 kind);

    event ReputationChanged(
        uint64 indexed nodeId, uint8 indexed kind, uint48 jobsDone, uint48 disputesWon, uint48 disputesLost, uint48 timeouts
    );

    constructor(address recorder_) {
        recorder = recorder_;
    }

    /// Count one event of `kind` for `nodeId` (node 0, "no node", is ignored).
    function record(uint64 nodeId, uint8 kind) external {
        if (msg.sender != recorder) revert NotRecorder();
        if (nodeId == 0) return;
        Record storage r = _records[nodeId];
        if (kind == Kind.JOB_DONE) r.jobsDone += 1;
        else if (kind == Kind.DISPUTE_WON) r.disputesWon += 1;
        else if (kind == Kind.DISPUTE_LOST) r.disputesLost += 1;
        else if (kind == Kind.TIMEOUT) r.timeouts += 1;
        else revert BadKind(kind);
        emit ReputationChanged(nodeId, kind, r.jobsDone, r.disputesWon, r.disputesLost, r.timeouts);
    }

    function recordOf(uint64 nodeId) external view returns (Record memory) {
        return _records[nodeId];
    }

    /// One number for scheduling: good work counts 1, each lost dispute or missed deadline costs 4.
    function score(uint64 nodeId) external view returns (int256) {
        Record storage r = _records[nodeId];
        return int256(uint256(r.jobsDone) + r.disputesWon) - 4 * int256(uint256(r.disputesLost) + r.timeouts);
    }
}
