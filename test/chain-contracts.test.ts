// VeriToken, NodeRegistry, Staking and Reputation on a real anvil: every external function's
// success path and each of its reverts (mined, decoded, state unchanged).
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  bytesToHex,
  concat,
  createTestClient,
  encodeFunctionData,
  hexToBytes,
  http,
  keccak256,
  maxUint256,
  parseEventLogs,
  sha256,
  type Address,
  type Hex,
} from 'viem';
import { privateKeyToAccount, sign as secpSign } from 'viem/accounts';
import { compileContracts, CHAIN_SOURCES } from '../src/chain/compile.ts';
import { toChainError } from '../src/chain/errors.ts';
import * as abis from '../src/chain/abi.ts';
import { devAccount } from '../src/chain/client.ts';
import { bindingMessage, peerKeyType, registrySignature, rsFromDer } from '../src/chain/peer.ts';
import * as reg from '../src/chain/registry.ts';
import { reputationOf, reputationScore } from '../src/chain/reputation.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { bindingMessages } from '../src/node/keystore.ts';
import { expectRevert, libp2pKey, minedAs, startTestChain, isolateTests, type TestChain } from './chain.ts';
import type { ChainClient } from '../src/chain/client.ts';

const VTT = 10n ** 18n;
const hw = { cores: 4, memoryMiB: 8192, accelerator: 'none' };

let ch: TestChain;
before(async () => {
  ch = await startTestChain();
  for (const i of [1, 2, 3, 4]) {
    await tok.faucet(ch.as(i));
    await tok.approve(ch.as(i), ch.deployment.contracts.staking, maxUint256);
  }
});
after(() => ch?.anvil.stop());
isolateTests(() => ch);

describe('VeriToken', () => {
  test('faucet mints the faucet amount; transfer, approve and transferFrom move balances', async () => {
    const [a, b] = [ch.as(5), ch.as(6)];
    await tok.faucet(a);
    assert.equal(await tok.tokenBalance(a), 1000n * VTT);
    const supply = await tok.totalSupply(a);
    await tok.transfer(a, b.wallet!.account.address, 10n * VTT);
    assert.equal(await tok.tokenBalance(b), 10n * VTT);
    await tok.approve(a, b.wallet!.account.address, 5n * VTT);
    assert.equal(await tok.allowance(a, a.wallet!.account.address, b.wallet!.account.address), 5n * VTT);
    await b.wallet!.writeContract({
      address: ch.deployment.contracts.token,
      abi: abis.veriTokenAbi,
      functionName: 'transferFrom',
      args: [a.wallet!.account.address, b.wallet!.account.address, 3n * VTT],
    });
    assert.equal(await tok.allowance(a, a.wallet!.account.address, b.wallet!.account.address), 2n * VTT);
    assert.equal(await tok.tokenBalance(b), 13n * VTT);
    assert.equal(await tok.totalSupply(a), supply, 'transfers keep the supply');
    const meta = (functionName: 'name' | 'symbol' | 'decimals') =>
      a.public.readContract({ address: ch.deployment.contracts.token, abi: abis.veriTokenAbi, functionName });
    assert.deepEqual([await meta('name'), await meta('symbol'), await meta('decimals')], ['Veritrain Token', 'VTT', 18]);
  });

  test('an infinite approval is not decremented', async () => {
    const [a, b] = [ch.as(1), ch.as(6)];
    await tok.approve(a, b.wallet!.account.address, maxUint256);
    await b.wallet!.writeContract({
      address: ch.deployment.contracts.token,
      abi: abis.veriTokenAbi,
      functionName: 'transferFrom',
      args: [a.wallet!.account.address, b.wallet!.account.address, 1n],
    });
    assert.equal(await tok.allowance(a, a.wallet!.account.address, b.wallet!.account.address), maxUint256);
  });

  test('reverts: zero address, insufficient balance or allowance', async () => {
    const a = minedAs(ch, 1);
    const zero = '0x0000000000000000000000000000000000000000';
    await expectRevert(ch, () => tok.transfer(a, zero, 1n), 'ZeroAddress');
    await expectRevert(ch, () => tok.approve(a, zero, 1n), 'ZeroAddress');
    await expectRevert(ch, () => tok.transfer(a, devAccount(6).address, 1001n * VTT), 'InsufficientBalance');
    const b = minedAs(ch, 6);
    const transferFrom = () =>
      b.wallet!.writeContract({
        address: ch.deployment.contracts.token,
        abi: abis.veriTokenAbi,
        functionName: 'transferFrom',
        args: [devAccount(1).address, devAccount(6).address, 1n],
        gas: 200_000n,
      });
    await expectRevertRaw(ch, b, transferFrom, 'InsufficientAllowance');
  });

  test('faucet reverts: disabled on a token without one, cooldown between calls', async () => {
    const w = ch.as(0).wallet!;
    const artifacts = await compileContracts({ include: CHAIN_SOURCES });
    const bytecode = artifacts['core/VeriToken.sol:VeriToken'].bytecode;
    const pub = ch.as(0).public;
    const deploy = async (args: readonly [bigint, bigint, `0x${string}`, bigint]) =>
      (await pub.waitForTransactionReceipt({ hash: await w.deployContract({ abi: abis.veriTokenAbi, bytecode, args }) })).contractAddress!;
    const none = await deploy([0n, 0n, devAccount(0).address, 100n]);
    assert.equal(await pub.readContract({ address: none, abi: abis.veriTokenAbi, functionName: 'balanceOf', args: [devAccount(0).address] }), 100n);
    const cooled = await deploy([5n, 3600n, devAccount(0).address, 0n]);
    const mined = minedAs(ch, 1);
    const at = (token: `0x${string}`) => ({ ...mined, deployment: { ...mined.deployment, contracts: { ...mined.deployment.contracts, token } } });
    await expectRevert(ch, () => tok.faucet(at(none)), 'FaucetDisabled');
    await tok.faucet(at(cooled));
    const e = await expectRevert(ch, () => tok.faucet(at(cooled)), 'FaucetCooldown');
    assert.match(e.hint ?? '', /try again after/);
    await ch.increaseTime(3601);
    await tok.faucet(at(cooled));
    // The constructor refuses an initial supply for the zero address.
    await assert.rejects(deploy([0n, 0n, '0x0000000000000000000000000000000000000000', 1n]));
  });
});

