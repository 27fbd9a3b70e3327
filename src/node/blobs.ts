// Content-addressed blob store: `<dataDir>/blobs/<sha256 hex>`. Every write is hashed on the way
// in and lands by rename (never half a file under a hash name); reads re-hash; a download in
// progress lives in `<hash>.part` so a dropped connection resumes where it stopped.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, IntegrityError } from '../errors.ts';

const HASH_RE = /^[0-9a-f]{64}$/;
const READ_CHUNK = 1 << 20;

export interface BlobStore {
  dir: string;
  has(hash: string): boolean;
  /** Size in bytes of a complete blob, undefined when absent. */
  size(hash: string): number | undefined;
  list(): string[];
  /** Stores bytes; returns their hash. With `expected`, a mismatch throws IntegrityError and stores nothing. */
  put(bytes: Uint8Array, expected?: string): Promise<string>;
  /** Streams a source to disk, hashing as it goes; same contract as put. */
  putStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: string): Promise<{ hash: string; size: number }>;
  /** The whole blob, verified against its name. */
  get(hash: string): Promise<Uint8Array>;
  /**
   * Streams a blob from `offset`. From offset 0 it is hashed on the way and the iterator throws
   * IntegrityError after the last chunk if the file no longer matches its name (and removes it).
   */
  read(hash: string, opts?: ReadOptions): AsyncIterable<Uint8Array>;
  delete(hash: string): void;
  /** Bytes already downloaded for `hash` (0 when no .part exists). */
  partSize(hash: string): number;
  /** Opens `<hash>.part` for appending at its current end (hashing what is already there). */
  openPart(hash: string): Promise<PartWriter>;
  /** Hashes the .part; renames it into place when it matches, else deletes it and throws IntegrityError. */
  commitPart(hash: string): Promise<{ size: number }>;
  discardPart(hash: string): void;
}

export interface ReadOptions {
  offset?: number;
  chunkSize?: number;
  /** Hash a read from offset 0 and throw at the end on a mismatch (default true). */
  verify?: boolean;
}

export interface PartWriter {
  /** Where the next byte lands (the .part size when opened). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes to disk and closes; the .part stays for commitPart or a later resume. */
  close(): Promise<void>;
  /**
   * Closes, then checks the SHA-256 of the whole .part (hashed while written, no re-read): a match
   * renames it into place, a mismatch deletes it and throws IntegrityError.
   */
  commit(): Promise<{ size: number }>;
}

export function checkHash(hash: string): string {
  // The hash becomes a file name: nothing but 64 lowercase hex digits gets near the file system.
  if (typeof hash !== 'string' || !HASH_RE.test(hash)) {
    throw new InputError(`not a blob hash: ${JSON.stringify(String(hash).slice(0, 80))}`, { hint: 'a blob hash is 64 lowercase hex digits (SHA-256)' });
  }
  return hash;
}

/**
 * `shared`: another process (the daemon) owns the store and may be writing: do not clear its
 * unfinished writes (a reader such as the dispute process opens it so).
 */
