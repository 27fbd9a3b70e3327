// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IJobShape: what the verification judges read of a job from the market.
interface IJobShape {
    /// inputs: the manifest hash (docs/verification.md §1); solver: the address the checkpoint leaves
    /// are bound to; steps and checkpointInterval: the job's length and its checkpoint spacing.
    function jobShape(uint256 jobId)
        external
        view
        returns (bytes32 inputs, address solver, uint32 steps, uint32 checkpointInterval);
}
