// Peer scoring: every misbehaviour costs points; below a threshold the peer is blocked (the
// connection gater refuses it) and disconnected. Scores live in a ScoreStore (the node's sqlite
// database, src/node/db.ts, fits) so a restart does not forgive anyone.
import type { PeerId } from '@libp2p/interface';

/** What the scorer needs from storage; NodeDb['peers'] satisfies it. */
export interface ScoreStore {
  adjustScore(peerId: string, delta: number, reason: string, now?: number): number;
  block(peerId: string, until: number, reason: string, now?: number): void;
  blockedUntil(peerId: string): number;
}

/** Points lost per offence: two forged messages, or four malformed ones, get a peer blocked. */
export const PENALTY = {
  malformed: 25,
  oversized: 25,
  wrongTopic: 25,
  signature: 50,
  peerMismatch: 50,
  unstaked: 10,
  badBlob: 50,
  blobProtocol: 25,
} as const;
export type Offence = keyof typeof PENALTY;

export const BLOCK_BELOW = -100;
export const BLOCK_FOR_MS = 60 * 60 * 1000;

export interface PeerScorer {
  /** Subtracts the offence's points; blocks and disconnects the peer once its score is <= the threshold. */
  penalize(peer: PeerId | string, offence: Offence, details?: string): { score: number; blocked: boolean };
  /** Adds points for useful work (a verified blob served). */
  reward(peer: PeerId | string, points: number, reason: string): number;
  isBlocked(peer: PeerId | string): boolean;
  /** Where to hang up on a peer that gets blocked (the libp2p node, once it exists). */
  attach(target: { hangUp(peer: PeerId): Promise<void> }): void;
}

export interface PeerScorerOptions {
  store: ScoreStore;
  blockBelow?: number;
  blockForMs?: number;
  now?: () => number;
}

export function createPeerScorer(opts: PeerScorerOptions): PeerScorer {
  const blockBelow = opts.blockBelow ?? BLOCK_BELOW;
  const blockForMs = opts.blockForMs ?? BLOCK_FOR_MS;
  const now = opts.now ?? Date.now;
  // The gater asks on every dial and handshake: answer from memory, not sqlite.
  const blockedUntil = new Map<string, number>();
  const peerIds = new Map<string, PeerId>();
  let target: { hangUp(peer: PeerId): Promise<void> } | undefined;

  function isBlocked(peer: PeerId | string): boolean {
    const id = peer.toString();
    let until = blockedUntil.get(id);
    if (until === undefined) {
      until = opts.store.blockedUntil(id);
      blockedUntil.set(id, until);
    }
    return until > now();
  }

  return {
    penalize(peer, offence, details) {
      const id = peer.toString();
      if (typeof peer !== 'string') peerIds.set(id, peer);
      const score = opts.store.adjustScore(id, -PENALTY[offence], details === undefined ? offence : `${offence}: ${details}`, now());
      if (score <= blockBelow && !isBlocked(id)) {
        const until = now() + blockForMs;
        opts.store.block(id, until, `score ${score} <= ${blockBelow}`, now());
        blockedUntil.set(id, until);
        const pid = peerIds.get(id);
        if (pid !== undefined && target !== undefined) target.hangUp(pid).catch(() => {});
      }
      return { score, blocked: isBlocked(id) };
    },
    reward(peer, points, reason) {
      return opts.store.adjustScore(peer.toString(), Math.abs(points), reason, now());
    },
    isBlocked,
    attach(t) {
      target = t;
    },
  };
}

/** A ScoreStore in memory, for nodes without a data dir (benchmarks). */
export function memoryScoreStore(): ScoreStore {
  const scores = new Map<string, number>();
  const blocks = new Map<string, number>();
  return {
    adjustScore(peerId, delta) {
      const s = (scores.get(peerId) ?? 0) + delta;
      scores.set(peerId, s);
      return s;
    },
    block(peerId, until) {
      blocks.set(peerId, until);
    },
    blockedUntil: (peerId) => blocks.get(peerId) ?? 0,
  };
}
