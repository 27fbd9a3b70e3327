// /veritrain/jobinfo/1.0.0: ask a peer what it knows about a job's artifacts (the checkpoint list
// of each result it saw, the checkpoints it holds). A node that missed a gossip announcement (it
// was offline, partitioned, or joined late) catches up with one request. Nothing here is trusted:
// the answer names blobs by hash, and whoever uses it checks them against the chain (a list's
// leaves against the committed root, a model against the model hash).
//
// One request per stream, both sides one frame (u32 big-endian length || canonical JSON):
//   request  {"jobId":"<decimal>","v":1}                                   <= 128 bytes
//   response {"checkpoints":[...],"jobId":"<decimal>","results":[...],"v":1} <= 64 KiB
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { z } from 'zod';
import { canonicalJson } from '../canonical-json.ts';
import { VeritrainError } from '../errors.ts';
import { encodeFrame, frameReader } from './blob-protocol.ts';
import type { NetNode } from './node.ts';
import type { PeerScorer } from './peers.ts';

export const JOB_INFO_PROTOCOL = '/veritrain/jobinfo/1.0.0';
export const MAX_JOB_INFO_REQUEST = 128;
export const MAX_JOB_INFO_RESPONSE = 64 * 1024;

const sha256Hash = z.string().regex(/^[0-9a-f]{64}$/);
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const address = z.string().regex(/^0x[0-9a-f]{40}$/);
const jobId = z.string().regex(/^[1-9][0-9]{0,15}$/, 'a decimal job id');
const uint32 = z.number().int().min(0).max(0xffff_ffff);

const requestSchema = z.strictObject({ v: z.literal(1), jobId });
const responseSchema = z.strictObject({
  v: z.literal(1),
  jobId,
  results: z.array(z.strictObject({ root: bytes32, modelHash: bytes32, list: sha256Hash, solver: address })).max(64),
  checkpoints: z.array(z.strictObject({ solver: address, index: uint32, step: uint32, stateHash: sha256Hash, blob: sha256Hash })).max(512),
});

export type JobInfoRequest = z.infer<typeof requestSchema>;
export type JobInfo = z.infer<typeof responseSchema>;

/** A job-info frame that failed to decode. */
export class JobInfoError extends VeritrainError {
  override name = 'JobInfoError';
}

function decodeJson<T>(schema: z.ZodType<T>, bytes: unknown, max: number, what: string): T {
  if (!(bytes instanceof Uint8Array)) throw new JobInfoError(`a ${what} must be bytes`);
  if (bytes.length > max) throw new JobInfoError(`${what} of ${bytes.length} bytes, the limit is ${max}`);
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new JobInfoError(`${what} is not UTF-8 JSON`);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new JobInfoError(`${what} does not match its schema`, { details: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  if (canonicalJson(r.data) !== text) throw new JobInfoError(`${what} is not in canonical encoding`);
  return r.data;
}

export const decodeJobInfoRequest = (bytes: unknown): JobInfoRequest => decodeJson(requestSchema, bytes, MAX_JOB_INFO_REQUEST, 'job-info request');
export const decodeJobInfo = (bytes: unknown): JobInfo => decodeJson(responseSchema, bytes, MAX_JOB_INFO_RESPONSE, 'job-info response');

export function encodeJobInfo(info: JobInfo): Uint8Array {
  const checked = responseSchema.parse(info);
  const bytes = new TextEncoder().encode(canonicalJson(checked));
  if (bytes.length > MAX_JOB_INFO_RESPONSE) throw new JobInfoError(`job info of ${bytes.length} bytes is over the limit`);
  return bytes;
}

export interface JobInfoServer {
  stop(): Promise<void>;
}

/** Answers job-info requests with `answer(jobId)` (the node's own tables). */
export async function serveJobInfo(opts: { node: NetNode; answer: (jobId: bigint) => JobInfo; scorer?: PeerScorer }): Promise<JobInfoServer> {
  const handler = async (stream: Stream, connection: Connection) => {
    const reader = frameReader(stream, MAX_JOB_INFO_REQUEST);
    try {
      const payload = await reader.next(AbortSignal.timeout(5000));
      const req = decodeJobInfoRequest(payload);
      const info = opts.answer(BigInt(req.jobId));
      if (!stream.send(encodeFrame(encodeJobInfo(info)))) await stream.onDrain();
      await stream.close();
    } catch (e) {
      if (e instanceof JobInfoError || (e as VeritrainError)?.name === 'BlobProtocolError') opts.scorer?.penalize(connection.remotePeer, 'blobProtocol', (e as Error).message);
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    } finally {
      reader.dispose();
    }
  };
  await opts.node.handle(JOB_INFO_PROTOCOL, handler, { maxInboundStreams: 4 });
  return { stop: () => opts.node.unhandle(JOB_INFO_PROTOCOL) };
}

/** Asks one peer; null when it does not answer in time or answers garbage. */
export async function askJobInfo(node: NetNode, peer: PeerId, id: bigint, opts: { timeoutMs?: number; scorer?: PeerScorer } = {}): Promise<JobInfo | null> {
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 3000);
  let stream: Stream;
  try {
    stream = await node.dialProtocol(peer, JOB_INFO_PROTOCOL, { signal });
  } catch {
    return null;
  }
  const reader = frameReader(stream, MAX_JOB_INFO_RESPONSE);
  try {
    if (!stream.send(encodeFrame(new TextEncoder().encode(canonicalJson({ v: 1, jobId: id.toString() }))))) await stream.onDrain({ signal });
    const info = decodeJobInfo(await reader.next(signal));
    if (info.jobId !== id.toString()) throw new JobInfoError('answer is about another job');
    return info;
  } catch (e) {
    if (e instanceof JobInfoError) opts.scorer?.penalize(peer, 'blobProtocol', e.message);
    return null;
  } finally {
    reader.dispose();
    if (stream.status === 'open') await stream.close().catch(() => stream.abort(new Error('close failed')));
  }
}
