// The node's two identities in one encrypted file: a libp2p Ed25519 key (its peer id) and an EVM
// secp256k1 account (its on-chain identity, the one that stakes). Created on first run, encrypted
// with a passphrase (scrypt → AES-256-GCM), written atomically with mode 0600.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Address, Hex } from 'viem';
// viem/accounts, not viem: the daemon loads this at start and all of viem costs ~16 MB more.
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { z } from 'zod';
import { InputError, IntegrityError } from '../errors.ts';
import { recoverPersonalSigner } from '../net/evm.ts';

export const KEYSTORE_FILE = 'keystore.json';
export const PASSPHRASE_ENV = 'VERITRAIN_PASSPHRASE';

/** scrypt cost: 2^17 takes ~0.5 s and 128 MiB here (tests pass a lower N). */
export const DEFAULT_SCRYPT_N = 2 ** 17;

export interface Keystore {
  path: string;
  /** libp2p Ed25519 private key: give it to createNetNode. */
  libp2pKey: Ed25519PrivateKey;
  peerId: PeerId;
  /** EVM account: signs gossip envelopes and on-chain transactions. */
  account: PrivateKeyAccount;
  address: Address;
  created: boolean;
}

export interface OpenKeystoreOptions {
  dataDir: string;
  passphrase: string;
  /** scrypt N for a new file (power of two, >= 2^14); an existing file keeps its own. */
  scryptN?: number;
}

const hex = (n?: number) => z.string().regex(n === undefined ? /^(?:[0-9a-f]{2})+$/ : new RegExp(`^[0-9a-f]{${n}}$`));

const fileSchema = z.strictObject({
  version: z.literal(1),
  peerId: z.string().min(1).max(128),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'not an EVM address'),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: z.number().int().min(2 ** 14).max(2 ** 22).refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: hex(64),
  }),
  cipher: z.strictObject({ name: z.literal('aes-256-gcm'), iv: hex(24), tag: hex(32) }),
  ciphertext: hex(),
});
type KeystoreFile = z.infer<typeof fileSchema>;

const secretSchema = z.strictObject({ libp2pKey: hex(), evmKey: z.string().regex(/^0x[0-9a-f]{64}$/) });

/** Opens `<dataDir>/keystore.json`, creating it (both keys fresh) when it does not exist. */
export async function openKeystore(opts: OpenKeystoreOptions): Promise<Keystore> {
  const path = join(opts.dataDir, KEYSTORE_FILE);
  if (existsSync(path)) return loadKeystore(path, opts.passphrase);
  return createKeystore(path, opts.passphrase, opts.scryptN ?? DEFAULT_SCRYPT_N);
}

async function createKeystore(path: string, passphrase: string, N: number): Promise<Keystore> {
  checkPassphrase(passphrase);
  const libp2pKey = await generateKeyPair('Ed25519');
  const evmKey = generatePrivateKey();
  const account = privateKeyToAccount(evmKey);
  const peerId = peerIdFromPrivateKey(libp2pKey);
  const kdf = { name: 'scrypt' as const, N, r: 8, p: 1, salt: randomBytes(32).toString('hex') };
  const header = { version: 1 as const, peerId: peerId.toString(), address: account.address, kdf };
  const key = await deriveKey(passphrase, kdf);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aadOf(header));
  const secret = JSON.stringify({ libp2pKey: Buffer.from(privateKeyToProtobuf(libp2pKey)).toString('hex'), evmKey });
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const file: KeystoreFile = {
    ...header,
    cipher: { name: 'aes-256-gcm', iv: iv.toString('hex'), tag: cipher.getAuthTag().toString('hex') },
    ciphertext: ciphertext.toString('hex'),
  };
  writeNewFile0600(path, JSON.stringify(file, null, 2) + '\n');
  return { path, libp2pKey, peerId, account, address: account.address, created: true };
}

