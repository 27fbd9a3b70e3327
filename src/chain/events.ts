// Events of the coordination contracts: history since deployment and live subscriptions.
import type { Address, Log } from 'viem';
import { eventsAbi, type ChainClient } from './client.ts';
import { toChainError } from './errors.ts';

export interface ChainEvent {
  eventName: string;
  args: Record<string, unknown>;
  address: Address;
  blockNumber: bigint;
  transactionHash: `0x${string}`;
  logIndex: number;
}

function contractAddresses(c: ChainClient): Address[] {
  return Object.values(c.deployment.contracts);
}

function toEvent(l: Log & { eventName?: string; args?: unknown }): ChainEvent {
  return {
    eventName: l.eventName as string,
    args: l.args as Record<string, unknown>,
    address: l.address,
    blockNumber: l.blockNumber!,
    transactionHash: l.transactionHash!,
    logIndex: l.logIndex!,
  };
}

/** Every event of the deployment's contracts in [fromBlock, toBlock] (default: deployment to latest), in order. */
export async function getEvents(
  c: ChainClient,
  opts: { fromBlock?: bigint; toBlock?: bigint; eventName?: string } = {},
): Promise<ChainEvent[]> {
  try {
    const logs = await c.public.getContractEvents({
      address: contractAddresses(c),
      abi: eventsAbi,
      eventName: opts.eventName,
      fromBlock: opts.fromBlock ?? BigInt(c.deployment.deployedAtBlock),
      toBlock: opts.toBlock ?? 'latest',
    } as never);
    return (logs as (Log & { eventName?: string; args?: unknown })[]).map(toEvent);
  } catch (e) {
    throw toChainError(e, c.deployment.rpcUrl);
  }
}

/**
 * Call `onEvents` with each new batch of events (polling the node); returns a function that stops.
 * `eventName` narrows to one event.
 */
export function watchEvents(
  c: ChainClient,
  onEvents: (events: ChainEvent[]) => void,
  opts: { eventName?: string; onError?: (e: Error) => void; fromBlock?: bigint } = {},
): () => void {
  return c.public.watchContractEvent({
    address: contractAddresses(c),
    abi: eventsAbi,
    eventName: opts.eventName,
    fromBlock: opts.fromBlock,
    poll: true,
    onLogs: (logs: (Log & { eventName?: string; args?: unknown })[]) => onEvents(logs.map(toEvent)),
    onError: (e: Error) => opts.onError?.(toChainError(e, c.deployment.rpcUrl)),
  } as never);
}
