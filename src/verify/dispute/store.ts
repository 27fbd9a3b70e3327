// DisputeStore implementations: a small JSON file (written atomically: temp file, fsync, rename) and
// an in-memory one. The node daemon may pass its own (e.g. a table in its sqlite db).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { IntegrityError } from '../../errors.ts';
import type { DisputeRecord, DisputeStore } from './driver.ts';

export function memoryStore(initial: DisputeRecord[] = []): DisputeStore {
  const rows = new Map(initial.map((r) => [r.game, { ...r }]));
  return {
    list: () => [...rows.values()].map((r) => ({ ...r })),
    put: (r) => void rows.set(r.game, { ...r }),
  };
}

/** Disputes in a JSON file; survives kill -9 (every put is an atomic rewrite of the whole file). */
export function fileStore(path: string): DisputeStore {
  const read = (): DisputeRecord[] => {
    if (!existsSync(path)) return [];
    try {
      const v = JSON.parse(readFileSync(path, 'utf8')) as { disputes?: DisputeRecord[] };
      return Array.isArray(v.disputes) ? v.disputes : [];
    } catch (e) {
      throw new IntegrityError(`dispute store ${path} is not valid JSON`, { cause: e, hint: 'restore it, or delete it to stop tracking (the disputes stay on chain)' });
    }
  };
  return {
    list: read,
    put(r) {
      const rows = read().filter((x) => x.game !== r.game);
      rows.push(r);
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, JSON.stringify({ format: 'veritrain-disputes/1', disputes: rows }, null, 2) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}