async function loadKeystore(path: string, passphrase: string): Promise<Keystore> {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new InputError(`keystore ${path} is readable by other users (mode ${mode.toString(8)})`, {
      hint: `run: chmod 600 ${path}`,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new IntegrityError(`keystore ${path} is not valid JSON`, { cause: e, hint: 'restore it from a backup' });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new IntegrityError(`keystore ${path} has an unknown format`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      hint: 'restore it from a backup',
    });
  }
  const file = parsed.data;
  const { ciphertext, cipher: c, ...header } = file;
  const key = await deriveKey(passphrase, file.kdf);
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(c.iv, 'hex'));
    decipher.setAAD(aadOf(header));
    decipher.setAuthTag(Buffer.from(c.tag, 'hex'));
    plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'hex')), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot tell a wrong passphrase from a tampered file: both fail the tag check.
    throw new InputError(`wrong passphrase for keystore ${path}`, {
      details: 'the passphrase did not decrypt the keys (or the file was modified)',
      hint: `set ${PASSPHRASE_ENV} to the passphrase used when the node was first started`,
    });
  }
  const secret = secretSchema.parse(JSON.parse(plain));
  const libp2pKey = privateKeyFromProtobuf(Buffer.from(secret.libp2pKey, 'hex'));
  if (libp2pKey.type !== 'Ed25519') throw new IntegrityError(`keystore ${path} holds a ${libp2pKey.type} libp2p key, expected Ed25519`);
  const account = privateKeyToAccount(secret.evmKey as Hex);
  const peerId = peerIdFromPrivateKey(libp2pKey);
  if (peerId.toString() !== file.peerId || account.address !== file.address) {
    throw new IntegrityError(`keystore ${path}: the stored peer id or address does not match its keys`);
  }
  return { path, libp2pKey, peerId, account, address: account.address, created: false };
}

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < 8) {
    throw new InputError('the keystore passphrase is too short', { hint: 'use at least 8 characters' });
  }
}

function aadOf(header: Omit<KeystoreFile, 'cipher' | 'ciphertext'>): Buffer {
  // The public header is authenticated too: a swapped peer id, address or kdf fails the tag check.
  return Buffer.from(JSON.stringify([header.version, header.peerId, header.address, header.kdf.name, header.kdf.N, header.kdf.r, header.kdf.p, header.kdf.salt]));
}

