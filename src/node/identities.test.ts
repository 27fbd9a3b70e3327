// Who may speak on gossip, read from a real chain (anvil): a bound and staked node, or the
// submitter of an announced job; an Ed25519 binding the registry merely recorded counts only when
// its signature holds; an unreachable chain answers 'unknown' (nobody is blamed for it).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, type Hex } from 'viem';
import { postJob } from '../chain/market.ts';
import { registerNode, roleMask } from '../chain/registry.ts';
import { bond } from '../chain/staking.ts';
import { ensureAllowance, faucet } from '../chain/token.ts';
import type { Envelope } from '../net/messages.ts';
import { startTestChain, type TestChain } from '../../test/chain.ts';
import { createIdentities } from './identities.ts';

let ch: TestChain;
before(async () => {
  ch = await startTestChain();
});
after(async () => {
  await ch?.anvil.stop();
});

async function node(i: number, opts: { stake?: bigint; badSignature?: boolean } = {}) {
  const c = ch.as(i);
  const key = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(key);
  const bytes = bytesToHex(peerId.toMultihash().bytes);
  const { nodeId } = await registerNode(c, {
    peerId: bytes,
    peer: opts.badSignature ? new Uint8Array(64).fill(7) : key,
    roles: roleMask(['solver']),
    hardware: { cores: 2, memoryMiB: 4096, accelerator: 'none' },
  });
  if (opts.stake) {
    await faucet(c);
    await ensureAllowance(c, c.deployment.contracts.staking, opts.stake);
    await bond(c, opts.stake);
  }
  return { nodeId, peerId: peerId.toString(), address: c.wallet!.account.address };
}

test('bound and staked: yes; bound but unstaked, or a binding whose Ed25519 signature does not hold: no', async () => {
  const min = BigInt(ch.deployment.params.minSolverStake);
  const good = await node(1, { stake: min });
  const forged = await node(2, { stake: min, badSignature: true });
  const poor = await node(3);
  const ids = createIdentities({ client: ch.as(0) });
  await ids.load();
  assert.equal(ids.byPeer(good.peerId)?.nodeId, good.nodeId);
  assert.equal(ids.byPeer(forged.peerId), undefined, 'the registry recorded it, but the peer key never signed');
  assert.equal(await ids.check({ address: good.address, peerId: good.peerId }), true);
  assert.equal(await ids.check({ address: forged.address, peerId: forged.peerId }), false);
  assert.equal(await ids.check({ address: poor.address, peerId: poor.peerId }), false);
  assert.equal(await ids.check({ address: poor.address, peerId: good.peerId }), false, 'another address claiming a bound peer id');
  // A node registered after the last read: an unknown peer id triggers a fresh read of the registry.
  const late = await node(4, { stake: min });
  await new Promise((r) => setTimeout(r, 250)); // the registry is read at most every 200 ms
  assert.equal(await ids.check({ address: late.address, peerId: late.peerId }), true);
});

test("a job announcement may come from the job's submitter, staked or not; from anyone else, no", async () => {
  const c = ch.as(5);
  await faucet(c);
  await ensureAllowance(c, c.deployment.contracts.market, 10n ** 18n);
  const h = (x: string) => `0x${x.repeat(64)}` as Hex;
  const { jobId } = await postJob(c, {
    manifest: { specHash: h('1'), datasetRoot: h('2'), initState: h('3'), dataOrder: h('4'), schedule: h('5'), program: h('6') },
    price: 10n ** 18n,
    duration: 600,
    steps: 10,
    checkpointInterval: 5,
    verifiers: 0,
    collateral: BigInt(c.deployment.params.disputeBond),
  });
  const ids = createIdentities({ client: ch.as(0) });
  await ids.load();
  const envelope = { kind: 'job', body: { jobId: `0x${jobId.toString(16).padStart(64, '0')}` } } as unknown as Envelope;
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
  assert.equal(await ids.check({ address: c.wallet!.account.address, peerId }, envelope), true);
  assert.equal(await ids.check({ address: ch.as(6).wallet!.account.address, peerId }, envelope), false);
  assert.equal(await ids.check({ address: c.wallet!.account.address, peerId }), false, 'not for other kinds of message');
});

test("the chain unreachable: 'unknown', so the message is dropped without blaming anyone", async () => {
  const good = await node(7, { stake: BigInt(ch.deployment.params.minSolverStake) });
  const ids = createIdentities({ client: ch.as(0), stakeTtlMs: 0 });
  await ids.load();
  await ch.anvil.stop();
  assert.equal(await ids.check({ address: good.address, peerId: good.peerId }), 'unknown');
  assert.equal(await ids.check({ address: good.address, peerId: 'not-registered-anywhere' }), 'unknown');
});
