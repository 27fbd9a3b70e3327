// Staking actions: bond, unbond after the delay, the verifier pool, and reads.
import type { Address } from 'viem';
import { stakingAbi } from './abi.ts';
import { addressOf, read, send, type ChainClient, type TxResult } from './client.ts';

export interface StakeAccount {
  bonded: bigint;
  locked: bigint;
  unbonding: bigint;
  unbondAt: bigint;
  inVerifierPool: boolean;
}

const stakingOf = (c: ChainClient) => ({ address: c.deployment.contracts.staking, abi: stakingAbi });

/** Bond `amount` (the staking contract must be approved for it: token.ensureAllowance). */
export function bond(c: ChainClient, amount: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...stakingOf(c), functionName: 'bond', args: [amount] }));
}

export function requestUnbond(c: ChainClient, amount: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...stakingOf(c), functionName: 'requestUnbond', args: [amount] }));
}

export function withdrawUnbonded(c: ChainClient): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...stakingOf(c), functionName: 'withdrawUnbonded' }));
}

export function joinVerifierPool(c: ChainClient): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...stakingOf(c), functionName: 'joinVerifierPool' }));
}

export function leaveVerifierPool(c: ChainClient): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...stakingOf(c), functionName: 'leaveVerifierPool' }));
}

export function stakeOf(c: ChainClient, operator: Address = addressOf(c)): Promise<StakeAccount> {
  return read(c, { ...stakingOf(c), functionName: 'accountOf', args: [operator] });
}

export function verifierWeight(c: ChainClient, operator: Address): Promise<bigint> {
  return read(c, { ...stakingOf(c), functionName: 'verifierWeight', args: [operator] });
}

export function totalVerifierWeight(c: ChainClient): Promise<bigint> {
  return read(c, { ...stakingOf(c), functionName: 'totalVerifierWeight' });
}

/** The pool member drawn for r in [0, totalVerifierWeight). */
export function verifierAt(c: ChainClient, r: bigint): Promise<Address> {
  return read(c, { ...stakingOf(c), functionName: 'verifierAt', args: [r] });
}
