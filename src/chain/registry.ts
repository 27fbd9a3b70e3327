// NodeRegistry actions: register a node bound to its libp2p peer key, update, deregister, read.
import { hexToBytes, type Address, type Hex } from 'viem';
import { nodeRegistryAbi } from './abi.ts';
import { addressOf, eventOf, read, send, type ChainClient, type TxResult } from './client.ts';
import { bindingMessage, registrySignature } from './peer.ts';

export const ROLES = { solver: 1, verifier: 2, submitter: 4, watcher: 8 } as const;
export type RoleName = keyof typeof ROLES;

export function roleMask(roles: readonly RoleName[]): number {
  return roles.reduce((m, r) => m | ROLES[r], 0);
}

export interface Hardware {
  cores: number;
  memoryMiB: number;
  /** Short label (<= 32 bytes), e.g. "none", "webgpu", "nvidia-h100". */
  accelerator: string;
}

export interface NodeInfo {
  nodeId: bigint;
  owner: Address;
  roles: number;
  cores: number;
  memoryMiB: number;
  accelerator: string;
  registeredAt: number;
  peerId: Hex;
  keyType: 'Ed25519' | 'secp256k1';
  /** The peer key's signature was checked on chain (secp256k1); Ed25519 bindings are checked by peers. */
  peerVerified: boolean;
}

const registryOf = (c: ChainClient) => ({ address: c.deployment.contracts.registry, abi: nodeRegistryAbi });

function label32(s: string): Hex {
  const b = new TextEncoder().encode(s);
  if (b.length > 32) throw new RangeError(`accelerator label longer than 32 bytes: ${s}`);
  return `0x${Buffer.concat([b, Buffer.alloc(32 - b.length)]).toString('hex')}` as Hex;
}

function unlabel32(h: Hex): string {
  return Buffer.from(h.slice(2), 'hex').toString('utf8').replace(/\0+$/, '');
}

/** A libp2p private key's `sign` (e.g. from @libp2p/crypto), or raw signature bytes of bindingMessage. */
export type PeerSigner = { sign(message: Uint8Array): Uint8Array | Promise<Uint8Array> };

/**
 * Register a node bound to `peerId` (libp2p multihash bytes). `peer` signs nodeBindingMessage: a
 * libp2p private key (its `sign`), or the signature bytes made elsewhere.
 */
export async function registerNode(
  c: ChainClient,
  opts: { peerId: Hex; peer: PeerSigner | Uint8Array; roles: number; hardware: Hardware },
): Promise<{ nodeId: bigint; peerVerified: boolean; tx: TxResult }> {
  const raw = opts.peer instanceof Uint8Array ? opts.peer : await opts.peer.sign(hexToBytes(nodeBindingMessage(c)));
  const signature = registrySignature(opts.peerId, raw);
  const hw = { cores: opts.hardware.cores, memoryMiB: opts.hardware.memoryMiB, accelerator: label32(opts.hardware.accelerator) };
  const tx = await send(c, (w, x) =>
    w.writeContract({ ...x, ...registryOf(c), functionName: 'registerNode', args: [opts.peerId, signature, opts.roles, hw] }),
  );
  const e = eventOf(tx, 'NodeRegistered');
  return { nodeId: e.nodeId as bigint, peerVerified: e.peerVerified as boolean, tx };
}

/** The message this client's account asks its peer key to sign. */
export function nodeBindingMessage(c: ChainClient, owner: Address = addressOf(c)): Hex {
  return bindingMessage(c.deployment.chainId, c.deployment.contracts.registry, owner);
}

export function updateNode(c: ChainClient, nodeId: bigint, roles: number, hardware: Hardware): Promise<TxResult> {
  const hw = { cores: hardware.cores, memoryMiB: hardware.memoryMiB, accelerator: label32(hardware.accelerator) };
  return send(c, (w, x) => w.writeContract({ ...x, ...registryOf(c), functionName: 'updateNode', args: [nodeId, roles, hw] }));
}

export function deregisterNode(c: ChainClient, nodeId: bigint): Promise<TxResult> {
  return send(c, (w, x) => w.writeContract({ ...x, ...registryOf(c), functionName: 'deregisterNode', args: [nodeId] }));
}

export async function getNode(c: ChainClient, nodeId: bigint): Promise<NodeInfo> {
  const [n, peerId] = await Promise.all([
    read<{ owner: Address; roles: number; keyType: number; peerVerified: boolean; cores: number; memoryMiB: number; registeredAt: number; accelerator: Hex }>(c, {
      ...registryOf(c),
      functionName: 'getNode',
      args: [nodeId],
    }),
    read<Hex>(c, { ...registryOf(c), functionName: 'peerIdOf', args: [nodeId] }),
  ]);
  return {
    nodeId,
    owner: n.owner,
    roles: n.roles,
    cores: n.cores,
    memoryMiB: n.memoryMiB,
    accelerator: unlabel32(n.accelerator),
    registeredAt: Number(n.registeredAt),
    peerId,
    keyType: n.keyType === 1 ? 'Ed25519' : 'secp256k1',
    peerVerified: n.peerVerified,
  };
}

export function nodeCount(c: ChainClient): Promise<bigint> {
  return read(c, { ...registryOf(c), functionName: 'nodeCount' });
}
