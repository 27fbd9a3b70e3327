// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SoftFloat32} from "./SoftFloat32.sol";

/// @title One binary32 operation, computed on chain exactly as the engine computes it.
/// @notice The dispute game's referee calls SoftFloat32 directly; this contract exposes it for
/// off-chain checks (eth_call) and for the exhaustive-random test.
contract Float32Judge {
    error BadBatch(uint256 length);

    /// @notice Opcode `op` (src/verify/scalar.ts) on binary32 bit patterns a, b.
    function compute(uint8 op, uint32 a, uint32 b) external pure returns (uint32) {
        return uint32(SoftFloat32.compute(op, a, b));
    }

    /// @notice Opcode `op` on many pairs. `pairs` is a0 b0 a1 b1 ... (4 bytes each, big-endian);
    /// returns r0 r1 ... (4 bytes each). Packed, not uint32[]: 8x less calldata for a test that
    /// sends millions of pairs.
    function computeBatch(uint8 op, bytes calldata pairs) external pure returns (bytes memory out) {
        if (pairs.length % 8 != 0) revert BadBatch(pairs.length);
        uint256 count = pairs.length / 8;
        out = new bytes(count * 4);
        for (uint256 i = 0; i < count; ++i) {
            uint256 word;
            // Reads 32 bytes from pair i onwards (calldataload pads past the end with zeros);
            // the top 8 hold a and b.
            assembly ("memory-safe") {
                word := calldataload(add(pairs.offset, mul(i, 8)))
            }
            uint256 r = SoftFloat32.compute(op, word >> 224, (word >> 192) & 0xffffffff);
            assembly ("memory-safe") {
                // Write r's 4 bytes at out[4i]: mstore of r << 224 overwrites the 28 bytes after
                // them, which are later results' slots or past the end of the array.
                mstore(add(add(out, 32), mul(i, 4)), shl(224, r))
            }
        }
    }
}

/// @notice Gas of one SoftFloat32 op without call overhead, for scripts/softfloat-gas.ts only.
contract SoftFloat32GasMeter {
    function measure(uint8 op, uint32 a, uint32 b) external view returns (uint32 result, uint256 gasUsed) {
        uint256 before = gasleft();
        result = uint32(SoftFloat32.compute(op, a, b));
        gasUsed = before - gasleft();
    }
}
