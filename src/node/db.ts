// Node state in node:sqlite (WAL): peers and their scores, message ids already seen (gossip dedup
// across restarts), blob provider records; and the daemon's tables (migration 2, used by state.ts). Every write is one committed transaction, so a kill -9
// loses at most the write in flight and never leaves half of one.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { IntegrityError } from '../errors.ts';

export interface PeerRecord {
  peerId: string;
  /** The EVM address the peer signed its messages with, once seen. */
  address: string | null;
  score: number;
  /** ms since epoch; 0 when not blocked. */
  blockedUntil: number;
  lastSeen: number | null;
}

export interface PeerEvent {
  at: number;
  delta: number;
  reason: string;
}

export interface ProviderRecord {
  peerId: string;
  updatedAt: number;
}

export interface NodeDb {
  path: string;
  peers: {
    get(peerId: string): PeerRecord | undefined;
    list(): PeerRecord[];
    /** Records that the peer was seen (and under which address), without touching its score. */
    touch(peerId: string, opts?: { address?: string; now?: number }): void;
    /** Adds `delta` to the score (negative = penalty) and logs why; returns the new score. */
    adjustScore(peerId: string, delta: number, reason: string, now?: number): number;
    block(peerId: string, until: number, reason: string, now?: number): void;
    unblock(peerId: string): void;
    /** ms since epoch the block ends; 0 when not blocked. */
    blockedUntil(peerId: string): number;
    events(peerId: string, limit?: number): PeerEvent[];
  };
  seen: {
    /** true when the id was new (and is now recorded), false for a duplicate. */
    add(id: string, topic: string, now?: number): boolean;
    has(id: string): boolean;
    /** Forgets ids seen before `before`; returns how many. */
    prune(before: number): number;
    count(): number;
  };
  providers: {
    add(hash: string, peerId: string, now?: number): void;
    /** Providers of a blob, most recently confirmed first. */
    list(hash: string): ProviderRecord[];
    remove(hash: string, peerId: string): void;
  };
  /** Runs fn in one transaction (rolled back if it throws). */
  transaction<T>(fn: () => T): T;
  /** The connection itself, for the modules that own the later tables (src/node/state.ts). */
  sql: DatabaseSync;
  schemaVersion(): number;
  close(): void;
}

/** Each entry runs once, in order, in its own transaction; never edit one that has shipped. */
const MIGRATIONS: string[] = [
  `CREATE TABLE peers (
     peer_id TEXT PRIMARY KEY,
     address TEXT,
     score REAL NOT NULL DEFAULT 0,
     blocked_until INTEGER NOT NULL DEFAULT 0,
     last_seen INTEGER
   ) STRICT;
   CREATE TABLE peer_events (
     id INTEGER PRIMARY KEY,
     peer_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     delta REAL NOT NULL,
     reason TEXT NOT NULL
   ) STRICT;
   CREATE INDEX peer_events_peer ON peer_events (peer_id, at);
   CREATE TABLE seen_messages (
     id TEXT PRIMARY KEY,
     topic TEXT NOT NULL,
     seen_at INTEGER NOT NULL
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX seen_messages_at ON seen_messages (seen_at);
   CREATE TABLE blob_providers (
     hash TEXT NOT NULL,
     peer_id TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (hash, peer_id)
   ) STRICT, WITHOUT ROWID;`,
  // 2: the daemon (src/node/state.ts): the chain's view of jobs, what this node does about them,
  // checkpoints and results it knows, a log for `job watch`, peer addresses for reconnecting.
  `CREATE TABLE kv (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE jobs (
     job_id INTEGER PRIMARY KEY,
     state TEXT NOT NULL,
     submitter TEXT NOT NULL,
     spec_hash TEXT NOT NULL,
     dataset_root TEXT NOT NULL,
     manifest_hash TEXT NOT NULL,
     price TEXT NOT NULL,
     duration INTEGER NOT NULL,
     steps INTEGER NOT NULL,
     checkpoint_interval INTEGER NOT NULL,
     checkpoints INTEGER NOT NULL,
     verifiers INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     challenge_window INTEGER NOT NULL,
     collateral TEXT NOT NULL,
     posted_block INTEGER NOT NULL,
     since INTEGER NOT NULL,
     solver TEXT,
     solver_node INTEGER,
     committed INTEGER NOT NULL DEFAULT 0,
     root TEXT,
     model_hash TEXT,
     verification TEXT,
     updated_block INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX jobs_state ON jobs (state);
   CREATE TABLE job_log (
     id INTEGER PRIMARY KEY,
     job_id INTEGER NOT NULL,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     data TEXT NOT NULL,
     dedup TEXT NOT NULL UNIQUE
   ) STRICT;
   CREATE INDEX job_log_job ON job_log (job_id, id);
   CREATE TABLE tasks (
     job_id INTEGER NOT NULL,
     role TEXT NOT NULL,
     status TEXT NOT NULL,
     data TEXT NOT NULL,
     error TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (job_id, role)
   ) STRICT;
   CREATE TABLE checkpoints (
     job_id INTEGER NOT NULL,
     solver TEXT NOT NULL,
     idx INTEGER NOT NULL,
     step INTEGER NOT NULL,
     state_hash TEXT NOT NULL,
     blob TEXT NOT NULL,
     PRIMARY KEY (job_id, solver, idx)
   ) STRICT;
   CREATE TABLE results (
     job_id INTEGER NOT NULL,
     root TEXT NOT NULL,
     model_hash TEXT NOT NULL,
     list TEXT NOT NULL,
     solver TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (job_id, root)
   ) STRICT;
   CREATE TABLE peer_addrs (
     peer_id TEXT NOT NULL,
     addr TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (peer_id, addr)
   ) STRICT, WITHOUT ROWID;`,
];

