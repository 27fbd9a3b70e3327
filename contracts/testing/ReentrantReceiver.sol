// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITokenReceiver} from "./HookToken.sol";

interface IMarketLike {
    function withdraw() external;
}

/// @title ReentrantReceiver: a malicious payee. When the market pays it, it calls withdraw again
/// from inside the token transfer and records whether that second call succeeded.
contract ReentrantReceiver is ITokenReceiver {
    IMarketLike public immutable market;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastError;

    constructor(IMarketLike market_) {
        market = market_;
    }

    /// Forward arbitrary calls (approve, postJob, ...) so the receiver can act as a market user.
    function exec(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function attack() external {
        market.withdraw();
    }

    function onTokenTransfer(address, uint256) external {
        if (msg.sender == address(0) || reentryAttempts != 0) return;
        reentryAttempts++;
        try market.withdraw() {
            reentrySuccesses++;
        } catch (bytes memory err) {
            lastError = err;
        }
    }
}
