import fc from 'fast-check';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashMessage, recoverMessageAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { personalMessageHash, recoverPersonalSigner } from './evm.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

test('recovers the same signer as viem for random keys and messages', async () => {
  const accounts = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
  const cases = fc.sample(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 300 })), { numRuns: 40, seed: 1 });
  for (const [i, raw] of cases) {
    const sig = await accounts[i].signMessage({ message: { raw } });
    assert.equal(Buffer.from(personalMessageHash(raw)).toString('hex'), hashMessage({ raw }).slice(2));
    assert.equal(recoverPersonalSigner(raw, sig), accounts[i].address.toLowerCase());
    assert.equal(recoverPersonalSigner(raw, sig), (await recoverMessageAddress({ message: { raw }, signature: sig })).toLowerCase());
  }
});

test('refuses the high-s twin of a valid signature (a second encoding of one message), bad v, bad hex', async () => {
  const account = privateKeyToAccount(generatePrivateKey());
  const raw = new TextEncoder().encode('veritrain');
  const sig = await account.signMessage({ message: { raw } });
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  const v = parseInt(sig.slice(130), 16);
  const twin = `0x${sig.slice(2, 66)}${(N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`;
  // viem accepts the twin and recovers the same address: our id-based dedup must not.
  assert.equal((await recoverMessageAddress({ message: { raw }, signature: twin as `0x${string}` })).toLowerCase(), account.address.toLowerCase());
  assert.throws(() => recoverPersonalSigner(raw, twin), /high-s/);
  assert.throws(() => recoverPersonalSigner(raw, `${sig.slice(0, 130)}05`), /recovery id/);
  assert.throws(() => recoverPersonalSigner(raw, sig.slice(0, 100)), /65 bytes/);
});
