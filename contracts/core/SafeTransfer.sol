// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";

/// Token moves that revert on failure, also for tokens that return false instead of reverting.
library SafeTransfer {
    error TokenTransferFailed(address token, address from, address to, uint256 amount);

    function pay(IERC20 token, address to, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20.transfer, (to, amount)), address(this), to, amount);
    }

    function pull(IERC20 token, address from, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20.transferFrom, (from, address(this), amount)), from, address(this), amount);
    }

    function _call(IERC20 token, bytes memory data, address from, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = address(token).call(data);
        if (!ok && ret.length != 0) {
            // Bubble up the token's own custom error (e.g. InsufficientAllowance) so clients can decode it.
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) {
            revert TokenTransferFailed(address(token), from, to, amount);
        }
    }
}
