// /veritrain/blob/1.0.0: fetch a blob by SHA-256 from an offset, over one libp2p stream.
//
// Every message is a frame: u32 big-endian length || payload; payload[0] is the frame type.
//   REQUEST (client → server)  0x01 || hash (32 bytes) || offset (u64)                 41 bytes
//   HEADER  (server → client)  0x02 || status (u8: 0 ok, 1 not found, 2 bad request) || size (u64)
//   DATA    (server → client)  0x03 || up to 256 KiB of blob bytes, in order from `offset`
// The server sends `size - offset` bytes of DATA and closes its end. The client appends them to
// `<hash>.part`, so a dropped connection resumes from the .part size, from the same or another
// provider; the SHA-256 of the whole file is checked before it becomes a blob. Providers are
// announced and found in the DHT under the blob's CID (v1, raw codec, sha2-256 multihash).
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { sha256 as sha256Codec } from 'multiformats/hashes/sha2';
import { Uint8ArrayList } from 'uint8arraylist';
import { InputError, IntegrityError, VeritrainError, type ErrorOptions } from '../errors.ts';
import type { NetNode } from './node.ts';
import type { PeerScorer } from './peers.ts';

export const BLOB_PROTOCOL = '/veritrain/blob/1.0.0';
export const CHUNK_BYTES = 256 * 1024;
/** Largest frame either side accepts: a DATA frame of one chunk plus its type byte. */
export const MAX_FRAME_BYTES = CHUNK_BYTES + 1;

export const FRAME = { request: 0x01, header: 0x02, data: 0x03 } as const;
export const STATUS = { ok: 0, notFound: 1, badRequest: 2 } as const;

/** The part of the blob store (src/node/blobs.ts) the protocol uses. */
export interface BlobSource {
  has(hash: string): boolean;
  size(hash: string): number | undefined;
  read(hash: string, opts?: { offset?: number; chunkSize?: number; verify?: boolean }): AsyncIterable<Uint8Array>;
}
export interface BlobSink extends BlobSource {
  partSize(hash: string): number;
  /** An appender to `<hash>.part`; commit() checks the whole file's SHA-256 and makes it a blob (IntegrityError otherwise). */
  openPart(hash: string): Promise<{ readonly offset: number; write(chunk: Uint8Array): Promise<void>; close(): Promise<void>; commit(): Promise<{ size: number }> }>;
  discardPart(hash: string): void;
}

export type BlobProtocolReason = 'frame' | 'oversized-frame' | 'truncated' | 'unexpected-frame' | 'bad-hash' | 'bad-offset' | 'bad-size' | 'bad-status';

/** A blob-protocol frame that failed to decode; `reason` says which check. */
export class BlobProtocolError extends VeritrainError {
  override name = 'BlobProtocolError';
  readonly reason: BlobProtocolReason;
  constructor(reason: BlobProtocolReason, shortMessage: string, opts: ErrorOptions = {}) {
    super(shortMessage, opts);
    this.reason = reason;
  }
}

// ---- frames (pure: the fuzz tests call these directly) ----------------------------------------

