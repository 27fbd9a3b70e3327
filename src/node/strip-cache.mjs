// A module hook that a node daemon starts with (`--import`, src/node/launch.ts): serves the
// project's .ts files as the JavaScript Node's type stripping makes of them, from a cache keyed by
// the Node version and the file's contents, so the daemon never loads the type stripper itself
// (amaro: ~15-18 MB that stay for the life of the process). Plain JavaScript, because it runs
// before anything can be stripped. An edited file has a new key, so a stale entry is never served;
// a file without an entry is left to Node (the same result, the stripper's memory included). The
// cache is filled by a short-lived process (VERITRAIN_STRIP_CACHE_FILL=1) before the daemon starts.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <VERITRAIN_HOME or ~/.veritrain>/strip-cache: the user's own directory (a shared one could be planted). */
export const STRIP_CACHE_DIR = join(process.env.VERITRAIN_HOME ?? join(homedir(), '.veritrain'), 'strip-cache');

const fill = process.env.VERITRAIN_STRIP_CACHE_FILL === '1';

function entryPath(source) {
  const key = createHash('sha256').update(`${process.version}\0`).update(source).digest('hex').slice(0, 40);
  return join(STRIP_CACHE_DIR, `${key}.js`);
}

// Node < 22.15 has no synchronous hooks: it strips every file itself.
if (typeof module.registerHooks === 'function' && typeof module.stripTypeScriptTypes === 'function') {
  if (fill) mkdirSync(STRIP_CACHE_DIR, { recursive: true, mode: 0o700 });
  module.registerHooks({
    load(url, context, nextLoad) {
      if (context.format !== 'module-typescript' || !url.startsWith('file:')) return nextLoad(url, context);
      const source = readFileSync(fileURLToPath(url), 'utf8');
      const path = entryPath(source);
      let js;
      try {
        js = readFileSync(path, 'utf8');
      } catch {
        if (!fill) return nextLoad(url, context);
        js = module.stripTypeScriptTypes(source, { mode: 'strip' });
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, js, { mode: 0o600 });
        renameSync(tmp, path);
      }
      return { format: 'module', source: js, shortCircuit: true };
    },
  });
}