/** The schema version this code writes (the number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function openDb(path: string): NodeDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a process crash (kill -9); only an OS
  // crash can lose the last few, and never corrupts the file.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  migrate(db, path);

  function transaction<T>(fn: () => T): T {
    // Nested calls join the outer transaction: it commits or rolls back as a whole.
    if (db.isTransaction) return fn();
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }

  const q = {
    peerGet: db.prepare('SELECT peer_id, address, score, blocked_until, last_seen FROM peers WHERE peer_id = ?'),
    peerList: db.prepare('SELECT peer_id, address, score, blocked_until, last_seen FROM peers ORDER BY score DESC, peer_id'),
    peerEnsure: db.prepare('INSERT INTO peers (peer_id) VALUES (?) ON CONFLICT (peer_id) DO NOTHING'),
    peerTouch: db.prepare('UPDATE peers SET last_seen = ?, address = coalesce(?, address) WHERE peer_id = ?'),
    peerScore: db.prepare('UPDATE peers SET score = score + ? WHERE peer_id = ? RETURNING score'),
    peerBlock: db.prepare('UPDATE peers SET blocked_until = ? WHERE peer_id = ?'),
    eventAdd: db.prepare('INSERT INTO peer_events (peer_id, at, delta, reason) VALUES (?, ?, ?, ?)'),
    eventList: db.prepare('SELECT at, delta, reason FROM peer_events WHERE peer_id = ? ORDER BY id DESC LIMIT ?'),
    seenAdd: db.prepare('INSERT INTO seen_messages (id, topic, seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING'),
    seenHas: db.prepare('SELECT 1 AS x FROM seen_messages WHERE id = ?'),
    seenPrune: db.prepare('DELETE FROM seen_messages WHERE seen_at < ?'),
    seenCount: db.prepare('SELECT count(*) AS n FROM seen_messages'),
    provAdd: db.prepare('INSERT INTO blob_providers (hash, peer_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (hash, peer_id) DO UPDATE SET updated_at = excluded.updated_at'),
    provList: db.prepare('SELECT peer_id, updated_at FROM blob_providers WHERE hash = ? ORDER BY updated_at DESC, peer_id'),
    provRemove: db.prepare('DELETE FROM blob_providers WHERE hash = ? AND peer_id = ?'),
  };

  const toPeer = (r: Record<string, unknown>): PeerRecord => ({
    peerId: r.peer_id as string,
    address: (r.address as string | null) ?? null,
    score: r.score as number,
    blockedUntil: Number(r.blocked_until),
    lastSeen: r.last_seen === null ? null : Number(r.last_seen),
  });

  return {
    path,
    peers: {
      get(peerId) {
        const r = q.peerGet.get(peerId);
        return r === undefined ? undefined : toPeer(r);
      },
      list: () => q.peerList.all().map(toPeer),
      touch(peerId, opts = {}) {
        transaction(() => {
          q.peerEnsure.run(peerId);
          q.peerTouch.run(opts.now ?? Date.now(), opts.address ?? null, peerId);
        });
      },
      adjustScore(peerId, delta, reason, now = Date.now()) {
        return transaction(() => {
          q.peerEnsure.run(peerId);
          const r = q.peerScore.get(delta, peerId) as { score: number };
          q.eventAdd.run(peerId, now, delta, reason);
          return r.score;
        });
      },
      block(peerId, until, reason, now = Date.now()) {
        transaction(() => {
          q.peerEnsure.run(peerId);
          q.peerBlock.run(until, peerId);
          q.eventAdd.run(peerId, now, 0, `blocked until ${new Date(until).toISOString()}: ${reason}`);
        });
      },
      unblock(peerId) {
        q.peerBlock.run(0, peerId);
      },
      blockedUntil(peerId) {
        const r = q.peerGet.get(peerId);
        return r === undefined ? 0 : Number(r.blocked_until);
      },
      events: (peerId, limit = 50) =>
        q.eventList.all(peerId, limit).map((r) => ({ at: Number(r.at), delta: r.delta as number, reason: r.reason as string })),
    },
    seen: {
      add: (id, topic, now = Date.now()) => Number(q.seenAdd.run(id, topic, now).changes) === 1,
      has: (id) => q.seenHas.get(id) !== undefined,
      prune: (before) => Number(q.seenPrune.run(before).changes),
      count: () => Number((q.seenCount.get() as { n: number | bigint }).n),
    },
    providers: {
      add(hash, peerId, now = Date.now()) {
        q.provAdd.run(hash, peerId, now);
      },
      list: (hash) => q.provList.all(hash).map((r) => ({ peerId: r.peer_id as string, updatedAt: Number(r.updated_at) })),
      remove(hash, peerId) {
        q.provRemove.run(hash, peerId);
      },
    },
    transaction,
    sql: db,
    schemaVersion: () => currentVersion(db),
    close() {
      if (db.isOpen) db.close();
    },
  };
}

function currentVersion(db: DatabaseSync): number {
  const r = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return r.v ?? 0;
}

function migrate(db: DatabaseSync, path: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const have = currentVersion(db);
  if (have > MIGRATIONS.length) {
    db.close();
    throw new IntegrityError(`node database ${path} has schema version ${have}, this veritrain knows up to ${MIGRATIONS.length}`, {
      hint: 'upgrade veritrain; an older version must not write a newer database',
    });
  }
  for (let v = have + 1; v <= MIGRATIONS.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }
}
