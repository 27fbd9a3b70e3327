// The TestJudge's step function in TypeScript: leaf[i] = keccak256(abi.encode(leaf[i-1], uint48 i)).
import { encodeAbiParameters, keccak256, type Hex } from 'viem';

export function stepOf(pre: Hex, step: number): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint48' }], [pre, step]));
}

export function honestLeaves(genesis: Hex, n: number): Hex[] {
  const out: Hex[] = [];
  let prev = genesis;
  for (let i = 0; i < n; i++) out.push((prev = stepOf(prev, i)));
  return out;
}