export interface BlobRequest {
  hash: string;
  offset: number;
}
export interface BlobHeader {
  status: number;
  size: number;
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

export function encodeRequest(req: BlobRequest): Uint8Array {
  const p = new Uint8Array(41);
  p[0] = FRAME.request;
  p.set(hexToBytes32(req.hash), 1);
  new DataView(p.buffer).setBigUint64(33, BigInt(req.offset));
  return encodeFrame(p);
}

export function encodeHeader(h: BlobHeader): Uint8Array {
  const p = new Uint8Array(10);
  p[0] = FRAME.header;
  p[1] = h.status;
  new DataView(p.buffer).setBigUint64(2, BigInt(h.size));
  return encodeFrame(p);
}

/** A DATA frame as a list of two buffers: the 5-byte prefix and the chunk itself (not copied). */
export function encodeData(chunk: Uint8Array): Uint8ArrayList {
  const prefix = new Uint8Array(5);
  new DataView(prefix.buffer).setUint32(0, 1 + chunk.length);
  prefix[4] = FRAME.data;
  return new Uint8ArrayList(prefix, chunk);
}

function typeOf(payload: unknown): number {
  if (!(payload instanceof Uint8Array)) throw new BlobProtocolError('frame', 'a frame payload must be bytes');
  if (payload.length === 0) throw new BlobProtocolError('frame', 'empty frame');
  return payload[0];
}

function readU64(payload: Uint8Array, at: number, what: BlobProtocolReason): number {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getBigUint64(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BlobProtocolError(what, `${what === 'bad-offset' ? 'offset' : 'size'} ${v} is too large`);
  return Number(v);
}

export function decodeRequest(payload: unknown): BlobRequest {
  if (typeOf(payload) !== FRAME.request) throw new BlobProtocolError('unexpected-frame', `expected a request frame, got type ${(payload as Uint8Array)[0]}`);
  const p = payload as Uint8Array;
  if (p.length !== 41) throw new BlobProtocolError('frame', `a request frame is 41 bytes, got ${p.length}`);
  return { hash: bytesToHex(p.subarray(1, 33)), offset: readU64(p, 33, 'bad-offset') };
}

export function decodeHeader(payload: unknown): BlobHeader {
  if (typeOf(payload) !== FRAME.header) throw new BlobProtocolError('unexpected-frame', `expected a header frame, got type ${(payload as Uint8Array)[0]}`);
  const p = payload as Uint8Array;
  if (p.length !== 10) throw new BlobProtocolError('frame', `a header frame is 10 bytes, got ${p.length}`);
  const status = p[1];
  if (status !== STATUS.ok && status !== STATUS.notFound && status !== STATUS.badRequest) throw new BlobProtocolError('bad-status', `unknown status ${status}`);
  return { status, size: readU64(p, 2, 'bad-size') };
}

/** The bytes of a DATA frame (a view, not a copy). */
export function decodeData(payload: unknown): Uint8Array {
  if (typeOf(payload) !== FRAME.data) throw new BlobProtocolError('unexpected-frame', `expected a data frame, got type ${(payload as Uint8Array)[0]}`);
  const p = payload as Uint8Array;
  if (p.length < 2) throw new BlobProtocolError('frame', 'empty data frame');
  return p.subarray(1);
}

// ---- framing over a stream, with backpressure both ways ---------------------------------------

const HIGH_WATER = 1 << 20;
const WRITE_BEHIND = 2 << 20;
const LOW_WATER = 256 * 1024;

export interface FrameReader {
  /** The next frame's payload, or null at a clean end of stream; throws BlobProtocolError or the stream's error. */
  next(signal?: AbortSignal): Promise<Uint8Array | null>;
  dispose(): void;
}

/**
 * Reads length-prefixed frames. Pauses the stream (the muxer stops granting send window, so the
 * sender's send() returns false) while more than HIGH_WATER bytes wait to be read.
 */
export function frameReader(stream: Stream, maxFrame = MAX_FRAME_BYTES): FrameReader {
  const buf = new Uint8ArrayList();
  let wake: (() => void) | undefined;
  let closedError: Error | undefined;
  let closed = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
    buf.append(evt.data);
    // Deferred: this event may be dispatched from inside resume(), which un-pauses the muxer
    // after dispatching; pausing here would leave the stream paused and the muxer not.
    if (buf.byteLength > HIGH_WATER) queueMicrotask(pauseIfFull);
    notify();
  };
  const pauseIfFull = () => {
    if (buf.byteLength > HIGH_WATER && stream.readStatus === 'readable' && stream.status === 'open') stream.pause();
  };
  const onClose = (evt: Event & { error?: Error }) => {
    closed = true;
    closedError = evt.error;
    notify();
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('close', onClose);
  stream.addEventListener('remoteCloseWrite', notify);
  const atEnd = () => closed || (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0 && stream.readStatus !== 'paused');

  return {
    async next(signal) {
      for (;;) {
        if (buf.byteLength >= 4) {
          const len = buf.getUint32(0);
          if (len > maxFrame) throw new BlobProtocolError('oversized-frame', `frame of ${len} bytes, the limit is ${maxFrame}`);
          if (buf.byteLength >= 4 + len) {
            const payload = buf.subarray(4, 4 + len);
            buf.consume(4 + len);
            if (stream.readStatus === 'paused' && buf.byteLength < LOW_WATER) stream.resume();
            return payload;
          }
        }
        if (stream.readStatus === 'paused') stream.resume();
        if (atEnd()) {
          if (closedError !== undefined) throw closedError;
          if (buf.byteLength > 0) throw new BlobProtocolError('truncated', `stream ended inside a frame (${buf.byteLength} bytes left)`);
          return null;
        }
        signal?.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            wake = undefined;
            reject(signal?.reason);
          };
          wake = () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      }
    },
    dispose() {
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('close', onClose);
      stream.removeEventListener('remoteCloseWrite', notify);
    },
  };
}

async function sendFrame(stream: Stream, frame: Uint8Array | Uint8ArrayList, signal?: AbortSignal): Promise<void> {
  // send() queues the frame either way; false means "stop until drained".
  if (!stream.send(frame)) await stream.onDrain({ signal });
}

// ---- server -----------------------------------------------------------------------------------

export interface ServeBlobsOptions {
  node: NetNode;
  store: BlobSource;
  scorer?: PeerScorer;
  /** Concurrent blob streams one connection may open (default 4). */
  maxStreamsPerConnection?: number;
  /** ms to wait for the request frame (default 10 s). */
  requestTimeoutMs?: number;
}

export interface BlobServer {
  stats(): { streams: number; served: number; bytesSent: number; drainWaits: number; badRequests: number };
  stop(): Promise<void>;
}

/** Serves blobs from `store` to any peer that is not blocked. */
export async function serveBlobs(opts: ServeBlobsOptions): Promise<BlobServer> {
  const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  const stats = { streams: 0, served: 0, bytesSent: 0, drainWaits: 0, badRequests: 0 };
  // Blobs hashed once by this server (the store checks a read from offset 0 against the name).
  const verified = new Set<string>();
  const send = async (stream: Stream, frame: Uint8Array | Uint8ArrayList) => {
    if (!stream.send(frame)) {
      stats.drainWaits++;
      await stream.onDrain();
    }
  };
  const handler = async (stream: Stream, connection: Connection) => {
    stats.streams++;
    const peer = connection.remotePeer;
    if (opts.scorer?.isBlocked(peer)) {
      stream.abort(new Error('blocked'));
      return;
    }
    const reader = frameReader(stream, 64);
    try {
      let req: BlobRequest;
      try {
        const payload = await reader.next(AbortSignal.timeout(requestTimeoutMs));
        if (payload === null) throw new BlobProtocolError('truncated', 'no request');
        req = decodeRequest(payload);
        // One request per stream: anything more the client sends is left unread.
        reader.dispose();
      } catch (e) {
        if (!(e instanceof BlobProtocolError)) throw e;
        stats.badRequests++;
        opts.scorer?.penalize(peer, 'blobProtocol', e.shortMessage);
        await send(stream, encodeHeader({ status: STATUS.badRequest, size: 0 }));
        await stream.close();
        return;
      }
      const size = opts.store.size(req.hash);
      if (size === undefined) {
        await send(stream, encodeHeader({ status: STATUS.notFound, size: 0 }));
        await stream.close();
        return;
      }
      if (req.offset > size) {
        await send(stream, encodeHeader({ status: STATUS.badRequest, size }));
        await stream.close();
        return;
      }
      await send(stream, encodeHeader({ status: STATUS.ok, size }));
      const verify = req.offset === 0 && !verified.has(req.hash);
      for await (const chunk of opts.store.read(req.hash, { offset: req.offset, chunkSize: CHUNK_BYTES, verify })) {
        if (stream.writeStatus !== 'writable') return;
        await send(stream, encodeData(chunk));
        stats.bytesSent += chunk.length;
      }
      if (verify) verified.add(req.hash);
      stats.served++;
      await stream.close();
    } catch (e) {
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    } finally {
      reader.dispose();
    }
  };
  await opts.node.handle(BLOB_PROTOCOL, handler, { maxInboundStreams: opts.maxStreamsPerConnection ?? 4 });
  return { stats: () => ({ ...stats }), stop: () => opts.node.unhandle(BLOB_PROTOCOL) };
}

// ---- DHT --------------------------------------------------------------------------------------

/** The blob's CID: v1, raw codec, sha2-256 multihash of the SHA-256 we name it by. */
export function blobCid(hash: string): CID {
  return CID.createV1(raw.code, createDigest(sha256Codec.code, hexToBytes32(hash)));
}

/** Announces in the DHT that this node provides `hash`. */
export async function announceBlob(node: NetNode, hash: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await node.contentRouting.provide(blobCid(hash), { signal: opts.signal });
}

/** Providers of `hash` found in the DHT (this node excluded), up to `limit` within `timeoutMs`. */
export async function findBlobProviders(node: NetNode, hash: string, opts: { limit?: number; timeoutMs?: number } = {}): Promise<PeerId[]> {
  const limit = opts.limit ?? 8;
  const found = new Map<string, PeerId>();
  try {
    for await (const p of node.contentRouting.findProviders(blobCid(hash), { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) })) {
      if (p.id.equals(node.peerId)) continue;
      if (p.multiaddrs.length > 0) await node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch(() => {});
      found.set(p.id.toString(), p.id);
      if (found.size >= limit) break;
    }
  } catch {
    // A timeout or an empty routing table ends the search with what was found so far.
  }
  return [...found.values()];
}