function deriveKey(passphrase: string, kdf: KeystoreFile['kdf']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * kdf.N * kdf.r + (1 << 20);
    scryptCb(passphrase.normalize('NFKC'), Buffer.from(kdf.salt, 'hex'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function writeNewFile0600(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (existsSync(path)) {
    rmSync(tmp, { force: true });
    throw new InputError(`keystore ${path} already exists`, { hint: 'a node never overwrites its keys' });
  }
  renameSync(tmp, path);
}

/**
 * The passphrase: $VERITRAIN_PASSPHRASE, else a hidden prompt on a terminal. Without either it
 * throws, so a daemon never hangs waiting on a closed stdin.
 */
export async function readPassphrase(opts: { env?: NodeJS.ProcessEnv; prompt?: string } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new InputError('no keystore passphrase', { hint: `set ${PASSPHRASE_ENV} or run on a terminal to be prompted` });
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  // Echo nothing while the passphrase is typed.
  const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
  let prompted = false;
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (!prompted) {
      prompted = true;
      write.call(rl, s);
    }
  };
  try {
    return await new Promise<string>((resolve) => rl.question(opts.prompt ?? 'keystore passphrase: ', resolve));
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Peer-id ↔ EVM address binding. The registry contract stores (address, peer id) pairs; each side
// signs the other so neither can be claimed by someone who does not hold both keys.
//
// Byte formats (all integers big-endian; `||` is concatenation; this is the ONE definition):
//
//   evmMessage    = "veritrain:bind-peer:v1"  (22 ASCII bytes)
//                || chainId                   (32 bytes, uint256)
//                || registry                  (20 bytes, the registry contract address)
//                || address                   (20 bytes, the node's EVM address)
//                || peerId                    (the peer id's multihash bytes: 38 for Ed25519)
//     signed by the EVM key with EIP-191 personal_sign:
//       digest = keccak256("\x19Ethereum Signed Message:\n" || decimal(len(evmMessage)) || evmMessage)
//     In Solidity: abi.encodePacked(bytes22("veritrain:bind-peer:v1"), chainId, registry, node, peerIdBytes);
//     for an Ed25519 peer id len = 132, so the prefix is "\x19Ethereum Signed Message:\n132".
//
//   libp2pMessage = "veritrain:bind-evm:v1"   (21 ASCII bytes)
//                || chainId (32) || registry (20) || address (20)
//     signed by the libp2p Ed25519 key (64-byte signature, RFC 8032). No EVM precompile checks
//     Ed25519, so peers verify this one off-chain (verifyBinding) from the registry's record.
// ---------------------------------------------------------------------------------------------

export const BIND_PEER_TAG = 'veritrain:bind-peer:v1';
export const BIND_EVM_TAG = 'veritrain:bind-evm:v1';

export interface BindingDomain {
  chainId: bigint | number;
  /** The registry contract's address. */
  registry: Address;
}

export interface BindingMessages {
  evm: Uint8Array;
  libp2p: Uint8Array;
}

/** The exact bytes each key signs for the binding (see the format above). */
export function bindingMessages(domain: BindingDomain, address: Address, peerId: PeerId | string): BindingMessages {
  const pid = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId;
  const chain = uint256(BigInt(domain.chainId));
  const registry = addressBytes(domain.registry);
  const node = addressBytes(address);
  return {
    evm: concat(ascii(BIND_PEER_TAG), chain, registry, node, pid.toMultihash().bytes),
    libp2p: concat(ascii(BIND_EVM_TAG), chain, registry, node),
  };
}

export interface PeerBinding {
  address: Address;
  peerId: string;
  /** Multihash bytes of the peer id (what the contract stores / hashes). */
  peerIdBytes: Hex;
  /** 65-byte r||s||v EIP-191 signature by the EVM key over `evm`. */
  evmSignature: Hex;
  /** 64-byte Ed25519 signature by the libp2p key over `libp2p`. */
  libp2pSignature: Hex;
}

export async function signBinding(keys: Pick<Keystore, 'account' | 'libp2pKey' | 'peerId'>, domain: BindingDomain): Promise<PeerBinding> {
  const msgs = bindingMessages(domain, keys.account.address, keys.peerId);
  const evmSignature = await keys.account.signMessage({ message: { raw: msgs.evm } });
  const libp2pSignature = await keys.libp2pKey.sign(msgs.libp2p);
  return {
    address: keys.account.address,
    peerId: keys.peerId.toString(),
    peerIdBytes: bytesToHex(keys.peerId.toMultihash().bytes),
    evmSignature,
    libp2pSignature: bytesToHex(libp2pSignature),
  };
}

/** Checks both signatures of a binding; false for any mismatch or malformed field, never throws. */
export async function verifyBinding(b: PeerBinding, domain: BindingDomain): Promise<boolean> {
  try {
    const pid = peerIdFromString(b.peerId);
    if (bytesToHex(pid.toMultihash().bytes) !== b.peerIdBytes.toLowerCase()) return false;
    const msgs = bindingMessages(domain, b.address, pid);
    if (recoverPersonalSigner(msgs.evm, b.evmSignature) !== b.address.toLowerCase()) return false;
    // An Ed25519 peer id embeds its public key, so the peer id alone verifies the signature.
    if (pid.type !== 'Ed25519' || pid.publicKey === undefined) return false;
    return await pid.publicKey.verify(msgs.libp2p, hexToBytes(b.libp2pSignature));
  } catch {
    return false;
  }
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function uint256(v: bigint): Uint8Array {
  if (v < 0n || v >= 1n << 256n) throw new InputError(`chain id ${v} is not a uint256`);
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function addressBytes(a: Address): Uint8Array {
  if (typeof a !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a)) throw new InputError(`${a} is not an EVM address`);
  return Buffer.from(a.slice(2), 'hex');
}

function hexToBytes(h: string): Uint8Array {
  if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(h)) throw new InputError(`not hex: ${h.slice(0, 20)}`);
  return Buffer.from(h.slice(2), 'hex');
}

function bytesToHex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
