// The Merkle tree of contracts/core/MerkleProof.sol: leaves padded with zeros to a power of two,
// parent = keccak256(left ‖ right), proofs bottom-up with exactly ceil(log2 n) siblings.
import { concat, keccak256, type Hex } from 'viem';
import { InputError } from '../errors.ts';

const ZERO = `0x${'00'.repeat(32)}` as Hex;

function levels(leaves: readonly Hex[]): Hex[][] {
  if (leaves.length === 0) throw new InputError('a Merkle tree needs at least one leaf');
  let width = 1;
  while (width < leaves.length) width *= 2;
  let level = [...leaves, ...new Array<Hex>(width - leaves.length).fill(ZERO)];
  const out = [level];
  while (level.length > 1) {
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(keccak256(concat([level[i], level[i + 1]])));
    out.push((level = next));
  }
  return out;
}

export function merkleRoot(leaves: readonly Hex[]): Hex {
  const l = levels(leaves);
  return l[l.length - 1][0];
}

export function merkleProof(leaves: readonly Hex[], index: number): Hex[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new InputError(`leaf index ${index} out of range`);
  const l = levels(leaves);
  const proof: Hex[] = [];
  for (let d = 0; d < l.length - 1; d++) proof.push(l[d][(index >> d) ^ 1]);
  return proof;
}
