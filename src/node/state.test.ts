import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import type { Address, Hex } from 'viem';
import { tempDir } from '../../test/cli.ts';
import { openDb, SCHEMA_VERSION } from './db.ts';
import { openState, type JobRow } from './state.ts';

const h = (c: string) => c.repeat(64);
const job = (over: Partial<JobRow> = {}): JobRow => ({
  jobId: 1n,
  state: 'open',
  submitter: `0x${'11'.repeat(20)}` as Address,
  specHash: h('a'),
  datasetRoot: `0x${h('b')}` as Hex,
  manifestHash: `0x${h('c')}` as Hex,
  price: 10n ** 19n,
  duration: 600,
  steps: 100,
  checkpointInterval: 25,
  checkpoints: 4,
  verifiers: 2,
  samples: 1,
  challengeWindow: 26,
  collateral: 2n * 10n ** 19n,
  postedBlock: 5,
  since: 1000,
  solver: null,
  solverNode: null,
  committed: 0,
  root: null,
  modelHash: null,
  verification: null,
  updatedBlock: 5,
  ...over,
});

test('jobs: round trip; an update from an older block never overwrites a newer one', () => {
  const s = openState(openDb(':memory:'));
  s.jobs.put(job());
  assert.deepEqual(s.jobs.get(1n), job());
  const claimed = job({ state: 'claimed', solver: `0x${'22'.repeat(20)}` as Address, solverNode: 3n, since: 1010, updatedBlock: 7 });
  s.jobs.put(claimed);
  s.jobs.put(job({ state: 'open', updatedBlock: 6 })); // a slow poll that read block 6
  assert.deepEqual(s.jobs.get(1n), claimed);
  const v = { seed: `0x${h('d')}` as Hex, seedBlock: 9, pending: 0, uncommitted: 1, openProbes: 0, slots: [{ verifier: `0x${'33'.repeat(20)}` as Address, commitBy: 2000, revealBy: 2004, status: 'drawn' as const, agree: false, probe: 'none' as const }] };
  s.jobs.put({ ...claimed, state: 'submitted', verification: v, updatedBlock: 9 });
  assert.deepEqual(s.jobs.get(1n)?.verification, v);
  s.jobs.put(job({ jobId: 2n, updatedBlock: 9 }));
  assert.deepEqual(s.jobs.list({ states: ['open'] }).map((j) => j.jobId), [2n]);
});

test('tasks merge their data; the log keeps one entry per dedup key', () => {
  const s = openState(openDb(':memory:'));
  s.tasks.put(1n, 'solver', 'ready', { a: 1 });
  s.tasks.put(1n, 'solver', 'training', { b: 2 });
  assert.deepEqual(s.tasks.get(1n, 'solver')?.data, { a: 1, b: 2 });
  s.tasks.put(1n, 'solver', 'done', { c: 3 }, { replace: true, error: 'x' });
  assert.deepEqual(s.tasks.get(1n, 'solver')?.data, { c: 3 });
  assert.equal(s.tasks.get(1n, 'solver')?.error, 'x');
  assert.equal(s.tasks.get(1n, 'verifier'), undefined);
  assert.deepEqual(s.tasks.list({ role: 'solver', statuses: ['done'] }).map((t) => t.jobId), [1n]);
  assert.equal(s.log.add(1n, 'JobPosted', { x: 1 }, '5:0'), true);
  assert.equal(s.log.add(1n, 'JobPosted', { x: 1 }, '5:0'), false);
  s.log.add(1n, 'progress', { step: 3 }, 'p:1:3');
  assert.deepEqual(s.log.list(1n).map((e) => e.kind), ['JobPosted', 'progress']);
  assert.deepEqual(s.log.list(1n, { afterId: s.log.list(1n)[0].id }).map((e) => e.kind), ['progress']);
});

test('a database of schema 1 (the groundwork) migrates to the daemon tables and keeps what it held', () => {
  const path = join(tempDir(), 'node.db');
  // Schema 1 exactly as it shipped, with data.
  const raw = new DatabaseSync(path);
  raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  raw.exec(`CREATE TABLE peers (peer_id TEXT PRIMARY KEY, address TEXT, score REAL NOT NULL DEFAULT 0, blocked_until INTEGER NOT NULL DEFAULT 0, last_seen INTEGER) STRICT;
    CREATE TABLE peer_events (id INTEGER PRIMARY KEY, peer_id TEXT NOT NULL, at INTEGER NOT NULL, delta REAL NOT NULL, reason TEXT NOT NULL) STRICT;
    CREATE TABLE seen_messages (id TEXT PRIMARY KEY, topic TEXT NOT NULL, seen_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
    CREATE TABLE blob_providers (hash TEXT NOT NULL, peer_id TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (hash, peer_id)) STRICT, WITHOUT ROWID;`);
  raw.prepare('INSERT INTO schema_migrations VALUES (1, 0)').run();
  raw.prepare("INSERT INTO peers (peer_id, score) VALUES ('p1', -30)").run();
  raw.close();
  const db = openDb(path);
  assert.equal(db.schemaVersion(), SCHEMA_VERSION);
  assert.equal(db.peers.get('p1')?.score, -30);
  const s = openState(db);
  s.jobs.put(job());
  s.kv.set('cursor', '41');
  db.close();
  const again = openState(openDb(path));
  assert.equal(again.kv.get('cursor'), '41');
  assert.equal(again.jobs.get(1n)?.manifestHash, `0x${h('c')}`);
});