// ---- client -----------------------------------------------------------------------------------

export type AttemptOutcome = 'ok' | 'not-found' | 'refused' | 'dropped' | 'bad-bytes' | 'protocol' | 'too-large' | 'blocked' | 'dial-failed';

export interface FetchAttempt {
  peer: string;
  offset: number;
  bytes: number;
  outcome: AttemptOutcome;
  error?: string;
}

export interface FetchBlobOptions {
  node: NetNode;
  store: BlobSink;
  hash: string;
  /** Providers to try first: peer ids, or multiaddrs ending in /p2p/<peer id> (their address is remembered). */
  providers?: Array<PeerId | string>;
  /** Also look providers up in the DHT (default true). */
  useDht?: boolean;
  scorer?: PeerScorer;
  /** Refuse a blob larger than this (default 16 GiB). */
  maxBytes?: number;
  /** Tries per provider (a dropped connection resumes on the next try; default 2). */
  attemptsPerProvider?: number;
  /** ms of silence after which an attempt is given up (default 30 s). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: { peer: string; received: number; size: number }) => void;
}

export interface FetchBlobResult {
  hash: string;
  size: number;
  /** Bytes the last, successful attempt started from (> 0 when it resumed a .part). */
  resumedFrom: number;
  attempts: FetchAttempt[];
}

