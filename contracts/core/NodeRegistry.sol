// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Roles} from "./Roles.sol";

/// @title NodeRegistry: address ↔ libp2p peer id ↔ declared hardware and roles.
/// @notice An operator address registers nodes. Each node is bound to its libp2p peer id by a
/// signature of the peer key over bindingMessage(operator) = "veritrain:bind-evm:v1" ‖ chain id ‖
/// registry ‖ operator (the format of src/node/keystore.ts). The operator side needs no signature:
/// it is msg.sender.
/// - secp256k1 peer keys: the signature (ECDSA over SHA-256, as libp2p signs) is checked here, and
///   such a peer id can be registered only once.
/// - Ed25519 peer keys (libp2p's default): no EVM precompile checks Ed25519, so the signature is
///   recorded in NodeRegistered and peers check it off-chain; since nothing on chain proves who
///   holds the key, an Ed25519 peer id is not reserved (nobody can squat it), and `peerVerified`
///   is false.
contract NodeRegistry {
    uint8 public constant KEY_ED25519 = 1;
    uint8 public constant KEY_SECP256K1 = 2;

    struct Node {
        address owner;
        uint8 roles;
        uint8 keyType; // KEY_ED25519 or KEY_SECP256K1
        bool peerVerified; // the peer key's signature was checked on chain
        uint16 cores;
        uint32 memoryMiB;
        uint40 registeredAt;
        bytes32 peerIdHash; // keccak256 of the peer id bytes
        bytes32 accelerator; // short label, e.g. "none", "webgpu", "nvidia-h100"
    }

    /// Hardware a node declares (not verified on chain; scheduling treats it as a claim).
    struct Hardware {
        uint16 cores;
        uint32 memoryMiB;
        bytes32 accelerator;
    }

    // secp256k1 field prime and group order.
    uint256 private constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 private constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    uint64 public nodeCount;
    mapping(uint64 => Node) private _nodes;
    mapping(uint64 => bytes) private _peerIds;
    /// keccak256(peer id bytes) → node id, for peer keys verified on chain (secp256k1).
    mapping(bytes32 => uint64) public nodeIdOfPeer;

    error BadRoles(uint8 roles);
    error BadHardware();
    error BadPeerId();
    error BadPeerSignature();
    error PeerAlreadyRegistered(uint64 nodeId);
    error UnknownNode(uint64 nodeId);
    error NotNodeOwner(uint64 nodeId, address owner);

    event NodeRegistered(
        uint64 indexed nodeId,
        address indexed owner,
        bytes32 indexed peerIdHash,
        bytes peerId,
        bytes peerSignature,
        bool peerVerified,
        uint8 roles,
        uint16 cores,
        uint32 memoryMiB,
        bytes32 accelerator
    );
    event NodeUpdated(uint64 indexed nodeId, uint8 roles, uint16 cores, uint32 memoryMiB, bytes32 accelerator);
    event NodeDeregistered(uint64 indexed nodeId);

    /// Register a node. `peerId`: the libp2p peer id bytes (identity multihash of the public key);
    /// `peerSignature`: the peer key's 64-byte signature over bindingMessage(msg.sender)
    /// (secp256k1: r ‖ s of the ECDSA signature over its SHA-256; Ed25519: the RFC 8032 signature).
    function registerNode(bytes calldata peerId, bytes calldata peerSignature, uint8 roles, Hardware calldata hw)
        external
        returns (uint64 nodeId)
    {
        _checkRolesAndHardware(roles, hw);
        if (peerSignature.length != 64) revert BadPeerSignature();
        uint8 keyType = _keyTypeOf(peerId);
        bytes32 peerHash = keccak256(peerId);
        bool verified = keyType == KEY_SECP256K1;
        nodeId = ++nodeCount;
        if (verified) {
            uint64 existing = nodeIdOfPeer[peerHash];
            if (existing != 0) revert PeerAlreadyRegistered(existing);
            bytes32 digest = sha256(bindingMessage(msg.sender));
            if (!_signedBy(digest, bytes32(peerSignature[0:32]), bytes32(peerSignature[32:64]), _secpAddress(peerId))) {
                revert BadPeerSignature();
            }
            nodeIdOfPeer[peerHash] = nodeId;
        }
        _nodes[nodeId] = Node({
            owner: msg.sender,
            roles: roles,
            keyType: keyType,
            peerVerified: verified,
            cores: hw.cores,
            memoryMiB: hw.memoryMiB,
            registeredAt: uint40(block.timestamp),
            peerIdHash: peerHash,
            accelerator: hw.accelerator
        });
        _peerIds[nodeId] = peerId;
        emit NodeRegistered(
            nodeId, msg.sender, peerHash, peerId, peerSignature, verified, roles, hw.cores, hw.memoryMiB, hw.accelerator
        );
    }

    /// Change a node's roles and declared hardware (owner only).
    function updateNode(uint64 nodeId, uint8 roles, Hardware calldata hw) external {
        Node storage n = _owned(nodeId);
        _checkRolesAndHardware(roles, hw);
        n.roles = roles;
        n.cores = hw.cores;
        n.memoryMiB = hw.memoryMiB;
        n.accelerator = hw.accelerator;
        emit NodeUpdated(nodeId, roles, hw.cores, hw.memoryMiB, hw.accelerator);
    }

    /// Withdraw a node from every role (owner only). Its id, peer binding and reputation remain;
    /// updateNode gives it roles again.
    function deregisterNode(uint64 nodeId) external {
        Node storage n = _owned(nodeId);
        if (n.roles == 0) revert BadRoles(0);
        n.roles = 0;
        emit NodeDeregistered(nodeId);
    }

    function getNode(uint64 nodeId) external view returns (Node memory) {
        Node memory n = _nodes[nodeId];
        if (n.owner == address(0)) revert UnknownNode(nodeId);
        return n;
    }

    /// The node's owner and roles, for the job market (one call; zeros for an unknown id).
    function ownerAndRoles(uint64 nodeId) external view returns (address owner, uint8 roles) {
        Node storage n = _nodes[nodeId];
        return (n.owner, n.roles);
    }

    function peerIdOf(uint64 nodeId) external view returns (bytes memory) {
        if (_nodes[nodeId].owner == address(0)) revert UnknownNode(nodeId);
        return _peerIds[nodeId];
    }

    /// The message a peer key signs to bind itself to `owner` on this registry and chain.
    function bindingMessage(address owner) public view returns (bytes memory) {
        return abi.encodePacked("veritrain:bind-evm:v1", block.chainid, address(this), owner);
    }

    function _owned(uint64 nodeId) private view returns (Node storage n) {
        n = _nodes[nodeId];
        if (n.owner == address(0)) revert UnknownNode(nodeId);
        if (n.owner != msg.sender) revert NotNodeOwner(nodeId, n.owner);
    }

    function _checkRolesAndHardware(uint8 roles, Hardware calldata hw) private pure {
        if (roles == 0 || roles & ~Roles.ALL != 0) revert BadRoles(roles);
        if (hw.cores == 0 || hw.memoryMiB == 0) revert BadHardware();
    }

    /// Peer id layouts: identity multihash (0x00, length) of the protobuf PublicKey {Type, Data}.
    /// Ed25519: 00 24 08 01 12 20 ‖ 32-byte key. secp256k1: 00 25 08 02 12 21 ‖ 33-byte compressed key.
    function _keyTypeOf(bytes calldata peerId) private pure returns (uint8) {
        if (peerId.length == 38 && bytes6(peerId[0:6]) == hex"002408011220") return KEY_ED25519;
        if (peerId.length == 39 && bytes6(peerId[0:6]) == hex"002508021221" && (peerId[6] == 0x02 || peerId[6] == 0x03)) {
            return KEY_SECP256K1;
        }
        revert BadPeerId();
    }

    /// The Ethereum-style address of the peer id's compressed secp256k1 key (decompressed with modexp).
    function _secpAddress(bytes calldata peerId) private view returns (address) {
        uint256 x = uint256(bytes32(peerId[7:39]));
        if (x >= P) revert BadPeerId();
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        // P ≡ 3 (mod 4), so a square root of rhs is rhs^((P+1)/4).
        uint256 y = _modexp(rhs, (P + 1) / 4);
        if (mulmod(y, y, P) != rhs) revert BadPeerId();
        if ((y & 1) != (uint8(peerId[6]) & 1)) y = P - y;
        return address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
    }

    /// ecrecover with both recovery ids: libp2p signatures carry none.
    function _signedBy(bytes32 digest, bytes32 r, bytes32 s, address key) private pure returns (bool) {
        if (uint256(r) == 0 || uint256(r) >= N || uint256(s) == 0 || uint256(s) >= N) return false;
        return ecrecover(digest, 27, r, s) == key || ecrecover(digest, 28, r, s) == key;
    }

    function _modexp(uint256 base, uint256 e) private view returns (uint256 result) {
        (bool ok, bytes memory out) =
            address(0x05).staticcall(abi.encode(uint256(32), uint256(32), uint256(32), base, e, P));
        if (!ok || out.length != 32) revert BadPeerId();
        result = abi.decode(out, (uint256));
    }
}
