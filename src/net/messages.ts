// Gossip messages: zod schemas, one canonical encoding, and an envelope signed by the sender's EVM
// key. Decoders take untrusted bytes and either return a typed value or throw a MessageError;
// nothing else escapes them (the fuzz tests hold them to that).
//
// Wire format: the UTF-8 canonical JSON (keys sorted, no spaces; src/canonical-json.ts) of
//   { v: 1, kind, chainId, from, peer, ts, body, sig }
// where sig = EIP-191 personal_sign by `from` over
//   "veritrain:gossip:v1\n" || canonicalJson({ v, kind, chainId, from, peer, ts, body })
// `peer` must equal the libp2p peer id that signed the gossipsub message (checked in gossip.ts),
// and (from, peer) must be a staked, registered node.
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { canonicalJson as canonicalJsonOf } from '../canonical-json.ts';
import { sha256Hex, utf8 } from '../engine/hash.ts';
import { VeritrainError, type ErrorOptions } from '../errors.ts';
import { recoverPersonalSigner } from './evm.ts';

export const PROTOCOL_VERSION = 1;
/** Largest encoded envelope; our largest real message is well under 1 KiB. */
export const MAX_MESSAGE_BYTES = 8 * 1024;
export const SIGNING_TAG = 'veritrain:gossip:v1\n';

export const MESSAGE_KINDS = ['job', 'claim', 'attestation', 'heartbeat', 'progress', 'checkpoint', 'result'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** One topic per kind and chain: nodes of different chains never share a mesh. */
export function topicOf(kind: MessageKind, chainId: number): string {
  return `/veritrain/${chainId}/${kind}/1`;
}

export type MessageRejectReason = 'type' | 'oversized' | 'encoding' | 'json' | 'schema' | 'non-canonical' | 'signature';

/** A p2p message that failed to decode or verify; `reason` says which check. */
export class MessageError extends VeritrainError {
  override name = 'MessageError';
  readonly reason: MessageRejectReason;
  constructor(reason: MessageRejectReason, shortMessage: string, opts: ErrorOptions = {}) {
    super(shortMessage, opts);
    this.reason = reason;
  }
}

const sha256Hash = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest (64 lowercase hex digits)');
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'a 0x-prefixed 32-byte lowercase hex value');
// Lowercase only: a checksummed and a lowercase address would be two encodings of one message.
const address = z.string().regex(/^0x[0-9a-f]{40}$/, 'a lowercase 0x-prefixed EVM address');
const wei = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'a decimal integer amount in wei');
const uint32 = z.number().int().min(0).max(0xffff_ffff);
const timestampMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const jobAnnouncementSchema = z.strictObject({
  jobId: bytes32,
  specHash: sha256Hash,
  datasetHash: sha256Hash,
  reward: wei,
  /** Unix seconds: claims after this are void on chain. */
  deadline: z.number().int().min(0).max(2 ** 40),
});

export const claimSchema = z.strictObject({
  jobId: bytes32,
  /** The on-chain transaction that made the claim, once sent. */
  txHash: bytes32.optional(),
});

export const attestationSchema = z.strictObject({
  jobId: bytes32,
  /** Checkpoint segment i → i+1 that was replayed. */
  segment: uint32,
  fromHash: sha256Hash,
  toHash: sha256Hash,
  verdict: z.enum(['agree', 'disagree']),
});

export const heartbeatSchema = z.strictObject({
  roles: z
    .array(z.enum(['submitter', 'solver', 'verifier', 'watcher']))
    .min(1)
    .max(4)
    .refine((r) => new Set(r).size === r.length, 'roles must not repeat'),
  freeSlots: z.number().int().min(0).max(1024),
  version: z.string().regex(/^[0-9A-Za-z.+-]{1,32}$/, 'a version string of up to 32 characters [0-9A-Za-z.+-]'),
});

/** A solver's training progress (what `job watch` shows between chain events). */
export const progressSchema = z.strictObject({
  jobId: bytes32,
  /** Steps done so far, of `steps`. */
  step: uint32,
  steps: uint32.refine((n) => n > 0, 'steps must be positive'),
  /** Training loss of the last step (a display figure; never part of any check). */
  loss: z.number().min(0).max(1e9),
  /** Losses of the steps since the previous progress message, ending with `step` (for loss curves). */
  losses: z.array(z.number().min(0).max(1e9)).max(128).optional(),
});

/** A checkpoint the solver published as a blob (and announced in the DHT). */
export const checkpointSchema = z.strictObject({
  jobId: bytes32,
  /** 0-based leaf index in the committed checkpoint sequence. */
  index: uint32,
  step: uint32,
  stateHash: sha256Hash,
  /** SHA-256 of the checkpoint file (its blob). */
  blob: sha256Hash,
});

/** A submitted result: where to get the checkpoint list whose leaves the on-chain root commits to. */
export const resultSchema = z.strictObject({
  jobId: bytes32,
  root: bytes32,
  modelHash: bytes32,
  /** SHA-256 of the checkpoint list blob (src/node/artifacts.ts). */
  list: sha256Hash,
});

export const BODY_SCHEMAS = {
  job: jobAnnouncementSchema,
  claim: claimSchema,
  attestation: attestationSchema,
  heartbeat: heartbeatSchema,
  progress: progressSchema,
  checkpoint: checkpointSchema,
  result: resultSchema,
} as const;

