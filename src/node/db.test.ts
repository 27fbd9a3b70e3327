import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { tempDir } from '../../test/cli.ts';
import { openDb, SCHEMA_VERSION } from './db.ts';

test('peers: scores add up with a reason log; blocks; touch keeps the score', () => {
  const db = openDb(join(tempDir(), 'node.db'));
  assert.equal(db.schemaVersion(), SCHEMA_VERSION);
  assert.equal(db.peers.get('p1'), undefined);
  assert.equal(db.peers.adjustScore('p1', -10, 'bad signature', 1000), -10);
  assert.equal(db.peers.adjustScore('p1', -5, 'oversized', 2000), -15);
  db.peers.touch('p1', { address: '0xabc', now: 3000 });
  assert.deepEqual(db.peers.get('p1'), { peerId: 'p1', address: '0xabc', score: -15, blockedUntil: 0, lastSeen: 3000 });
  db.peers.touch('p1', { now: 4000 });
  assert.equal(db.peers.get('p1')?.address, '0xabc', 'touch without an address keeps the old one');
  db.peers.block('p1', 99_000, 'score below threshold', 5000);
  assert.equal(db.peers.blockedUntil('p1'), 99_000);
  assert.equal(db.peers.blockedUntil('nobody'), 0);
  assert.deepEqual(
    db.peers.events('p1').map((e) => e.reason.replace(/until \S+Z/, 'until T')),
    ['blocked until T: score below threshold', 'oversized', 'bad signature'],
  );
  db.peers.unblock('p1');
  assert.equal(db.peers.blockedUntil('p1'), 0);
  db.peers.adjustScore('p2', 3, 'good blob');
  assert.deepEqual(db.peers.list().map((p) => p.peerId), ['p2', 'p1']);
  db.close();
});

test('seen ids dedup and prune; provider records upsert', () => {
  const db = openDb(join(tempDir(), 'node.db'));
  assert.equal(db.seen.add('m1', 'jobs', 100), true);
  assert.equal(db.seen.add('m1', 'jobs', 200), false);
  assert.equal(db.seen.add('m2', 'jobs', 300), true);
  assert.equal(db.seen.has('m1'), true);
  assert.equal(db.seen.prune(250), 1);
  assert.equal(db.seen.has('m1'), false);
  assert.equal(db.seen.count(), 1);
  const h = 'a'.repeat(64);
  db.providers.add(h, 'pA', 10);
  db.providers.add(h, 'pB', 20);
  db.providers.add(h, 'pA', 30);
  assert.deepEqual(db.providers.list(h), [{ peerId: 'pA', updatedAt: 30 }, { peerId: 'pB', updatedAt: 20 }]);
  db.providers.remove(h, 'pA');
  assert.deepEqual(db.providers.list(h).map((p) => p.peerId), ['pB']);
  db.close();
});

test('WAL mode; reopening keeps data and does not rerun migrations; a newer schema is refused', () => {
  const path = join(tempDir(), 'node.db');
  let db = openDb(path);
  db.seen.add('x', 't');
  db.close();
  db = openDb(path);
  assert.equal(db.seen.has('x'), true);
  assert.equal(db.schemaVersion(), SCHEMA_VERSION);
  db.close();
  const raw = new DatabaseSync(path);
  assert.equal((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  assert.equal((raw.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, SCHEMA_VERSION);
  raw.prepare('INSERT INTO schema_migrations VALUES (99, 0)').run();
  raw.close();
  assert.throws(() => openDb(path), IntegrityError);
});

test('a transaction that throws leaves nothing behind', () => {
  const db = openDb(join(tempDir(), 'node.db'));
  assert.throws(() =>
    db.transaction(() => {
      db.seen.add('inside', 't');
      throw new Error('boom');
    }),
  );
  assert.equal(db.seen.has('inside'), false);
  db.close();
});

test('survives kill -9: every write the child reported committed is there, the file is intact', async () => {
  const path = join(tempDir(), 'node.db');
  const dbModule = new URL('./db.ts', import.meta.url).pathname;
  // The child commits writes as fast as it can and prints each index after its commit returns; the
  // next commit waits until that line is handed to the OS. (Without the wait a loop that never yields
  // queues every line after a full socket buffer in memory, unsent: a CI run under load hung so after
  // 243 lines. And a child ahead of its printed lines would break the in-flight bound below.)
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { openDb } from ${JSON.stringify(dbModule)};
       const db = openDb(${JSON.stringify(path)});
       for (let i = 0; ; i++) {
         db.transaction(() => {
           db.seen.add('m' + i, 'jobs', i);
           db.peers.adjustScore('peer' + (i % 7), -1, 'n' + i, i);
           db.providers.add('a'.repeat(64), 'peer' + i, i);
         });
         await new Promise((r) => process.stdout.write(i + '\\n', r));
       }`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let acked = -1;
  let buf = '';
  // Should it stall anyway, it fails here in a minute rather than at the runner's file timeout.
  const stall = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      if (lines.length > 0) acked = Number(lines[lines.length - 1]);
      if (acked >= 300 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
  });
  clearTimeout(stall);
  assert.equal(child.signalCode, 'SIGKILL');
  assert.ok(acked >= 300, `child acknowledged ${acked} writes (stalled: killed after 60 s)`);

  const db = openDb(path);
  for (let i = 0; i <= acked; i++) assert.equal(db.seen.has('m' + i), true, `write ${i} was acknowledged but is missing`);
  const n = db.seen.count();
  assert.ok(n === acked + 1 || n === acked + 2, `at most the write in flight beyond the last ack (${n} vs ${acked + 1})`);
  // All three writes of a transaction are there together, or none is.
  assert.equal(db.providers.list('a'.repeat(64)).length, n);
  const total = db.peers.list().reduce((s, p) => s + p.score, 0);
  assert.equal(total, -n);
  db.close();
  const raw = new DatabaseSync(path);
  assert.equal((raw.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  raw.close();
});
