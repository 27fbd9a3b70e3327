// The payment and stake token (VeriToken, or any ERC-20 named in the deployment).
import { maxUint256, type Address } from 'viem';
import { veriTokenAbi } from './abi.ts';
import { addressOf, read, send, type ChainClient, type TxResult } from './client.ts';

const tokenOf = (c: ChainClient) => ({ address: c.deployment.contracts.token, abi: veriTokenAbi });

export function tokenBalance(c: ChainClient, account: Address = addressOf(c)): Promise<bigint> {
  return read(c, { ...tokenOf(c), functionName: 'balanceOf', args: [account] });
}

export function totalSupply(c: ChainClient): Promise<bigint> {
  return read(c, { ...tokenOf(c), functionName: 'totalSupply' });
}

export function allowance(c: ChainClient, owner: Address, spender: Address): Promise<bigint> {
  return read(c, { ...tokenOf(c), functionName: 'allowance', args: [owner, spender] });
}

export function approve(c: ChainClient, spender: Address, amount: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...tokenOf(c), functionName: 'approve', args: [spender, amount] }));
}

export function transfer(c: ChainClient, to: Address, amount: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...tokenOf(c), functionName: 'transfer', args: [to, amount] }));
}

/** Mint the faucet amount to the caller (devnets and testnets). */
export function faucet(c: ChainClient): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...tokenOf(c), functionName: 'faucet' }));
}

/** Approve `spender` for unlimited spending if its allowance is below `amount`; null when no tx was needed. */
export async function ensureAllowance(c: ChainClient, spender: Address, amount: bigint): Promise<TxResult | null> {
  if ((await allowance(c, addressOf(c), spender)) >= amount) return null;
  return approve(c, spender, maxUint256);
}
