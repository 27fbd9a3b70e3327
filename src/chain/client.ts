// A connection to the chain: a viem public client, optionally a wallet, and the deployment.
// Every contract action (token.ts, registry.ts, staking.ts, market.ts, game.ts) takes one.
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEventLogs,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import * as abis from './abi.ts';
import type { Deployment } from './deployment.ts';
import { ChainError, toChainError } from './errors.ts';

/** anvil's well-known development mnemonic: its accounts hold devnet ETH for gas. Never use it elsewhere. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

const devAccounts = new Map<number, Account>();

/** anvil's dev account `index` (memoized: deriving from the mnemonic takes ~15 ms). */
export function devAccount(index: number): Account {
  let a = devAccounts.get(index);
  if (!a) devAccounts.set(index, (a = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index })));
  return a;
}

export function accountFromKey(key: Hex): Account {
  return privateKeyToAccount(key);
}

export interface ChainClient {
  deployment: Deployment;
  chain: Chain;
  public: PublicClient<Transport, Chain>;
  /** Present when the client can send transactions. */
  wallet?: WalletClient<Transport, Chain, Account>;
  /** Send with this gas limit instead of estimating: a reverting call is mined (tests use it). */
  fixedGas?: bigint;
}

export function chainOf(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? 'veritrain devnet' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    // Gas estimates get a 25% margin: an estimate runs with the previous block's timestamp, and a
    // storage write that depends on the time (writing the same value is cheaper) can need more gas
    // in the block that includes the transaction.
    prepareTransactionRequest: [
      async (request) => (typeof request.gas === 'bigint' ? { ...request, gas: (request.gas * 5n) / 4n } : request),
      { runAt: ['afterFillParameters'] },
    ],
  });
}

/**
 * The http transport of every client: concurrent reads go out as one JSON-RPC batch; a remote
 * endpoint gets viem's retries, a local node none (a dead devnet should fail at once).
 */
export function chainTransport(url: string): Transport {
  const local = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(url);
  return http(url, { retryCount: local ? 0 : 3, batch: { wait: 0 } });
}

export interface ConnectOptions {
  deployment: Deployment;
  /** Overrides deployment.rpcUrl. */
  rpcUrl?: string;
  account?: Account;
  /** Receipt and event polling interval in ms (default 50: local nodes answer at once). */
  pollingInterval?: number;
  fixedGas?: bigint;
}

export function connect(opts: ConnectOptions): ChainClient {
  const url = opts.rpcUrl ?? opts.deployment.rpcUrl;
  const chain = chainOf(opts.deployment.chainId, url);
  const transport = chainTransport(url);
  const pollingInterval = opts.pollingInterval ?? 50;
  const pub = createPublicClient({ chain, transport, pollingInterval }) as PublicClient<Transport, Chain>;
  const wallet = opts.account ? createWalletClient({ chain, transport, account: opts.account, pollingInterval }) : undefined;
  return { deployment: { ...opts.deployment, rpcUrl: url }, chain, public: pub, wallet, fixedGas: opts.fixedGas };
}

/** The same connection acting as another account. */
export function withAccount(c: ChainClient, account: Account): ChainClient {
  return connect({ deployment: c.deployment, account, pollingInterval: c.public.pollingInterval, fixedGas: c.fixedGas });
}

export function addressOf(c: ChainClient): Address {
  if (!c.wallet) throw new ChainError('this action sends a transaction but the client has no account', { hint: 'connect with an account' });
  return c.wallet.account.address;
}

/** Every event of every contract, for decoding receipts. */
export const eventsAbi: Abi = (Object.values(abis) as Abi[]).flatMap((abi) => abi.filter((i) => i.type === 'event'));

export interface TxResult {
  hash: Hash;
  receipt: TransactionReceipt;
  gasUsed: bigint;
  /** Decoded logs of the transaction, in order. */
  events: { eventName: string; args: Record<string, unknown>; address: Address }[];
}

/**
 * Send one transaction (built by `write` with the typed wallet) and wait for its receipt. A call that
 * would revert throws a ContractRevertError before anything is sent (the gas estimate runs it first).
 */
export async function send(
  c: ChainClient,
  write: (w: WalletClient<Transport, Chain, Account>, extra: { gas?: bigint }) => Promise<Hash>,
): Promise<TxResult> {
  if (!c.wallet) addressOf(c);
  let hash: Hash;
  try {
    hash = await write(c.wallet!, c.fixedGas === undefined ? {} : { gas: c.fixedGas });
  } catch (e) {
    throw toChainError(e, c.deployment.rpcUrl);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await c.public.waitForTransactionReceipt({ hash, pollingInterval: c.public.pollingInterval });
  } catch (e) {
    throw toChainError(e, c.deployment.rpcUrl);
  }
  if (receipt.status !== 'success') throw await revertReason(c, hash, receipt);
  const events = parseEventLogs({ abi: eventsAbi, logs: receipt.logs }).map((l) => ({
    eventName: l.eventName as string,
    args: l.args as Record<string, unknown>,
    address: l.address,
  }));
  return { hash, receipt, gasUsed: receipt.gasUsed, events };
}

/** A mined transaction reverted (the state moved between estimate and inclusion): replay it for the reason. */
async function revertReason(c: ChainClient, hash: Hash, receipt: TransactionReceipt) {
  try {
    const tx = await c.public.getTransaction({ hash });
    await c.public.call({ account: tx.from, to: tx.to, data: tx.input, blockNumber: receipt.blockNumber });
  } catch (e) {
    return Object.assign(toChainError(e, c.deployment.rpcUrl), { transactionHash: hash });
  }
  return Object.assign(new ChainError(`transaction ${hash} reverted on chain`, { hint: 'read the contract state and retry' }), {
    transactionHash: hash,
  });
}

/** Read a view function; reverts become ContractRevertErrors. */
export async function read<T>(c: ChainClient, call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] }): Promise<T> {
  try {
    return (await c.public.readContract(call as never)) as T;
  } catch (e) {
    throw toChainError(e, c.deployment.rpcUrl);
  }
}

/** The first event with this name in a transaction (throws if missing: a contract bug). */
export function eventOf(tx: TxResult, eventName: string): Record<string, unknown> {
  const e = tx.events.find((x) => x.eventName === eventName);
  if (!e) throw new ChainError(`transaction ${tx.hash} emitted no ${eventName} event`);
  return e.args;
}

