// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Binary Merkle tree over n leaves (bytes32), padded with zero leaves to the next power of two;
/// parent = keccak256(left ‖ right); a single leaf is its own root. The proof of leaf i lists the
/// siblings from the bottom up and has exactly ceil(log2 n) entries (src/chain/merkle.ts mirrors this).
library MerkleProof {
    function depthOf(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) d++;
    }

    function verify(bytes32 root, uint256 n, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (index >= n || proof.length != depthOf(n)) return false;
        bytes32 h = leaf;
        for (uint256 i; i < proof.length; i++) {
            h = (index >> i) & 1 == 0 ? _hash(h, proof[i]) : _hash(proof[i], h);
        }
        return h == root;
    }

    function _hash(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }
}