describe('NodeRegistry', () => {
  test('a secp256k1 libp2p key binds on chain; its peer id is reserved', async () => {
    const c = ch.as(1);
    const { key, peerId } = await libp2pKey('secp256k1');
    const r = await reg.registerNode(c, { peerId, peer: key, roles: reg.roleMask(['solver', 'verifier']), hardware: hw });
    assert.equal(r.peerVerified, true);
    const n = await reg.getNode(c, r.nodeId);
    assert.deepEqual(
      { owner: n.owner, roles: n.roles, cores: n.cores, memoryMiB: n.memoryMiB, accelerator: n.accelerator, peerId: n.peerId, keyType: n.keyType },
      { owner: devAccount(1).address, roles: 3, cores: 4, memoryMiB: 8192, accelerator: 'none', peerId, keyType: 'secp256k1' },
    );
    assert.equal(await reg.nodeCount(c), 1n);
    const byPeer = await c.public.readContract({
      address: ch.deployment.contracts.registry,
      abi: abis.nodeRegistryAbi,
      functionName: 'nodeIdOfPeer',
      args: [keccak256(peerId)],
    });
    assert.equal(byPeer, r.nodeId);
    // The same peer id again, even from another operator with a valid signature: refused.
    const other = minedAs(ch, 2);
    await expectRevert(ch, () => reg.registerNode(other, { peerId, peer: key, roles: 1, hardware: hw }), 'PeerAlreadyRegistered');
  });

  test('an Ed25519 libp2p key binds with its signature recorded for off-chain checks', async () => {
    const c = ch.as(1);
    const { key, peerId } = await libp2pKey('Ed25519');
    const r = await reg.registerNode(c, { peerId, peer: key, roles: 2, hardware: hw });
    assert.equal(r.peerVerified, false);
    const e = r.tx.events.find((x) => x.eventName === 'NodeRegistered')!;
    // Peers verify the recorded signature with the peer id's own key.
    // The identity multihash's digest (after 0x00 0x24) is the protobuf public key.
    const publicKey = publicKeyFromProtobuf(hexToBytes(peerId).subarray(2));
    assert.equal(await publicKey.verify(hexToBytes(reg.nodeBindingMessage(c)), hexToBytes(e.args.peerSignature as Hex)), true);
    // Ed25519 ids are not reserved on chain: another operator can register one too (peers drop the
    // binding whose signature does not verify).
    const again = await reg.registerNode(ch.as(2), { peerId, peer: new Uint8Array(64), roles: 2, hardware: hw });
    assert.equal(again.peerVerified, false);
  });

  test("the binding message is the keystore's libp2p message", async () => {
    const { key, peerId } = await libp2pKey('Ed25519');
    const ours = bindingMessage(31337, ch.deployment.contracts.registry, devAccount(1).address);
    const theirs = bindingMessages({ chainId: 31337, registry: ch.deployment.contracts.registry }, devAccount(1).address, peerIdFromPrivateKey(key));
    assert.equal(ours, bytesToHex(theirs.libp2p));
    const onChain = await ch.as(1).public.readContract({
      address: ch.deployment.contracts.registry,
      abi: abis.nodeRegistryAbi,
      functionName: 'bindingMessage',
      args: [devAccount(1).address],
    });
    assert.equal(onChain, ours);
    assert.equal(peerKeyType(peerId), 'Ed25519');
  });

  test('registerNode reverts: bad roles, hardware, peer id, signature', async () => {
    const c = minedAs(ch, 1);
    const { key, peerId } = await libp2pKey('secp256k1');
    const wrong = await libp2pKey('secp256k1');
    const ok = { peerId, peer: key, roles: 1, hardware: hw };
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, roles: 0 }), 'BadRoles');
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, roles: 16 }), 'BadRoles');
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, hardware: { ...hw, cores: 0 } }), 'BadHardware');
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, hardware: { ...hw, memoryMiB: 0 } }), 'BadHardware');
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, peer: wrong.key }), 'BadPeerSignature');
    // Signed for another operator: the binding names the operator, so it does not transfer.
    const forOther = await key.sign(hexToBytes(bindingMessage(31337, ch.deployment.contracts.registry, devAccount(2).address)));
    await expectRevert(ch, () => reg.registerNode(c, { ...ok, peer: forOther }), 'BadPeerSignature');
    // Raw contract calls for malformed inputs the client itself refuses.
    const raw = (pid: Hex, sig: Hex) =>
      c.wallet!.writeContract({
        address: ch.deployment.contracts.registry,
        abi: abis.nodeRegistryAbi,
        functionName: 'registerNode',
        args: [pid, sig, 1, { cores: 1, memoryMiB: 1, accelerator: `0x${'00'.repeat(32)}` }],
        gas: 500_000n,
      });
    const sig = registrySignature(peerId, await key.sign(hexToBytes(reg.nodeBindingMessage(c))));
    await expectRevertRaw(ch, c, () => raw(peerId, `0x${sig.slice(2, 100)}` as Hex), 'BadPeerSignature'); // not 64 bytes
    await expectRevertRaw(ch, c, () => raw(`0x0025080212210400${peerId.slice(18)}` as Hex, sig), 'BadPeerId'); // bad key prefix
    await expectRevertRaw(ch, c, () => raw(`0x00250802122102${'ff'.repeat(32)}` as Hex, sig), 'BadPeerId'); // x >= p
    await expectRevertRaw(ch, c, () => raw('0x1220' as Hex, sig), 'BadPeerId'); // not a libp2p key id
    // x = 5: x^3 + 7 = 132 is not a square mod p, so no curve point has it.
    await expectRevertRaw(ch, c, () => raw(`0x00250802122102${'00'.repeat(31)}05` as Hex, sig), 'BadPeerId');
    await expectRevertRaw(ch, c, () => raw(peerId, `0x${'00'.repeat(64)}` as Hex), 'BadPeerSignature'); // r = s = 0
  });

  test('updateNode and deregisterNode: owner only; roles come back with an update', async () => {
    const c = ch.as(1);
    const { nodeId } = await reg.registerNode(c, { ...(await libp2pKeyArgs()), roles: 1, hardware: hw });
    await reg.updateNode(c, nodeId, 3, { cores: 8, memoryMiB: 1024, accelerator: 'webgpu' });
    let n = await reg.getNode(c, nodeId);
    assert.deepEqual([n.roles, n.cores, n.memoryMiB, n.accelerator], [3, 8, 1024, 'webgpu']);
    await reg.deregisterNode(c, nodeId);
    n = await reg.getNode(c, nodeId);
    assert.equal(n.roles, 0);
    const m = minedAs(ch, 1);
    await expectRevert(ch, () => reg.deregisterNode(m, nodeId), 'BadRoles');
    await reg.updateNode(c, nodeId, 1, hw);
    const stranger = minedAs(ch, 2);
    await expectRevert(ch, () => reg.updateNode(stranger, nodeId, 1, hw), 'NotNodeOwner');
    await expectRevert(ch, () => reg.deregisterNode(stranger, nodeId), 'NotNodeOwner');
    await expectRevert(ch, () => reg.updateNode(m, 99n, 1, hw), 'UnknownNode');
    await expectRevert(ch, () => reg.deregisterNode(m, 99n), 'UnknownNode');
    await expectRevert(ch, () => reg.updateNode(m, nodeId, 0, hw), 'BadRoles');
    await expectRevert(ch, () => reg.updateNode(m, nodeId, 1, { ...hw, cores: 0 }), 'BadHardware');
    await assert.rejects(reg.getNode(c, 99n), (e: Error & { errorName?: string }) => e.errorName === 'UnknownNode');
    await assert.rejects(
      c.public.readContract({ address: ch.deployment.contracts.registry, abi: abis.nodeRegistryAbi, functionName: 'peerIdOf', args: [99n] }),
      /UnknownNode/,
    );
    const [owner, roles] = await c.public.readContract({
      address: ch.deployment.contracts.registry,
      abi: abis.nodeRegistryAbi,
      functionName: 'ownerAndRoles',
      args: [99n],
    });
    assert.deepEqual([owner, roles], ['0x0000000000000000000000000000000000000000', 0]);
  });

  test('signatures made outside libp2p: DER and compact secp256k1, raw Ed25519 (node:crypto)', async () => {
    const c = ch.as(3);
    // secp256k1 with viem's signer over sha256(message): compact r‖s.
    const priv = `0x${'11'.repeat(32)}` as Hex;
    const pub = hexToBytes(privateKeyToAccount(priv).publicKey); // 0x04 ‖ x ‖ y
    const compressed = Uint8Array.of((pub[64] & 1) === 1 ? 3 : 2, ...pub.subarray(1, 33));
    const peerId = bytesToHex(Uint8Array.of(0x00, 0x25, 0x08, 0x02, 0x12, 0x21, ...compressed));
    const sig = await secpSign({ hash: sha256(reg.nodeBindingMessage(c)), privateKey: priv });
    const r = await reg.registerNode(c, { peerId, peer: hexToBytes(concat([sig.r, sig.s])), roles: 1, hardware: hw });
    assert.equal(r.peerVerified, true);
    // DER → r‖s matches libp2p's output.
    const { key } = await libp2pKey('secp256k1');
    const der = await key.sign(new Uint8Array([1, 2, 3]));
    const { r: rr, s: ss } = rsFromDer(der);
    assert.equal(hexToBytes(rr).length + hexToBytes(ss).length, 64);
    assert.throws(() => rsFromDer(new Uint8Array([0x31, 0])), /DER/);
    // Ed25519 from node:crypto: the raw 32-byte public key is the peer id's key.
    const kp = generateKeyPairSync('ed25519');
    const raw = kp.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const edPeer = bytesToHex(Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...raw));
    const edSig = edSign(null, hexToBytes(reg.nodeBindingMessage(c)), kp.privateKey);
    const e = await reg.registerNode(c, { peerId: edPeer, peer: new Uint8Array(edSig), roles: 2, hardware: hw });
    assert.equal((await reg.getNode(c, e.nodeId)).keyType, 'Ed25519');
  });
});

