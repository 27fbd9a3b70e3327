// EIP-191 personal_sign recovery on @noble/curves (what viem uses underneath): every gossip
// message is checked with it, and importing all of viem for one function costs ~16 MB per node.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

/** keccak256("\x19Ethereum Signed Message:\n" || decimal(len) || raw): what personal_sign signs. */
export function personalMessageHash(raw: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${raw.length}`);
  const buf = new Uint8Array(prefix.length + raw.length);
  buf.set(prefix);
  buf.set(raw, prefix.length);
  return keccak_256(buf);
}

/**
 * The lowercase 0x address that signed `raw` with personal_sign. `signature` is 65 bytes hex
 * r || s || v (v 27/28 or 0/1). A high-s signature is refused: (r, n−s) would be a second valid
 * encoding of the same message under another message id.
 */
export function recoverPersonalSigner(raw: Uint8Array, signature: string): string {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new Error('a signature is 65 bytes of hex');
  const bytes = Buffer.from(signature.slice(2), 'hex');
  const v = bytes[64];
  const bit = v >= 27 ? v - 27 : v;
  if (bit !== 0 && bit !== 1) throw new Error(`bad recovery id ${v}`);
  const sig = secp256k1.Signature.fromCompact(bytes.subarray(0, 64)).addRecoveryBit(bit);
  if (sig.hasHighS()) throw new Error('high-s signature');
  const pub = sig.recoverPublicKey(personalMessageHash(raw)).toRawBytes(false);
  return `0x${Buffer.from(keccak_256(pub.subarray(1)).subarray(12)).toString('hex')}`;
}
