#!/usr/bin/env node
// Runs the TypeScript CLI on the Node the project installed (>= 22.13 strips types natively).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
const node = existsSync(local) ? local : process.execPath;
const r = spawnSync(node, [`${root}src/cli/main.ts`, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