async function libp2pKeyArgs() {
  const { key, peerId } = await libp2pKey('secp256k1');
  return { peerId, peer: key };
}

/** expectRevert for a raw wallet write (the client's decoding applied to the mined transaction). */
async function expectRevertRaw(ch: TestChain, c: ChainClient, write: () => Promise<Hex>, name: string) {
  return expectRevert(
    ch,
    async () => {
      const hash = await write();
      await c.public.waitForTransactionReceipt({ hash });
      const tx = await c.public.getTransaction({ hash });
      try {
        await c.public.call({ account: tx.from, to: tx.to!, data: tx.input });
      } catch (e) {
        throw Object.assign(toChainError(e), { transactionHash: hash });
      }
      throw new Error('expected a revert');
    },
    name,
  );
}

describe('Staking', () => {
  test('bond, unbond after the delay, withdraw', async () => {
    const c = ch.as(1);
    await stk.bond(c, 200n * VTT);
    assert.equal((await stk.stakeOf(c)).bonded, 200n * VTT);
    const t0 = await ch.now();
    await stk.requestUnbond(c, 50n * VTT);
    let s = await stk.stakeOf(c);
    assert.equal(s.bonded, 150n * VTT);
    assert.equal(s.unbonding, 50n * VTT);
    assert.ok(Number(s.unbondAt) >= t0 + ch.deployment.params.unbondingDelay);
    const m = minedAs(ch, 1);
    await expectRevert(ch, () => stk.withdrawUnbonded(m), 'UnbondingNotDue');
    await ch.increaseTime(ch.deployment.params.unbondingDelay + 1);
    const before = await tok.tokenBalance(c);
    await stk.withdrawUnbonded(c);
    assert.equal(await tok.tokenBalance(c), before + 50n * VTT);
    s = await stk.stakeOf(c);
    assert.equal(s.unbonding, 0n);
    await expectRevert(ch, () => stk.withdrawUnbonded(m), 'NothingUnbonding');
  });

  test('a second unbond request adds up and restarts the delay', async () => {
    const c = ch.as(1);
    await stk.bond(c, 100n * VTT);
    await stk.requestUnbond(c, 10n * VTT);
    const first = (await stk.stakeOf(c)).unbondAt;
    await ch.increaseTime(100);
    await stk.requestUnbond(c, 5n * VTT);
    const s = await stk.stakeOf(c);
    assert.equal(s.unbonding, 15n * VTT);
    assert.ok(s.unbondAt > first);
  });

  test('reverts: zero amounts, more than the free stake, no allowance', async () => {
    const m = minedAs(ch, 1);
    await expectRevert(ch, () => stk.bond(m, 0n), 'ZeroAmount');
    await expectRevert(ch, () => stk.requestUnbond(m, 0n), 'ZeroAmount');
    await stk.bond(ch.as(1), 10n * VTT);
    await expectRevert(ch, () => stk.requestUnbond(m, 11n * VTT), 'InsufficientFreeStake');
    await expectRevert(ch, () => stk.bond(minedAs(ch, 7), 1n), 'InsufficientAllowance');
    await tok.approve(ch.as(7), ch.deployment.contracts.staking, maxUint256);
    await expectRevert(ch, () => stk.bond(minedAs(ch, 7), 1n), 'InsufficientBalance');
  });

  test('verifier pool: join needs the minimum, weight follows the bond, leave drops it', async () => {
    const [a, b] = [ch.as(1), ch.as(2)];
    const ma = minedAs(ch, 1);
    await stk.bond(a, 10n * VTT);
    await expectRevert(ch, () => stk.joinVerifierPool(ma), 'StakeBelowMinimum');
    await expectRevert(ch, () => stk.leaveVerifierPool(ma), 'NotInVerifierPool');
    await stk.bond(a, 90n * VTT);
    await stk.joinVerifierPool(a);
    await expectRevert(ch, () => stk.joinVerifierPool(ma), 'AlreadyInVerifierPool');
    await stk.bond(b, 300n * VTT);
    await stk.joinVerifierPool(b);
    assert.equal(await stk.verifierWeight(a, devAccount(1).address), 100n * VTT);
    assert.equal(await stk.totalVerifierWeight(a), 400n * VTT);
    assert.equal(await stk.verifierAt(a, 0n), devAccount(1).address);
    assert.equal(await stk.verifierAt(a, 100n * VTT - 1n), devAccount(1).address);
    assert.equal(await stk.verifierAt(a, 100n * VTT), devAccount(2).address);
    // Unbonding below the minimum takes the operator's weight out of the draw.
    await stk.requestUnbond(a, 60n * VTT);
    assert.equal(await stk.verifierWeight(a, devAccount(1).address), 0n);
    assert.equal(await stk.totalVerifierWeight(a), 300n * VTT);
    await stk.leaveVerifierPool(b);
    assert.equal(await stk.totalVerifierWeight(a), 0n);
    // Members stay indexed (weight 0) so a rejoin is one tree update.
    const read = (functionName: 'verifierPoolSize' | 'freeStake' | 'minStake', args: readonly unknown[] = []) =>
      a.public.readContract({ address: ch.deployment.contracts.staking, abi: abis.stakingAbi, functionName, args } as never);
    assert.equal(await read('verifierPoolSize'), 2n);
    assert.equal(await read('freeStake', [devAccount(2).address]), 300n * VTT);
    assert.deepEqual([await read('minStake', [1]), await read('minStake', [2]), await read('minStake', [4])], [100n * VTT, 50n * VTT, 0n]);
    assert.equal((await stk.stakeOf(b)).inVerifierPool, false);
  });

  test('lock, unlock and slash belong to the market alone', async () => {
    const m = minedAs(ch, 1);
    const raw = (fn: 'lock' | 'unlock' | 'slash') => () =>
      m.wallet!.writeContract({
        address: ch.deployment.contracts.staking,
        abi: abis.stakingAbi,
        functionName: fn as 'slash',
        args: (fn === 'lock' ? [devAccount(1).address, 1n, 1] : fn === 'unlock' ? [devAccount(1).address, 1n] : [devAccount(1).address, 1n, devAccount(1).address]) as never,
        gas: 300_000n,
      });
    for (const fn of ['lock', 'unlock', 'slash'] as const) await expectRevertRaw(ch, m, raw(fn), 'NotMarket');
  });

  test('as the market: lock needs the role minimum and free stake; unlock and slash at most the lock', async () => {
    // Impersonate the market (anvil) to reach the branches its own logic never takes.
    const test = createTestClient({ mode: 'anvil', transport: http(ch.anvil.url) });
    const market = ch.deployment.contracts.market;
    await test.impersonateAccount({ address: market });
    await test.setBalance({ address: market, value: 10n ** 18n });
    try {
      await stk.bond(ch.as(1), 150n * VTT);
      const call = (functionName: 'lock' | 'unlock' | 'slash', args: readonly unknown[]) => async () => {
        const hash = await ch.as(0).wallet!.sendTransaction({
          account: market,
          to: ch.deployment.contracts.staking,
          data: encode(functionName, args),
          gas: 300_000n,
        } as never);
        return hash;
      };
      const m = minedAs(ch, 0);
      await expectRevertRaw(ch, m, call('lock', [devAccount(2).address, 1n, 1]), 'StakeBelowMinimum');
      await expectRevertRaw(ch, m, call('lock', [devAccount(1).address, 151n * VTT, 1]), 'InsufficientFreeStake');
      await expectRevertRaw(ch, m, call('unlock', [devAccount(1).address, 10n * VTT]), 'LockUnderflow');
      await expectRevertRaw(ch, m, call('slash', [devAccount(1).address, 10n * VTT, market]), 'LockUnderflow');
    } finally {
      await test.stopImpersonatingAccount({ address: market });
    }
  });
});

