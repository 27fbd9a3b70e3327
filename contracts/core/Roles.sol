// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Node roles, a bit mask shared by the registry, staking and the job market.
library Roles {
    uint8 internal constant SOLVER = 1;
    uint8 internal constant VERIFIER = 2;
    uint8 internal constant SUBMITTER = 4;
    uint8 internal constant WATCHER = 8;
    uint8 internal constant ALL = SOLVER | VERIFIER | SUBMITTER | WATCHER;
}
