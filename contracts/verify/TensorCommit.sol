// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TensorCommit: tensor commitments and element openings (docs/verification.md §2), the same
/// as src/train/commit.ts. A tensor's little-endian 32-bit elements are cut into 1 KiB chunks (the
/// last one zero-padded); leaf = sha256(0x00 ‖ chunk), leaves padded with bytes32(0) to a power of
/// two, node = sha256(0x01 ‖ left ‖ right), commit = sha256(0x02 ‖ u32le rank ‖ u32le dims… ‖ root).
/// No chunk at all has root bytes32(0); one chunk is its own root. An element is opened with its
/// chunk and the siblings of the chunk's leaf, bottom up.
library TensorCommit {
    uint256 internal constant CHUNK_ELEMENTS = 256;
    uint256 internal constant CHUNK_BYTES = 1024;
    /// sha256(0x00 ‖ 1024 zero bytes): the leaf of an all-zero chunk.
    bytes32 internal constant ZERO_LEAF = 0xc55b90509b8cb9bac53fbdddfc93d4e572685c509f1218423c43a5d6013bbd48;

    error BadChunk(uint256 length);
    error BadSiblings(uint256 given, uint256 depth);
    error IndexOutOfRange(uint256 index, uint256 elements);
    error NotCommitted();

    function chunkCount(uint256 elements) internal pure returns (uint256) {
        return (elements + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS;
    }

    /// Depth of the tree over `chunks` leaves (0 for one leaf).
    function depthOf(uint256 chunks) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < chunks) d++;
    }

    function leafHash(bytes calldata chunk) internal view returns (bytes32 h) {
        if (chunk.length != CHUNK_BYTES) revert BadChunk(chunk.length);
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0)
            calldatacopy(add(p, 1), chunk.offset, 1024)
            if iszero(staticcall(gas(), 2, p, 1025, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    function leafHashMem(bytes memory chunk) internal view returns (bytes32 h) {
        if (chunk.length != CHUNK_BYTES) revert BadChunk(chunk.length);
        assembly ("memory-safe") {
            // Hash 0x00 ‖ chunk in place: the byte before the data is the length word's last byte.
            let p := add(chunk, 31)
            let saved := mload(p)
            mstore8(p, 0)
            if iszero(staticcall(gas(), 2, p, 1025, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
            mstore(p, saved)
        }
    }

    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 1)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            if iszero(staticcall(gas(), 2, p, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// sha256(0x02 ‖ u32le rank ‖ u32le dims… ‖ root).
    function commitOf(uint256[] memory shape, bytes32 root) internal view returns (bytes32 h) {
        uint256 rank = shape.length;
        bytes memory pre = new bytes(1 + 4 * (rank + 1) + 32);
        pre[0] = 0x02;
        _putLe32(pre, 1, rank);
        for (uint256 i; i < rank; i++) _putLe32(pre, 5 + 4 * i, shape[i]);
        assembly ("memory-safe") {
            mstore(add(add(pre, 32), add(5, mul(4, rank))), root)
            if iszero(staticcall(gas(), 2, add(pre, 32), mload(pre), 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    function _putLe32(bytes memory b, uint256 at, uint256 v) private pure {
        b[at] = bytes1(uint8(v));
        b[at + 1] = bytes1(uint8(v >> 8));
        b[at + 2] = bytes1(uint8(v >> 16));
        b[at + 3] = bytes1(uint8(v >> 24));
    }

    function sizeOf(uint256[] memory shape) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < shape.length; i++) n *= shape[i];
    }

    /// The root above `leaf` at chunk index `chunkIndex` with the given siblings (bottom up).
    function rootFrom(bytes32 leaf, uint256 chunkIndex, bytes32[] calldata siblings) internal view returns (bytes32 h) {
        h = leaf;
        for (uint256 d; d < siblings.length; d++) {
            h = (chunkIndex >> d) & 1 == 1 ? nodeHash(siblings[d], h) : nodeHash(h, siblings[d]);
        }
    }

    /// Element `offset` (0..255) of a chunk, read as a little-endian u32.
    function wordAt(bytes calldata chunk, uint256 offset) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            let x := shr(224, calldataload(add(chunk.offset, mul(offset, 4))))
            // byte swap of a 32-bit word
            w := or(or(shr(24, x), and(shr(8, x), 0xff00)), or(and(shl(8, x), 0xff0000), and(shl(24, x), 0xff000000)))
        }
    }

    /// The root of the tree over `elements` elements that are all +0: leaves 0..n-1 are ZERO_LEAF,
    /// the padding leaves bytes32(0) (nodes above them are hashed like any other). Only the boundary path needs hashing: at level l the nodes below
    /// n >> l are full subtrees, the next one (if n is not a multiple of 2^l) is partial.
    function zeroRoot(uint256 elements) internal view returns (bytes32) {
        uint256 n = chunkCount(elements);
        if (n == 0) return bytes32(0);
        uint256 h = depthOf(n);
        bytes32 full = ZERO_LEAF; // root of a subtree of height l over zero chunks
        bytes32 empty; // root of a subtree of height l over padding (bytes32(0) leaves)
        bytes32 part; // the partial node at level l (meaningful when n % 2^l != 0)
        for (uint256 l; l < h; l++) {
            bool hasPart = n & ((uint256(1) << l) - 1) != 0;
            if ((n >> l) & 1 == 1) part = nodeHash(full, hasPart ? part : empty);
            else if (hasPart) part = nodeHash(part, empty);
            full = nodeHash(full, full);
            empty = nodeHash(empty, empty);
        }
        return n == uint256(1) << h ? full : part;
    }

    /// Verifies an opening of element `index` against `commit` of a tensor of `shape`; returns its word.
    function openElement(
        bytes32 commit,
        uint256[] memory shape,
        uint256 index,
        bytes calldata chunk,
        bytes32[] calldata siblings
    ) internal view returns (uint256 word) {
        uint256 n = sizeOf(shape);
        if (index >= n) revert IndexOutOfRange(index, n);
        uint256 depth = depthOf(chunkCount(n));
        if (siblings.length != depth) revert BadSiblings(siblings.length, depth);
        bytes32 root = rootFrom(leafHash(chunk), index / CHUNK_ELEMENTS, siblings);
        if (commitOf(shape, root) != commit) revert NotCommitted();
        return wordAt(chunk, index % CHUNK_ELEMENTS);
    }

    /// Verifies an opening of element `index` against a bare `root` over `elements` elements and
    /// returns the root with that element replaced by `word` (the write of a partial output root).
    function replaceElement(
        bytes32 root,
        uint256 elements,
        uint256 index,
        bytes calldata chunk,
        bytes32[] calldata siblings,
        uint256 word
    ) internal view returns (bytes32) {
        if (index >= elements) revert IndexOutOfRange(index, elements);
        uint256 depth = depthOf(chunkCount(elements));
        if (siblings.length != depth) revert BadSiblings(siblings.length, depth);
        uint256 c = index / CHUNK_ELEMENTS;
        if (rootFrom(leafHash(chunk), c, siblings) != root) revert NotCommitted();
        bytes memory next = chunk;
        uint256 at = (index % CHUNK_ELEMENTS) * 4;
        next[at] = bytes1(uint8(word));
        next[at + 1] = bytes1(uint8(word >> 8));
        next[at + 2] = bytes1(uint8(word >> 16));
        next[at + 3] = bytes1(uint8(word >> 24));
        bytes32 h = leafHashMem(next);
        for (uint256 d; d < depth; d++) {
            h = (c >> d) & 1 == 1 ? nodeHash(siblings[d], h) : nodeHash(h, siblings[d]);
        }
        return h;
    }
}

/// @notice TensorCommit's functions as external calls, for the tests against src/train/commit.ts.
contract TensorCommitTester {
    function commitOf(uint256[] memory shape, bytes32 root) external view returns (bytes32) {
        return TensorCommit.commitOf(shape, root);
    }

    function zeroRoot(uint256 elements) external view returns (bytes32) {
        return TensorCommit.zeroRoot(elements);
    }

    function leafHash(bytes calldata chunk) external view returns (bytes32) {
        return TensorCommit.leafHash(chunk);
    }

    function openElement(bytes32 commit, uint256[] memory shape, uint256 index, bytes calldata chunk, bytes32[] calldata siblings)
        external
        view
        returns (uint256)
    {
        return TensorCommit.openElement(commit, shape, index, chunk, siblings);
    }

    function replaceElement(bytes32 root, uint256 elements, uint256 index, bytes calldata chunk, bytes32[] calldata siblings, uint256 word)
        external
        view
        returns (bytes32)
    {
        return TensorCommit.replaceElement(root, elements, index, chunk, siblings, word);
    }
}
