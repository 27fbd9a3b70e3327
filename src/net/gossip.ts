// Gossip for jobs, claims, attestations and heartbeats. Every incoming message passes, in order:
// size → UTF-8 → JSON → schema → canonical bytes → topic → envelope peer = libp2p signer →
// age → not seen before → EVM signature → sender staked. Only then is it delivered and relayed;
// a failure is never relayed, and the peer that sent it to us loses points (peers.ts).
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import type { Address } from 'viem';
import {
  decodeEnvelope,
  MESSAGE_KINDS,
  MessageError,
  messageId,
  signEnvelope,
  topicOf,
  verifyEnvelope,
  type Envelope,
  type EnvelopeOf,
  type MessageBody,
  type MessageKind,
  type MessageRejectReason,
  type MessageSigner,
} from './messages.ts';
import type { NetNode } from './node.ts';
import type { Offence, PeerScorer } from './peers.ts';

/** Seen message ids; NodeDb['seen'] satisfies it (dedup survives a restart). */
export interface SeenStore {
  add(id: string, topic: string, now?: number): boolean;
  has(id: string): boolean;
  /** Forgets ids seen before `before` (called periodically: older messages are refused as stale anyway). */
  prune?(before: number): number;
}

/**
 * May (address, peer id) send this message: a registered node with stake (or, for a job
 * announcement, the job's submitter on chain)? The chain lookup plugs in here; it runs inside
 * gossipsub's validator, so it should answer from a cache (src/node/identities.ts).
 */
export type StakeCheck = (sender: { address: Address; peerId: string }, envelope?: Envelope) => StakeAnswer | Promise<StakeAnswer>;
/** 'unknown': the check could not be made (the chain is unreachable); the message is ignored, nobody blamed. */
export type StakeAnswer = boolean | 'unknown';

/** A StakeCheck from a fixed list (until the registry contract answers). */
export function allowList(entries: Array<{ address: string; peerId?: string }>): StakeCheck {
  const allowed = new Map(entries.map((e) => [e.address.toLowerCase(), e.peerId]));
  return ({ address, peerId }) => {
    if (!allowed.has(address.toLowerCase())) return false;
    const bound = allowed.get(address.toLowerCase());
    return bound === undefined || bound === peerId;
  };
}

export interface Delivered<K extends MessageKind = MessageKind> {
  id: string;
  envelope: EnvelopeOf<K>;
  /** The peer that relayed it to us (not necessarily its author, `envelope.peer`). */
  from: string;
  receivedAt: number;
}

export type DropReason =
  | MessageRejectReason
  | 'unsigned'
  | 'wrong-topic'
  | 'peer-mismatch'
  | 'stale'
  | 'future'
  | 'duplicate'
  | 'unstaked'
  | 'unstaked-relay'
  | 'unverified'
  | 'blocked-origin';

export interface GossipOptions {
  node: NetNode;
  chainId: number;
  signer: MessageSigner;
  isStakedNode: StakeCheck;
  scorer: PeerScorer;
  seen: SeenStore;
  /** Messages older than this are ignored (replays); default 10 min. Keep seen ids at least this long. */
  maxAgeMs?: number;
  /** Clock skew tolerated for messages from the future; default 60 s. */
  maxFutureMs?: number;
  now?: () => number;
  /** Called for every dropped message (tests, metrics). */
  onDrop?: (drop: { reason: DropReason; from: string; topic: string }) => void;
}

export interface Gossip {
  /** Calls `handler` for each valid message of `kind`; returns an unsubscribe function. */
  on<K extends MessageKind>(kind: K, handler: (msg: Delivered<K>) => void): () => void;
  publish<K extends MessageKind>(kind: K, body: MessageBody<K>): Promise<{ id: string; recipients: number }>;
  stats(): { delivered: number; dropped: Partial<Record<DropReason, number>> };
  stop(): void;
}

const PENALTY_OF: Partial<Record<DropReason, Offence>> = {
  type: 'malformed',
  encoding: 'malformed',
  json: 'malformed',
  schema: 'malformed',
  'non-canonical': 'malformed',
  oversized: 'oversized',
  signature: 'signature',
  unsigned: 'signature',
  'wrong-topic': 'wrongTopic',
  'peer-mismatch': 'peerMismatch',
  unstaked: 'unstaked',
};

// Reject: invalid, the relayer should not have sent it. Ignore: maybe fine elsewhere (old, a duplicate).
// An unstaked sender's message relayed by another peer is ignored without blaming the relay: the
// relay may know of a registration or a stake this node has not seen yet (a node that just joined).
const IGNORED: ReadonlySet<DropReason> = new Set(['stale', 'future', 'duplicate', 'blocked-origin', 'unstaked-relay', 'unverified']);

