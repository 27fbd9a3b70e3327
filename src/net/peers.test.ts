import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PeerId } from '@libp2p/interface';
import { openDb } from '../node/db.ts';
import { tempDir } from '../../test/cli.ts';
import { BLOCK_BELOW, createPeerScorer, memoryScoreStore, PENALTY } from './peers.ts';

test('penalties add up; at the threshold the peer is blocked, hung up on, and stays blocked after a restart until the block ends', async () => {
  const path = join(tempDir(), 'node.db');
  let db = openDb(path);
  let t = 1_000_000;
  const hungUp: string[] = [];
  const target = { hangUp: async (p: PeerId) => void hungUp.push(p.toString()) };
  let scorer = createPeerScorer({ store: db.peers, now: () => t, blockForMs: 60_000 });
  scorer.attach(target);
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
  assert.deepEqual(scorer.penalize(peer, 'signature', 'forged'), { score: -PENALTY.signature, blocked: false });
  assert.deepEqual(scorer.penalize(peer, 'malformed'), { score: -PENALTY.signature - PENALTY.malformed, blocked: false });
  assert.equal(scorer.reward(peer, 1, 'served a blob'), -74);
  const r = scorer.penalize(peer, 'peerMismatch');
  assert.ok(r.score <= BLOCK_BELOW && r.blocked);
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(hungUp, [peer.toString()]);
  assert.equal(db.peers.blockedUntil(peer.toString()), t + 60_000);
  assert.match(db.peers.events(peer.toString()).map((e) => e.reason).join('|'), /signature: forged/);

  db.close();
  db = openDb(path);
  scorer = createPeerScorer({ store: db.peers, now: () => t });
  assert.equal(scorer.isBlocked(peer), true, 'a restart forgives nobody');
  t += 60_001;
  assert.equal(scorer.isBlocked(peer.toString()), false, 'the block ends');
  db.close();
});

test('the memory store behaves the same (benchmarks, nodes without a data dir)', () => {
  const scorer = createPeerScorer({ store: memoryScoreStore() });
  for (let i = 0; i < 3; i++) scorer.penalize('p', 'malformed');
  assert.equal(scorer.isBlocked('p'), false);
  assert.equal(scorer.penalize('p', 'malformed').blocked, true);
  assert.equal(scorer.isBlocked('q'), false);
});