/** The blob could not be fetched from any provider; `attempts` says what each one did. */
export class BlobFetchError extends VeritrainError {
  override name = 'BlobFetchError';
  readonly attempts: FetchAttempt[];
  constructor(hash: string, attempts: FetchAttempt[]) {
    super(`could not fetch blob ${hash}`, {
      details: attempts.length === 0 ? 'no provider found' : attempts.map((a) => `${a.peer.slice(-8)}@${a.offset}: ${a.outcome}${a.error ? ` (${a.error})` : ''}`).join('; '),
      hint: 'check that a provider is online and connected (bootstrap list), then retry: downloaded bytes are kept',
    });
    this.attempts = attempts;
  }
}

/**
 * Fetches a blob into the store: providers in order (given ones, then DHT), resuming the .part
 * after a drop; a provider whose bytes fail the hash check is scored down and the next one tried.
 */
export async function fetchBlob(opts: FetchBlobOptions): Promise<FetchBlobResult> {
  hexToBytes32(opts.hash);
  // One download per blob and store at a time: two would append to the same .part.
  let inFlight = downloads.get(opts.store);
  if (inFlight === undefined) downloads.set(opts.store, (inFlight = new Map()));
  const running = inFlight.get(opts.hash);
  if (running !== undefined) {
    await running.catch(() => {});
    return fetchBlob(opts);
  }
  const p = fetchOnce(opts);
  inFlight.set(opts.hash, p);
  try {
    return await p;
  } finally {
    inFlight.delete(opts.hash);
  }
}

