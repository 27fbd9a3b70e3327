// Following the chain: poll the head, read every event of the deployment's contracts in the new
// blocks, hand them over in order, remember how far we got. The chain is the truth; gossip only
// makes nodes react sooner. An unreachable RPC (a devnet restart, a network partition) is retried
// with backoff; a chain that came back shorter than what we read (blocks lost by a crash of the
// devnet) makes us read again from its head.
import type { ChainClient } from '../chain/client.ts';
import { getEvents, type ChainEvent } from '../chain/events.ts';

export interface FollowOptions {
  /** The current client (may change while following, e.g. after the deployment file moved the RPC). */
  client: () => ChainClient;
  /** The first block not yet processed. */
  fromBlock: bigint;
  /** Called with each batch in order; when it resolves, blocks up to `toBlock` count as processed. */
  onBatch: (events: ChainEvent[], toBlock: bigint, info: { rewound: boolean }) => Promise<void>;
  intervalMs?: number;
  /** Blocks per log query (default 5000). */
  maxRange?: bigint;
  onError?: (e: Error) => void;
  /**
   * Called after every complete poll, with or without new blocks: the chain answered. (A chain
   * that came back from a restart without a new block must count as reachable too: the roles that
   * wait for it are what would make the next block.)
   */
  onPolled?: () => void;
}

export interface Follower {
  /** The last block processed. */
  processed(): bigint;
  /** Resolves after the next complete poll (a full catch-up when called at start). */
  poll(): Promise<void>;
  /** Polls now instead of after the current backoff (e.g. the client moved to a new RPC URL). */
  wake(): void;
  stop(): Promise<void>;
}

export function followChain(opts: FollowOptions): Follower {
  const interval = opts.intervalMs ?? 500;
  const maxRange = opts.maxRange ?? 5000n;
  let next = opts.fromBlock;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let waiters: Array<() => void> = [];
  let polling = false;
  let woken = false;

  async function once(): Promise<void> {
    const c = opts.client();
    const head = await c.public.getBlockNumber({ cacheTime: 0 });
    let rewound = false;
    if (head + 1n < next) {
      // The chain is shorter than what we processed: read again from its head.
      next = head + 1n;
      rewound = true;
    }
    while (next <= head && !stopped) {
      const to = next + maxRange - 1n < head ? next + maxRange - 1n : head;
      const events = await getEvents(c, { fromBlock: next, toBlock: to });
      await opts.onBatch(events, to, { rewound });
      rewound = false;
      next = to + 1n;
    }
    if (rewound) await opts.onBatch([], head, { rewound });
  }

  function schedule(ms: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = true;
      woken = false;
      running = once()
        .then(() => {
          failures = 0;
          opts.onPolled?.();
        })
        .catch((e: Error) => {
          failures++;
          opts.onError?.(e);
        })
        .finally(() => {
          polling = false;
          const w = waiters;
          waiters = [];
          for (const f of w) f();
          schedule(failures === 0 ? interval : woken ? 0 : Math.min(5000, interval * 2 ** Math.min(failures, 4)));
        });
    }, ms);
  }
  schedule(0);

  return {
    processed: () => next - 1n,
    poll: () => new Promise<void>((resolve) => waiters.push(resolve)),
    wake() {
      if (stopped) return;
      if (polling) woken = true;
      else {
        clearTimeout(timer);
        schedule(0);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => {});
      for (const f of waiters) f();
    },
  };
}
