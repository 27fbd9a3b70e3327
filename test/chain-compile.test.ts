// Compiling with solc-js (errors, cache), the generated ABI module, and the client's pure helpers
// (Merkle tree, peer ids and signatures, revert decoding) without a chain.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { concat, encodeErrorResult, keccak256, type Hex } from 'viem';
import { abiModuleSource } from '../src/chain/abi-source.ts';
import { artifactOf, CHAIN_SOURCES, compileSolidity, CompileError, loadContractSources, ROOT } from '../src/chain/compile.ts';
import { decodeRevert, toChainError, ChainError } from '../src/chain/errors.ts';
import { merkleProof, merkleRoot } from '../src/chain/merkle.ts';
import { peerKeyType, registrySignature, rsFromDer } from '../src/chain/peer.ts';
import { jobMarketAbi } from '../src/chain/abi.ts';
import { tempDir } from './cli.ts';

const SRC = 'pragma solidity ^0.8.28; contract Counter { uint256 public n; function inc() external { n += 1; } }';

test('compileSolidity returns abi and bytecode per "file:Contract" and caches by content', async () => {
  const cacheDir = tempDir('vt-solc-');
  const a = await compileSolidity({ 'Counter.sol': SRC }, { cacheDir });
  assert.deepEqual(Object.keys(a), ['Counter.sol:Counter']);
  assert.ok(a['Counter.sol:Counter'].bytecode.startsWith('0x60'));
  assert.ok(a['Counter.sol:Counter'].abi.some((i) => i.type === 'function' && i.name === 'inc'));
  const files = readdirSync(cacheDir);
  assert.equal(files.length, 1);
  // The second compile reads the cache: a marked cache file comes back as is.
  const file = join(cacheDir, files[0]);
  const cached = JSON.parse(readFileSync(file, 'utf8'));
  cached['Counter.sol:Counter'].bytecode = '0xcafe';
  writeFileSync(file, JSON.stringify(cached));
  assert.equal((await compileSolidity({ 'Counter.sol': SRC }, { cacheDir }))['Counter.sol:Counter'].bytecode, '0xcafe');
  // Other settings or sources are other keys.
  await compileSolidity({ 'Counter.sol': SRC }, { cacheDir, runs: 1 });
  await compileSolidity({ 'Counter.sol': SRC + ' ' }, { cacheDir });
  assert.equal(readdirSync(cacheDir).length, 3);
  // A torn cache file is recompiled.
  writeFileSync(file, '{');
  assert.ok((await compileSolidity({ 'Counter.sol': SRC }, { cacheDir }))['Counter.sol:Counter'].bytecode.startsWith('0x60'));
});

test('solc errors come back as a CompileError listing them, with a hint for missing imports', async () => {
  await assert.rejects(compileSolidity({ 'Bad.sol': 'pragma solidity ^0.8.28; contract Bad { uint x = ; }' }, { cacheDir: null }), (e: Error & { details?: string }) => {
    assert.ok(e instanceof CompileError);
    assert.match(e.message, /1 error/);
    assert.match(e.details ?? '', /ParserError[\s\S]*Bad\.sol:1/);
    return true;
  });
  await assert.rejects(
    compileSolidity({ 'A.sol': 'pragma solidity ^0.8.28; import "./Missing.sol"; contract A {}' }, { cacheDir: null }),
    (e: Error & { hint?: string }) => /Missing\.sol/.test(e.hint ?? ''),
  );
});

test('contract sources load by folder; artifacts resolve by name', async () => {
  const core = loadContractSources(undefined, ['core/']);
  assert.ok('core/JobMarket.sol' in core && 'core/BisectionGame.sol' in core);
  assert.ok(Object.keys(core).every((k) => k.startsWith('core/')));
  const a = await compileSolidity(loadContractSources(undefined, CHAIN_SOURCES));
  assert.equal(artifactOf(a, 'JobMarket'), a['core/JobMarket.sol:JobMarket']);
  assert.throws(() => artifactOf(a, 'Nope'), CompileError);
});

test('src/chain/abi.ts matches the contracts (npm run chain:abi regenerates it)', async () => {
  assert.equal(readFileSync(join(ROOT, 'src/chain/abi.ts'), 'utf8'), await abiModuleSource(), 'abi.ts is stale: run npm run chain:abi');
});

test('Merkle tree: padding, proof length, single leaf, bad index', () => {
  const leaves = [1, 2, 3, 4, 5].map((i) => keccak256(`0x0${i}`));
  const zero = `0x${'00'.repeat(32)}` as Hex;
  const pair = (a: Hex, b: Hex) => keccak256(concat([a, b]));
  const expected = pair(pair(pair(leaves[0], leaves[1]), pair(leaves[2], leaves[3])), pair(pair(leaves[4], zero), pair(zero, zero)));
  assert.equal(merkleRoot(leaves), expected);
  assert.equal(merkleProof(leaves, 4).length, 3);
  assert.deepEqual(merkleProof(leaves, 4), [zero, pair(zero, zero), pair(pair(leaves[0], leaves[1]), pair(leaves[2], leaves[3]))]);
  assert.equal(merkleRoot([leaves[0]]), leaves[0]);
  assert.deepEqual(merkleProof([leaves[0]], 0), []);
  assert.throws(() => merkleProof(leaves, 5), /out of range/);
  assert.throws(() => merkleRoot([]), /at least one/);
});

test('peer ids and signatures: key types, DER to r‖s', () => {
  assert.equal(peerKeyType(`0x002408011220${'ab'.repeat(32)}`), 'Ed25519');
  assert.equal(peerKeyType(`0x00250802122103${'ab'.repeat(32)}`), 'secp256k1');
  assert.throws(() => peerKeyType('0x1220ab'), /unsupported peer id/);
  // DER with a leading-zero r (high bit set) and a short s.
  const r = Uint8Array.of(0x00, 0x80, ...new Array(31).fill(1));
  const s = Uint8Array.of(...new Array(31).fill(2));
  const der = Uint8Array.of(0x30, 4 + r.length + s.length, 0x02, r.length, ...r, 0x02, s.length, ...s);
  const rs = rsFromDer(der);
  assert.equal(rs.r, `0x80${'01'.repeat(31)}`);
  assert.equal(rs.s, `0x00${'02'.repeat(31)}`);
  assert.equal(registrySignature(`0x00250802122103${'ab'.repeat(32)}`, der), `0x80${'01'.repeat(31)}00${'02'.repeat(31)}`);
  assert.throws(() => rsFromDer(der.subarray(0, 10)), /DER/);
  assert.throws(() => registrySignature(`0x002408011220${'ab'.repeat(32)}`, new Uint8Array(63)), /64 bytes/);
});

test('reverts decode by name with a hint; unknown data and transport failures stay readable', () => {
  const data = encodeErrorResult({ abi: jobMarketAbi, errorName: 'BadState', args: [7n, 5] });
  const e = decodeRevert(data);
  assert.equal(e.errorName, 'BadState');
  assert.deepEqual(e.args, [7n, 5]);
  assert.match(e.message, /job 7 is finalized/);
  assert.match(e.hint ?? '', /current state/);
  assert.equal(decodeRevert('0xdeadbeef').errorName, 'UnknownRevert');
  // Error(string) from any contract.
  const str = decodeRevert('0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000568656c6c6f000000000000000000000000000000000000000000000000000000');
  assert.equal(str.errorName, 'Error');
  assert.deepEqual(str.args, ['hello']);
  const down = toChainError(new Error('fetch failed'), 'http://x');
  assert.ok(down instanceof ChainError);
});
