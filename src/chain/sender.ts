// Transactions of the dispute driver with as few round trips as the chain allows: an explicit gas
// limit (no eth_estimateGas), the nonce kept locally for a local account (signed here; resynchronised
// from the chain when the node refuses it), fees read at most every few seconds, and the receipt in
// the same request where the node offers EIP-7966 (eth_sendRawTransactionSync /
// eth_sendTransactionSync: anvil does), else asked for at once and then polled. A json-rpc account
// (a dev node that signs) sends with eth_sendTransaction(Sync). One request per transaction where
// viem's writeContract + waitForTransactionReceipt makes five to eight.
//
// A call that reverts is mined (there is no estimate to refuse it first): its sender pays the gas it
// used and gets a ContractRevertError with the transaction hash, decoded by replaying the call at
// its block. A transaction that ran out of gas is sent once more with an estimate, so a limit that
// turned out too low costs one transaction, never a dispute.
import {
  encodeFunctionData, formatTransactionReceipt, toHex,
  type Abi, type Address, type Hash, type Hex, type RpcTransactionReceipt, type TransactionReceipt,
} from 'viem';
import { addressOf, type ChainClient } from './client.ts';
import { ChainError, toChainError } from './errors.ts';

export interface Call {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** Gas limit of this call. */
  gas: bigint;
}

export interface Sent {
  hash: Hash;
  receipt: TransactionReceipt;
  gasUsed: bigint;
}

export type Sender = (call: Call) => Promise<Sent>;

export interface SenderOptions {
  /** Milliseconds between receipt polls (default: the client's polling interval). */
  pollMs?: number;
  /** Milliseconds to wait for a receipt (default 120 s). */
  receiptTimeoutMs?: number;
  /** Milliseconds a fee quote is reused (default 4 s). */
  feeTtlMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sender for `c`'s account (see the file's header). */
export function txSender(c: ChainClient, o: SenderOptions = {}): Sender {
  const from = addressOf(c);
  const account = c.wallet!.account;
  const pollMs = o.pollMs ?? c.public.pollingInterval;
  const feeTtl = o.feeTtlMs ?? 4000;
  let nonce: number | undefined;
  let fees: { at: number; v: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint } } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  // Whether the node answers the EIP-7966 methods (unknown until the first transaction).
  let sync: boolean | undefined;

  const request = (method: string, params: unknown[]) => c.public.request({ method, params } as never) as Promise<unknown>;

  /** Send, with the receipt when the node gives it in the same answer. */
  async function submitSync(method: string, param: unknown): Promise<{ hash: Hash; receipt?: TransactionReceipt }> {
    if (sync !== false) {
      try {
        const r = (await request(`${method}Sync`, [param])) as RpcTransactionReceipt;
        sync = true;
        return { hash: r.transactionHash, receipt: formatTransactionReceipt(r) };
      } catch (e) {
        // A node without the method answers "method not found" (or "not supported"): use the plain one from now on.
        if (sync === undefined && /not found|not supported|unsupported|does not exist|not available|unknown method|-32601/i.test(`${(e as Error).message} ${(e as { details?: string }).details ?? ''} ${(e as { code?: number }).code ?? ''}`)) sync = false;
        else throw e;
      }
    }
    return { hash: (await request(method, [param])) as Hash };
  }

  async function submit(to: Address, data: Hex, gas: bigint): Promise<{ hash: Hash; receipt?: TransactionReceipt }> {
    if (account.type !== 'local') return submitSync('eth_sendTransaction', { from, to, data, gas: toHex(gas) });
    for (let attempt = 0; ; attempt++) {
      nonce ??= await c.public.getTransactionCount({ address: from, blockTag: 'pending' });
      if (!fees || Date.now() - fees.at > feeTtl) fees = { at: Date.now(), v: await c.public.estimateFeesPerGas({ chain: c.chain }) };
      const f = fees.v;
      const tx = f.maxFeePerGas !== undefined
        ? { type: 'eip1559' as const, maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas ?? 0n }
        : { type: 'legacy' as const, gasPrice: f.gasPrice! };
      const raw = await account.signTransaction!({ ...tx, chainId: c.chain.id, nonce, gas, to, data, value: 0n } as never);
      try {
        const sent = await submitSync('eth_sendRawTransaction', raw);
        nonce++;
        return sent;
      } catch (e) {
        // Another sender of this account used the nonce, or the fee moved: read both again, once.
        const msg = `${(e as Error).message} ${(e as { details?: string }).details ?? ''}`;
        if (attempt === 0 && /nonce|underpriced|already known|fee|replacement/i.test(msg)) {
          nonce = undefined;
          fees = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  async function receiptOf(hash: Hash): Promise<TransactionReceipt> {
    const until = Date.now() + (o.receiptTimeoutMs ?? 120_000);
    for (;;) {
      const r = (await request('eth_getTransactionReceipt', [hash])) as RpcTransactionReceipt | null;
      if (r) return formatTransactionReceipt(r);
      if (Date.now() > until) throw new ChainError(`no receipt for transaction ${hash}`, { hint: 'the chain may be stalled; the move is retried on the next tick' });
      await sleep(pollMs);
    }
  }

  async function once(call: Call, gas: bigint): Promise<Sent> {
    const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as never);
    let sent: { hash: Hash; receipt?: TransactionReceipt };
    try {
      sent = await submit(call.address, data, gas);
    } catch (e) {
      throw toChainError(e, c.deployment.rpcUrl);
    }
    const hash = sent.hash;
    const receipt = sent.receipt ?? (await receiptOf(hash));
    if (receipt.status === 'success') return { hash, receipt, gasUsed: receipt.gasUsed };
    if (receipt.gasUsed >= gas) throw Object.assign(new ChainError(`${call.functionName} ran out of gas (limit ${gas})`), { outOfGas: true });
    // Replay the call at its block for the contract's error.
    try {
      await c.public.call({ account: from, to: call.address, data, gas, blockNumber: receipt.blockNumber });
    } catch (e) {
      throw Object.assign(toChainError(e, c.deployment.rpcUrl), { transactionHash: hash });
    }
    throw Object.assign(new ChainError(`transaction ${hash} (${call.functionName}) reverted on chain`, { hint: 'read the contract state and retry' }), { transactionHash: hash });
  }

  async function sendOne(call: Call): Promise<Sent> {
    try {
      return await once(call, call.gas);
    } catch (e) {
      if (!(e as { outOfGas?: boolean }).outOfGas) throw e;
      const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as never);
      let est: bigint;
      try {
        est = await c.public.estimateGas({ account: from, to: call.address, data });
      } catch (e2) {
        throw toChainError(e2, c.deployment.rpcUrl);
      }
      return once(call, (est * 5n) / 4n);
    }
  }

  // One transaction at a time per account: the local nonce is handed out in order.
  return (call) => {
    const p = queue.then(() => sendOne(call));
    queue = p.catch(() => undefined);
    return p;
  };
}