function encode(functionName: 'lock' | 'unlock' | 'slash' | 'record', args: readonly unknown[]): Hex {
  const abi = functionName === 'record' ? abis.reputationAbi : abis.stakingAbi;
  return encodeFunctionData({ abi: abi as never, functionName, args } as never);
}

describe('Reputation', () => {
  test('only the market records; counters and score read back', async () => {
    const m = minedAs(ch, 1);
    await expectRevertRaw(
      ch,
      m,
      () =>
        m.wallet!.writeContract({
          address: ch.deployment.contracts.reputation,
          abi: abis.reputationAbi,
          functionName: 'record',
          args: [1n, 0],
          gas: 200_000n,
        }),
      'NotRecorder',
    );
    const test = createTestClient({ mode: 'anvil', transport: http(ch.anvil.url) });
    const market = ch.deployment.contracts.market;
    await test.impersonateAccount({ address: market });
    await test.setBalance({ address: market, value: 10n ** 18n });
    try {
      const rec = async (node: bigint, kind: number) => {
        const hash = await ch.as(0).wallet!.sendTransaction({ account: market, to: ch.deployment.contracts.reputation, data: encode('record', [node, kind]), gas: 200_000n } as never);
        return ch.as(0).public.waitForTransactionReceipt({ hash });
      };
      for (const kind of [0, 0, 0, 1, 2, 3]) assert.equal((await rec(7n, kind)).status, 'success');
      assert.deepEqual(await reputationOf(ch.as(0), 7n), { jobsDone: 3, disputesWon: 1, disputesLost: 1, timeouts: 1 });
      assert.equal(await reputationScore(ch.as(0), 7n), 3n + 1n - 4n * 2n);
      const r0 = await rec(0n, 0); // node 0 ("no node") is ignored
      assert.equal(parseEventLogs({ abi: abis.reputationAbi, logs: r0.logs }).length, 0);
      await expectRevertRaw(ch, minedAs(ch, 0), async () => {
        return ch.as(0).wallet!.sendTransaction({ account: market, to: ch.deployment.contracts.reputation, data: encode('record', [7n, 9]), gas: 200_000n } as never);
      }, 'BadKind');
    } finally {
      await test.stopImpersonatingAccount({ address: market });
    }
  });
});

