// Files a reader must never see half-written (checkpoints, chain.json, node.json, bootstrap.json, a
// downloaded model): the bytes go to a temp file beside the target and are fsynced; the caller (or
// writeFileAtomic) renames it over the target, so a crash leaves the old file or the new one.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

let tmpCounter = 0;

/** Write `bytes` to a fresh temp file beside `path`, fsynced; returns the temp file's path. */
export function writeDurably(path: string, bytes: Uint8Array): string {
  const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
  const fd = openSync(tmp, 'wx');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/** Make a rename in `dir` durable (where the platform can fsync a directory). */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/** Replace `path` with `data` atomically (its directory created if missing). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  renameSync(writeDurably(path, typeof data === 'string' ? new TextEncoder().encode(data) : data), path);
}
