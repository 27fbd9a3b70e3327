import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashMessage, recoverAddress, bytesToHex, type Address } from 'viem';
import { InputError, IntegrityError } from '../errors.ts';
import { tempDir } from '../../test/cli.ts';
import { bindingMessages, BIND_PEER_TAG, KEYSTORE_FILE, openKeystore, readPassphrase, signBinding, verifyBinding } from './keystore.ts';

const scryptN = 2 ** 14; // the default 2^17 costs ~0.5 s per open
const domain = { chainId: 31337, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address };

test('first run creates both keys; later runs load the same ones; file mode 0600', async () => {
  const dataDir = tempDir();
  const a = await openKeystore({ dataDir, passphrase: 'correct horse', scryptN });
  assert.equal(a.created, true);
  assert.equal(a.libp2pKey.type, 'Ed25519');
  assert.match(a.address, /^0x[0-9a-fA-F]{40}$/);
  const path = join(dataDir, KEYSTORE_FILE);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes(Buffer.from(a.libp2pKey.raw).toString('hex').slice(0, 64)), 'no plaintext key in the file');
  assert.ok(text.includes(a.address) && text.includes(a.peerId.toString()), 'public header readable without the passphrase');
  const b = await openKeystore({ dataDir, passphrase: 'correct horse', scryptN });
  assert.equal(b.created, false);
  assert.equal(b.peerId.toString(), a.peerId.toString());
  assert.equal(b.address, a.address);
  assert.deepEqual(b.libp2pKey.raw, a.libp2pKey.raw);
});

test('wrong passphrase: InputError naming the env variable; nothing rewritten', async () => {
  const dataDir = tempDir();
  await openKeystore({ dataDir, passphrase: 'correct horse', scryptN });
  const before = readFileSync(join(dataDir, KEYSTORE_FILE));
  await assert.rejects(openKeystore({ dataDir, passphrase: 'wrong horse', scryptN }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.shortMessage, /wrong passphrase/);
    assert.match(e.hint ?? '', /VERITRAIN_PASSPHRASE/);
    return true;
  });
  assert.deepEqual(readFileSync(join(dataDir, KEYSTORE_FILE)), before);
});

test('a tampered header (swapped address) fails the authentication tag', async () => {
  const dataDir = tempDir();
  await openKeystore({ dataDir, passphrase: 'correct horse', scryptN });
  const path = join(dataDir, KEYSTORE_FILE);
  const file = JSON.parse(readFileSync(path, 'utf8'));
  file.address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  await assert.rejects(openKeystore({ dataDir, passphrase: 'correct horse', scryptN }), InputError);
});

test('garbage, unknown versions and loose permissions are refused with a clear error', async () => {
  const dataDir = tempDir();
  const path = join(dataDir, KEYSTORE_FILE);
  writeFileSync(path, '{not json', { mode: 0o600 });
  await assert.rejects(openKeystore({ dataDir, passphrase: 'correct horse' }), IntegrityError);
  writeFileSync(path, JSON.stringify({ version: 2 }), { mode: 0o600 });
  await assert.rejects(openKeystore({ dataDir, passphrase: 'correct horse' }), /unknown format/);
  const other = tempDir();
  await openKeystore({ dataDir: other, passphrase: 'correct horse', scryptN });
  chmodSync(join(other, KEYSTORE_FILE), 0o644);
  await assert.rejects(openKeystore({ dataDir: other, passphrase: 'correct horse', scryptN }), /chmod 600/);
  await assert.rejects(openKeystore({ dataDir: tempDir(), passphrase: 'short', scryptN }), /too short/);
});

test('passphrase comes from the environment; without it and without a TTY it throws', async () => {
  assert.equal(await readPassphrase({ env: { VERITRAIN_PASSPHRASE: 'from env!' } }), 'from env!');
  if (!process.stdin.isTTY) await assert.rejects(readPassphrase({ env: {} }), /no keystore passphrase/);
});

test('binding: byte format, EIP-191 signature by the EVM key, Ed25519 by the libp2p key', async () => {
  const ks = await openKeystore({ dataDir: tempDir(), passphrase: 'correct horse', scryptN });
  const msgs = bindingMessages(domain, ks.address, ks.peerId);
  // tag (22) + chainId (32) + registry (20) + address (20) + Ed25519 peer id multihash (38)
  assert.equal(msgs.evm.length, 132);
  assert.equal(new TextDecoder().decode(msgs.evm.subarray(0, 22)), BIND_PEER_TAG);
  assert.equal(msgs.evm[22 + 31], 0x69); // 31337 = 0x7a69
  assert.equal(bytesToHex(msgs.evm.subarray(54, 74)), domain.registry.toLowerCase());
  assert.equal(bytesToHex(msgs.evm.subarray(74, 94)), ks.address.toLowerCase());
  assert.deepEqual(msgs.evm.subarray(94), ks.peerId.toMultihash().bytes);
  assert.equal(msgs.libp2p.length, 21 + 32 + 20 + 20);

  const b = await signBinding(ks, domain);
  // What a contract does: ecrecover over the EIP-191 digest of the raw bytes.
  const digest = hashMessage({ raw: msgs.evm });
  assert.equal(await recoverAddress({ hash: digest, signature: b.evmSignature }), ks.address);
  assert.equal(await verifyBinding(b, domain), true);

  assert.equal(await verifyBinding(b, { ...domain, chainId: 1 }), false, 'another chain');
  const other = await openKeystore({ dataDir: tempDir(), passphrase: 'correct horse', scryptN });
  assert.equal(await verifyBinding({ ...b, peerId: other.peerId.toString(), peerIdBytes: bytesToHex(other.peerId.toMultihash().bytes) }, domain), false, 'claiming another peer id');
  assert.equal(await verifyBinding({ ...b, address: other.address }, domain), false, 'claiming another address');
  assert.equal(await verifyBinding({ ...b, libp2pSignature: '0x00' }, domain), false, 'malformed signature');
});
