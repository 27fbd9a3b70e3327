// Keccak Merkle trees in the format of contracts/core/MerkleProof.sol (and src/chain/merkle.ts):
// n leaves padded with bytes32(0) to a power of two, parent = keccak256(left ‖ right), a single
// leaf is its own root, the proof of leaf i is its ceil(log2 n) siblings bottom up. Used for the
// manifest's per-step roots and the memory of a step (docs/verification.md §1, §4), where leaves are
// written one at a time: `set` updates a path in log2 n hashes.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { InputError } from '../errors.ts';

export const ZERO32 = new Uint8Array(32);

export function keccak(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return keccak_256(parts[0]);
  const h = keccak_256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

const pair = new Uint8Array(64);
function parent(l: Uint8Array, r: Uint8Array): Uint8Array {
  pair.set(l, 0);
  pair.set(r, 32);
  return keccak_256(pair);
}

export function depthOf(n: number): number {
  let d = 0;
  while (2 ** d < n) d++;
  return d;
}

export class MerkleTree {
  readonly n: number;
  readonly depth: number;
  /** levels[0] = leaves (padded), levels[depth] = [root]. */
  private readonly levels: Uint8Array[][];

  constructor(leaves: readonly Uint8Array[], n = leaves.length) {
    if (!Number.isSafeInteger(n) || n < 1) throw new InputError('a Merkle tree needs at least one leaf');
    if (leaves.length > n) throw new InputError(`${leaves.length} leaves for a tree of ${n}`);
    this.n = n;
    this.depth = depthOf(n);
    const width = 2 ** this.depth;
    let level: Uint8Array[] = new Array(width);
    for (let i = 0; i < width; i++) level[i] = leaves[i] ?? ZERO32;
    this.levels = [level];
    while (level.length > 1) {
      const next: Uint8Array[] = new Array(level.length / 2);
      for (let i = 0; i < next.length; i++) next[i] = parent(level[2 * i], level[2 * i + 1]);
      this.levels.push((level = next));
    }
  }

  get root(): Uint8Array {
    return this.levels[this.depth][0];
  }

  leaf(i: number): Uint8Array {
    this.check(i);
    return this.levels[0][i];
  }

  proof(i: number): Uint8Array[] {
    this.check(i);
    const out: Uint8Array[] = [];
    for (let d = 0; d < this.depth; d++) out.push(this.levels[d][(i >> d) ^ 1]);
    return out;
  }

  /** Write leaf i and rehash its path. */
  set(i: number, leaf: Uint8Array): void {
    this.check(i);
    this.levels[0][i] = leaf;
    for (let d = 0; d < this.depth; d++) {
      const j = i >> (d + 1);
      this.levels[d + 1][j] = parent(this.levels[d][2 * j], this.levels[d][2 * j + 1]);
    }
  }

  clone(): MerkleTree {
    const t = Object.create(MerkleTree.prototype) as MerkleTree;
    (t as { n: number }).n = this.n;
    (t as { depth: number }).depth = this.depth;
    (t as unknown as { levels: Uint8Array[][] }).levels = this.levels.map((l) => [...l]);
    return t;
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new InputError(`leaf index ${i} out of range for ${this.n} leaves`);
  }
}

/** Root of a proof's path: what MerkleProof.verify compares with the root. */
export function rootFromProof(index: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = leaf;
  for (let d = 0; d < proof.length; d++) h = (index >> d) & 1 ? parent(proof[d], h) : parent(h, proof[d]);
  return h;
}

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return new MerkleTree(leaves).root;
}

export function hex(b: Uint8Array): `0x${string}` {
  let s = '0x';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s as `0x${string}`;
}

export function fromHex(h: string): Uint8Array {
  const s = h.startsWith('0x') ? h.slice(2) : h;
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new InputError(`not hex: ${h.slice(0, 20)}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
