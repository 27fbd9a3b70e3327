// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobShape} from "../IJobShape.sol";

/// @title FixedJobShape: the job view of the judges' own tests (the job market implements IJobShape
/// for real). Anyone sets a job's shape; nothing else reads it.
contract FixedJobShape is IJobShape {
    struct Shape {
        bytes32 inputs;
        address solver;
        uint32 steps;
        uint32 checkpointInterval;
    }

    mapping(uint256 => Shape) private _shapes;

    function set(uint256 jobId, bytes32 inputs, address solver, uint32 steps, uint32 checkpointInterval) external {
        _shapes[jobId] = Shape(inputs, solver, steps, checkpointInterval);
    }

    function jobShape(uint256 jobId) external view returns (bytes32, address, uint32, uint32) {
        Shape memory s = _shapes[jobId];
        return (s.inputs, s.solver, s.steps, s.checkpointInterval);
    }
}