export function startGossip(opts: GossipOptions): Gossip {
  const pubsub = opts.node.services.pubsub;
  const now = opts.now ?? Date.now;
  const maxAgeMs = opts.maxAgeMs ?? 10 * 60 * 1000;
  const maxFutureMs = opts.maxFutureMs ?? 60 * 1000;
  const selfPeer = opts.node.peerId.toString();
  const kindOfTopic = new Map(MESSAGE_KINDS.map((k) => [topicOf(k, opts.chainId), k]));
  const handlers = new Map<MessageKind, Set<(msg: Delivered) => void>>();
  // Accepted by the validator, waiting for gossipsub's 'message' event (keyed by message id).
  const accepted = new Map<string, Delivered>();
  let delivered = 0;
  const dropped: Partial<Record<DropReason, number>> = {};

  function drop(reason: DropReason, from: PeerId, topic: string, details?: string): TopicValidatorResult {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
    const offence = PENALTY_OF[reason];
    if (offence !== undefined) opts.scorer.penalize(from, offence, details);
    opts.onDrop?.({ reason, from: from.toString(), topic });
    return IGNORED.has(reason) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
  }

  async function validate(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (msg.type !== 'signed') return drop('unsigned', from, msg.topic);
    let env: Envelope;
    try {
      env = decodeEnvelope(msg.data);
    } catch (e) {
      if (e instanceof MessageError) return drop(e.reason, from, msg.topic, e.shortMessage);
      throw e;
    }
    if (kindOfTopic.get(msg.topic) !== env.kind || env.chainId !== opts.chainId) return drop('wrong-topic', from, msg.topic);
    // The EVM signature binds the payload to an address; this binds it to the libp2p key that signed the RPC.
    if (env.peer !== msg.from.toString()) return drop('peer-mismatch', from, msg.topic);
    if (opts.scorer.isBlocked(msg.from)) return drop('blocked-origin', from, msg.topic);
    const t = now();
    if (env.ts < t - maxAgeMs) return drop('stale', from, msg.topic);
    if (env.ts > t + maxFutureMs) return drop('future', from, msg.topic);
    const id = messageId(msg.data);
    if (opts.seen.has(id)) return drop('duplicate', from, msg.topic);
    try {
      await verifyEnvelope(env);
    } catch (e) {
      if (e instanceof MessageError) return drop(e.reason, from, msg.topic, e.shortMessage);
      throw e;
    }
    const staked = await opts.isStakedNode({ address: env.from as Address, peerId: env.peer }, env);
    if (staked === 'unknown') return drop('unverified', from, msg.topic);
    if (!staked) return drop(env.peer === from.toString() ? 'unstaked' : 'unstaked-relay', from, msg.topic);
    if (!opts.seen.add(id, msg.topic, t)) return drop('duplicate', from, msg.topic);
    accepted.set(id, { id, envelope: env, from: from.toString(), receivedAt: t });
    // gossipsub dispatches every accepted message on a subscribed topic; this only bounds a surprise.
    if (accepted.size > 10_000) accepted.delete(accepted.keys().next().value!);
    return TopicValidatorResult.Accept;
  }

  const onMessage = (evt: CustomEvent<Message>) => {
    const id = messageId(evt.detail.data);
    const msg = accepted.get(id);
    if (msg === undefined) return;
    accepted.delete(id);
    delivered++;
    for (const h of handlers.get(msg.envelope.kind) ?? []) {
      try {
        h(msg);
      } catch {
        // A failing handler must not stop delivery to the others.
      }
    }
  };

  for (const [topic] of kindOfTopic) {
    pubsub.topicValidators.set(topic, validate);
    pubsub.subscribe(topic);
  }
  pubsub.addEventListener('message', onMessage);
  // An id older than maxAge + maxFuture can only come back in a message refused as stale.
  const pruner = setInterval(() => opts.seen.prune?.(now() - maxAgeMs - maxFutureMs), Math.max(1000, maxAgeMs / 2));
  pruner.unref();

  return {
    on(kind, handler) {
      let set = handlers.get(kind);
      if (set === undefined) handlers.set(kind, (set = new Set()));
      const h = handler as unknown as (msg: Delivered) => void;
      set.add(h);
      return () => void set.delete(h);
    },
    async publish(kind, body) {
      const { bytes, id } = await signEnvelope({ kind, body, chainId: opts.chainId, peerId: selfPeer, signer: opts.signer, now: now() });
      opts.seen.add(id, topicOf(kind, opts.chainId), now());
      const r = await pubsub.publish(topicOf(kind, opts.chainId), bytes);
      return { id, recipients: r.recipients.length };
    },
    stats: () => ({ delivered, dropped: { ...dropped } }),
    stop() {
      clearInterval(pruner);
      pubsub.removeEventListener('message', onMessage);
      for (const [topic] of kindOfTopic) {
        pubsub.topicValidators.delete(topic);
        pubsub.unsubscribe(topic);
      }
      accepted.clear();
    },
  };
}