export type MessageBody<K extends MessageKind> = z.infer<(typeof BODY_SCHEMAS)[K]>;
export type JobAnnouncement = MessageBody<'job'>;
export type Claim = MessageBody<'claim'>;
export type Attestation = MessageBody<'attestation'>;
export type Heartbeat = MessageBody<'heartbeat'>;
export type Progress = MessageBody<'progress'>;
export type CheckpointNotice = MessageBody<'checkpoint'>;
export type ResultNotice = MessageBody<'result'>;

const envelopeFields = {
  v: z.literal(PROTOCOL_VERSION),
  chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  from: address,
  peer: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,128}$/, 'a base58btc peer id'),
  ts: timestampMs,
  sig: z.string().regex(/^0x[0-9a-f]{130}$/, 'a 65-byte hex signature'),
};

export const envelopeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...envelopeFields, kind: z.literal('job'), body: jobAnnouncementSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('claim'), body: claimSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('attestation'), body: attestationSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('heartbeat'), body: heartbeatSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('progress'), body: progressSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('checkpoint'), body: checkpointSchema }),
  z.strictObject({ ...envelopeFields, kind: z.literal('result'), body: resultSchema }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeOf<K extends MessageKind> = Extract<Envelope, { kind: K }>;
export type UnsignedEnvelope = Omit<Envelope, 'sig'>;

/** The signer: a viem LocalAccount (the keystore's account) fits. */
export interface MessageSigner {
  address: Address;
  signMessage(args: { message: { raw: Uint8Array } }): Promise<Hex>;
}

/** The bytes the sender's EVM key signs (EIP-191 personal_sign over them). */
export function signingBytes(env: UnsignedEnvelope): Uint8Array {
  const { v, kind, chainId, from, peer, ts, body } = env;
  return utf8(SIGNING_TAG + canonicalJson({ v, kind, chainId, from, peer, ts, body }));
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  return utf8(canonicalJson(env));
}

/** Message id: SHA-256 hex of the encoded envelope (what gossip and the seen table dedup on). */
export function messageId(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

export interface SignEnvelopeArgs<K extends MessageKind> {
  kind: K;
  body: MessageBody<K>;
  chainId: number;
  peerId: string;
  signer: MessageSigner;
  now?: number;
}

/** Builds, validates and signs an envelope; returns it with its wire bytes. */
export async function signEnvelope<K extends MessageKind>(args: SignEnvelopeArgs<K>): Promise<{ envelope: EnvelopeOf<K>; bytes: Uint8Array; id: string }> {
  const unsigned = {
    v: PROTOCOL_VERSION,
    kind: args.kind,
    chainId: args.chainId,
    from: args.signer.address.toLowerCase(),
    peer: args.peerId,
    ts: args.now ?? Date.now(),
    body: args.body,
  } as UnsignedEnvelope;
  const sig = await args.signer.signMessage({ message: { raw: signingBytes(unsigned) } });
  // Validate what we send with the same schema receivers use: a bad local message fails here.
  const envelope = parseEnvelope({ ...unsigned, sig }) as EnvelopeOf<K>;
  const bytes = encodeEnvelope(envelope);
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new MessageError('oversized', `${args.kind} message is ${bytes.length} bytes, the limit is ${MAX_MESSAGE_BYTES}`);
  }
  return { envelope, bytes, id: messageId(bytes) };
}

function parseEnvelope(value: unknown): Envelope {
  const r = envelopeSchema.safeParse(value);
  if (!r.success) {
    throw new MessageError('schema', 'message does not match its schema', {
      details: r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    });
  }
  return r.data;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Untrusted bytes → a schema-valid envelope in canonical encoding, or a MessageError. Does not
 * check the signature (verifyEnvelope) nor the sender's stake (gossip.ts).
 */
export function decodeEnvelope(bytes: unknown): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new MessageError('type', `a message must be bytes, got ${describe(bytes)}`);
  if (bytes.length > MAX_MESSAGE_BYTES) throw new MessageError('oversized', `message is ${bytes.length} bytes, the limit is ${MAX_MESSAGE_BYTES}`);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new MessageError('encoding', 'message is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MessageError('json', 'message is not JSON');
  }
  const env = parseEnvelope(value);
  // One message, one byte string: re-encoding must give the very bytes received.
  if (canonicalJson(env) !== text) throw new MessageError('non-canonical', 'message is not in canonical encoding');
  return env;
}

/** Checks the EVM signature against `from`; throws MessageError('signature') otherwise. */
export async function verifyEnvelope(env: Envelope): Promise<void> {
  let signer: string;
  try {
    signer = recoverPersonalSigner(signingBytes(env), env.sig);
  } catch (e) {
    throw new MessageError('signature', 'message signature is malformed', { cause: e, details: (e as Error).message });
  }
  if (signer !== env.from) {
    throw new MessageError('signature', 'message is not signed by its sender', { details: `from ${env.from}, signed by ${signer}` });
  }
}

/** decodeEnvelope + verifyEnvelope. */
export async function decodeAndVerify(bytes: unknown): Promise<Envelope> {
  const env = decodeEnvelope(bytes);
  await verifyEnvelope(env);
  return env;
}

/** Canonical JSON (../canonical-json.ts) whose only error is a MessageError. */
export function canonicalJson(value: unknown): string {
  return canonicalJsonOf(value, (m) => new MessageError('schema', m));
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