const downloads = new WeakMap<BlobSink, Map<string, Promise<FetchBlobResult>>>();

async function fetchOnce(opts: FetchBlobOptions): Promise<FetchBlobResult> {
  const { node, store, hash } = opts;
  const attempts: FetchAttempt[] = [];
  const existing = store.size(hash);
  if (existing !== undefined) return { hash, size: existing, resumedFrom: existing, attempts };
  const maxBytes = opts.maxBytes ?? 16 * 2 ** 30;
  const perProvider = opts.attemptsPerProvider ?? 2;

  const queue = new Map<string, PeerId>();
  for (const p of opts.providers ?? []) {
    const id = await providerId(node, p);
    if (!id.equals(node.peerId)) queue.set(id.toString(), id);
  }
  let dhtDone = opts.useDht === false;
  // Peers whose bytes are in the current .part: if the whole fails its hash, they all served it.
  const contributors = new Set<string>();

  for (;;) {
    for (const [key, peer] of queue) {
      queue.delete(key);
      if (opts.scorer?.isBlocked(peer)) {
        attempts.push({ peer: key, offset: store.partSize(hash), bytes: 0, outcome: 'blocked' });
        continue;
      }
      for (let i = 0; i < perProvider; i++) {
        opts.signal?.throwIfAborted();
        const a = await attempt(peer);
        attempts.push(a);
        if (a.outcome === 'ok') {
          opts.scorer?.reward(peer, 1, `served blob ${hash.slice(0, 12)}`);
          return { hash, size: a.offset + a.bytes, resumedFrom: a.offset, attempts };
        }
        if (a.outcome === 'bad-bytes') {
          for (const c of contributors) opts.scorer?.penalize(c, 'badBlob', `blob ${hash.slice(0, 12)} failed its hash`);
          contributors.clear();
          break;
        }
        if (a.outcome !== 'dropped' && a.outcome !== 'dial-failed') break;
        // A dropped connection may still be closing: give it a moment before redialling.
        await new Promise((r) => setTimeout(r, 100 * (i + 1)));
      }
    }
    if (dhtDone) break;
    dhtDone = true;
    const tried = new Set(attempts.map((a) => a.peer));
    for (const p of await findBlobProviders(node, hash)) if (!tried.has(p.toString())) queue.set(p.toString(), p);
    if (queue.size === 0) break;
  }
  throw new BlobFetchError(hash, attempts);

  async function attempt(peer: PeerId): Promise<FetchAttempt> {
    const key = peer.toString();
    const offset = store.partSize(hash);
    const a: FetchAttempt = { peer: key, offset, bytes: 0, outcome: 'dropped' };
    let stream: Stream;
    try {
      stream = await node.dialProtocol(peer, BLOB_PROTOCOL, { signal: AbortSignal.timeout(opts.idleTimeoutMs ?? 30_000) });
    } catch (e) {
      a.outcome = 'dial-failed';
      a.error = (e as Error).message;
      return a;
    }
    const reader = frameReader(stream);
    const part = await store.openPart(hash);
    let writes: Promise<void> = Promise.resolve();
    let queued = 0;
    const idle = idleSignal(opts.idleTimeoutMs ?? 30_000, opts.signal);
    try {
      await sendFrame(stream, encodeRequest({ hash, offset }), idle.signal);
      const first = await reader.next(idle.signal);
      if (first === null) throw new BlobProtocolError('truncated', 'no header');
      const header = decodeHeader(first);
      if (header.status === STATUS.notFound) {
        a.outcome = 'not-found';
        return a;
      }
      if (header.status !== STATUS.ok) {
        a.outcome = 'refused';
        // Our .part is longer than the blob the provider has: it cannot be a prefix, start over.
        if (header.size < offset) store.discardPart(hash);
        return a;
      }
      if (header.size > maxBytes) {
        a.outcome = 'too-large';
        a.error = `${header.size} bytes > ${maxBytes}`;
        opts.scorer?.penalize(peer, 'blobProtocol', a.error);
        return a;
      }
      let received = offset;
      for (;;) {
        idle.reset();
        const payload = await reader.next(idle.signal);
        if (payload === null) break;
        const chunk = decodeData(payload);
        if (received + chunk.length > header.size) throw new BlobProtocolError('bad-size', `provider sent more than the ${header.size} bytes it announced`);
        contributors.add(key);
        // Write-behind: the disk write runs while the next frames arrive, in order, at most
        // WRITE_BEHIND bytes ahead (then the reader waits, and the stream's own backpressure holds the sender).
        queued += chunk.length;
        writes = writes.then(() => part.write(chunk)).then(() => void (queued -= chunk.length));
        if (queued > WRITE_BEHIND) await writes;
        received += chunk.length;
        a.bytes += chunk.length;
        opts.onProgress?.({ peer: key, received, size: header.size });
      }
      await writes;
      if (received !== header.size) return a; // 'dropped': the .part is kept for the next try
      try {
        await part.commit();
        a.outcome = 'ok';
      } catch (e) {
        if (!(e instanceof IntegrityError)) throw e;
        a.outcome = 'bad-bytes';
        a.error = e.shortMessage;
      }
      return a;
    } catch (e) {
      if (e instanceof BlobProtocolError) {
        a.outcome = 'protocol';
        opts.scorer?.penalize(peer, 'blobProtocol', e.shortMessage);
      } else {
        if (opts.signal?.aborted) throw e;
        a.outcome = 'dropped';
      }
      a.error = (e as Error).message;
      stream.abort(e as Error);
      return a;
    } finally {
      idle.clear();
      reader.dispose();
      // Whatever arrived before a drop lands in the .part before it is closed (the resume point).
      await writes.catch(() => {});
      await part.close();
      if (stream.status === 'open') await stream.close().catch(() => stream.abort(new Error('close failed')));
    }
  }
}

async function providerId(node: NetNode, p: PeerId | string): Promise<PeerId> {
  if (typeof p !== 'string') return p;
  if (!p.startsWith('/')) return peerIdFromString(p);
  const ma = multiaddr(p);
  const id = ma.getComponents().find((c) => c.name === 'p2p')?.value;
  if (id === undefined) throw new InputError(`provider address ${p} has no /p2p/<peer id>`);
  const peer = peerIdFromString(id);
  await node.peerStore.merge(peer, { multiaddrs: [ma] });
  return peer;
}

function idleSignal(ms: number, outer?: AbortSignal): { signal: AbortSignal; reset(): void; clear(): void } {
  const ctl = new AbortController();
  const onOuter = () => ctl.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new Error(`no data for ${ms} ms`)), ms);
  };
  reset();
  return {
    signal: ctl.signal,
    reset,
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

function hexToBytes32(hash: string): Uint8Array {
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw new BlobProtocolError('bad-hash', `not a blob hash: ${JSON.stringify(String(hash).slice(0, 80))}`);
  return Uint8Array.from(Buffer.from(hash, 'hex'));
}

function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