export function openBlobStore(dataDir: string, opts: { shared?: boolean } = {}): BlobStore {
  const dir = join(dataDir, 'blobs');
  const tmpDir = join(dir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  // Leftover tmp files are writes that never finished (a crash): they were never visible.
  if (!opts.shared) for (const f of readdirSync(tmpDir)) rmSync(join(tmpDir, f), { force: true });
  const pathOf = (hash: string) => join(dir, checkHash(hash));
  const partOf = (hash: string) => `${pathOf(hash)}.part`;

  function landAt(tmp: string, hash: string): void {
    // Same bytes under the same name: an existing blob is kept (renaming over it is equivalent).
    renameSync(tmp, pathOf(hash));
    fsyncDir(dir);
  }

  async function putStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: string): Promise<{ hash: string; size: number }> {
    if (expected !== undefined) checkHash(expected);
    const tmp = join(tmpDir, randomBytes(8).toString('hex'));
    const fh = await open(tmp, 'wx', 0o644);
    const h = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of source) {
        h.update(chunk);
        size += chunk.length;
        await writeAll(fh, chunk);
      }
      await fh.sync();
    } catch (e) {
      await fh.close();
      rmSync(tmp, { force: true });
      throw e;
    }
    await fh.close();
    const hash = h.digest('hex');
    if (expected !== undefined && hash !== expected) {
      rmSync(tmp, { force: true });
      throw new IntegrityError(`blob content does not match its hash`, { details: `expected ${expected}, got ${hash} (${size} bytes)` });
    }
    landAt(tmp, hash);
    return { hash, size };
  }

  async function* read(hash: string, opts: ReadOptions = {}): AsyncIterable<Uint8Array> {
    const path = pathOf(hash);
    const offset = opts.offset ?? 0;
    const total = sizeOf(path);
    if (total === undefined) throw new InputError(`blob ${hash} is not in the store`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > total) throw new InputError(`offset ${offset} is outside blob ${hash} (${total} bytes)`);
    const h = offset === 0 && opts.verify !== false ? createHash('sha256') : undefined;
    const fh = await open(path, 'r');
    try {
      let pos = offset;
      const chunkSize = opts.chunkSize ?? READ_CHUNK;
      while (pos < total) {
        const buf = Buffer.allocUnsafe(Math.min(chunkSize, total - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) throw new IntegrityError(`blob ${hash} shrank while being read`);
        const chunk = new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
        h?.update(chunk);
        pos += bytesRead;
        yield chunk;
      }
    } finally {
      await fh.close();
    }
    if (h !== undefined && h.digest('hex') !== hash) {
      rmSync(path, { force: true });
      throw new IntegrityError(`blob ${hash} on disk does not match its hash`, { details: 'the file was removed from the store', hint: 'fetch it again from a provider' });
    }
  }

  return {
    dir,
    has: (hash) => sizeOf(pathOf(hash)) !== undefined,
    size: (hash) => sizeOf(pathOf(hash)),
    list: () => readdirSync(dir).filter((f) => HASH_RE.test(f)),
    put: async (bytes, expected) => (await putStream([bytes], expected)).hash,
    putStream,
    async get(hash) {
      const chunks: Uint8Array[] = [];
      for await (const c of read(hash)) chunks.push(c);
      return Buffer.concat(chunks);
    },
    read,
    delete(hash) {
      rmSync(pathOf(hash), { force: true });
    },
    partSize: (hash) => sizeOf(partOf(hash)) ?? 0,
    async openPart(hash) {
      const path = partOf(hash);
      const fh = await open(path, 'a+', 0o644);
      // Hash what an earlier attempt left, so commit needs no second pass over the file.
      const h = createHash('sha256');
      let offset = 0;
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        offset += bytesRead;
      }
      let size = offset;
      let closed = false;
      // No fsync: a download can be fetched again, and after an OS crash a damaged .part or blob
      // fails its hash (commit, read) instead of being trusted. Local puts (the only copy) do sync.
      const close = async () => {
        if (closed) return;
        closed = true;
        await fh.close();
      };
      return {
        offset,
        async write(chunk) {
          h.update(chunk);
          await writeAll(fh, chunk);
          size += chunk.length;
        },
        close,
        async commit() {
          await close();
          const got = h.digest('hex');
          if (got !== hash) {
            rmSync(path, { force: true });
            throw new IntegrityError(`downloaded blob does not match its hash`, { details: `expected ${hash}, got ${got} (${size} bytes); the partial file was removed` });
          }
          landAt(path, hash);
          return { size };
        },
      };
    },
    async commitPart(hash) {
      const part = partOf(hash);
      if (!existsSync(part)) throw new InputError(`no partial download of ${hash}`);
      const h = createHash('sha256');
      const fh = await open(part, 'r');
      let size = 0;
      try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, size);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          size += bytesRead;
        }
      } finally {
        await fh.close();
      }
      const got = h.digest('hex');
      if (got !== hash) {
        rmSync(part, { force: true });
        throw new IntegrityError(`downloaded blob does not match its hash`, { details: `expected ${hash}, got ${got} (${size} bytes); the partial file was removed` });
      }
      landAt(part, hash);
      return { size };
    },
    discardPart(hash) {
      rmSync(partOf(hash), { force: true });
    },
  };
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function fsyncDir(dir: string): void {
  // The rename is durable only once the directory entry is on disk.
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
