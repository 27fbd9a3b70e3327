// Binding a libp2p peer key to an operator address. The peer key signs bindingMessage (the
// libp2p-side message of src/node/keystore.ts); NodeRegistry checks secp256k1 signatures on chain
// and records Ed25519 ones for peers to check off-chain.
import { bytesToHex, encodePacked, hexToBytes, type Address, type Hex } from 'viem';
import { InputError } from '../errors.ts';

/** The bytes a peer key signs: "veritrain:bind-evm:v1" ‖ uint256 chainId ‖ registry ‖ owner. */
export function bindingMessage(chainId: number | bigint, registry: Address, owner: Address): Hex {
  return encodePacked(['string', 'uint256', 'address', 'address'], ['veritrain:bind-evm:v1', BigInt(chainId), registry, owner]);
}

/** The key type of libp2p peer id bytes (identity multihash of the protobuf public key). */
export function peerKeyType(peerId: Hex): 'Ed25519' | 'secp256k1' {
  const b = hexToBytes(peerId);
  const head = bytesToHex(b.subarray(0, 6));
  if (b.length === 38 && head === '0x002408011220') return 'Ed25519';
  if (b.length === 39 && head === '0x002508021221' && (b[6] === 2 || b[6] === 3)) return 'secp256k1';
  throw new InputError('unsupported peer id', { details: peerId, hint: 'use an Ed25519 or secp256k1 libp2p peer id (multihash bytes)' });
}

/**
 * The 64-byte signature the registry takes: an Ed25519 signature as is, a secp256k1 one (libp2p
 * returns DER) as r ‖ s.
 */
export function registrySignature(peerId: Hex, signature: Uint8Array): Hex {
  if (peerKeyType(peerId) === 'Ed25519' || signature.length === 64) {
    if (signature.length !== 64) throw new InputError('an Ed25519 signature has 64 bytes');
    return bytesToHex(signature);
  }
  const { r, s } = rsFromDer(signature);
  return `0x${r.slice(2)}${s.slice(2)}`;
}

/** r and s of a DER-encoded ECDSA signature (what libp2p's secp256k1 `sign` returns). */
export function rsFromDer(der: Uint8Array): { r: Hex; s: Hex } {
  const bad = () => new InputError('not a DER-encoded ECDSA signature');
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw bad();
  const int = (at: number): [Uint8Array, number] => {
    if (der[at] !== 0x02) throw bad();
    const len = der[at + 1];
    let v = der.subarray(at + 2, at + 2 + len);
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32 || at + 2 + len > der.length) throw bad();
    return [v, at + 2 + len];
  };
  const [r, next] = int(2);
  const [s, end] = int(next);
  if (end !== der.length) throw bad();
  const pad = (v: Uint8Array) => bytesToHex(Uint8Array.of(...new Uint8Array(32 - v.length), ...v));
  return { r: pad(r), s: pad(s) };
}
