// Solidity → ABI + bytecode with solc-js (no native compiler download), cached on disk by content.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import type { Abi, Hex } from 'viem';
import { VeritrainError } from '../errors.ts';

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
  deployedBytecode: Hex;
}

/** Keyed "path/File.sol:Contract". */
export type Artifacts = Record<string, Artifact>;

export interface CompileOptions {
  /** Optimizer runs (default 200). */
  runs?: number;
  /** Compile through the Yul IR pipeline (default true: needed for deep stacks, smaller code). */
  viaIR?: boolean;
  /** EVM version (default "cancun": anvil 1.7 runs prague, and cancun runs on every current L2). */
  evmVersion?: string;
  /** Artifact cache directory (default <repo>/.cache/contracts); null turns the cache off. */
  cacheDir?: string | null;
}

/** Solidity did not compile; details list solc's errors. */
export class CompileError extends VeritrainError {
  override name = 'CompileError';
}

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CONTRACTS_DIR = join(ROOT, 'contracts');

const require = createRequire(import.meta.url);
// solc-js loads a 9 MB emscripten module: load it lazily and once.
let solcModule: { version(): string; compile(input: string, cb?: unknown): string } | undefined;
function solc() {
  solcModule ??= require('solc');
  return solcModule!;
}

/** solc-js version string, e.g. "0.8.37+commit.….Emscripten.clang". */
export function solcVersion(): string {
  return solc().version();
}

function settingsOf(opts: CompileOptions) {
  return {
    optimizer: { enabled: true, runs: opts.runs ?? 200 },
    viaIR: opts.viaIR ?? true,
    evmVersion: opts.evmVersion ?? 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  };
}

function cacheKey(sources: Record<string, string>, settings: unknown): string {
  const h = createHash('sha256');
  h.update(solcVersion() + '\0' + JSON.stringify(settings) + '\0');
  for (const name of Object.keys(sources).sort()) h.update(name + '\0' + sources[name] + '\0');
  return h.digest('hex');
}

interface SolcError { severity: string; formattedMessage?: string; message: string }

/**
 * Compile Solidity sources (name → content; imports resolve between the given names) with the
 * optimizer on. Returns every contract with bytecode, keyed "name:Contract".
 */
export async function compileSolidity(sources: Record<string, string>, opts: CompileOptions = {}): Promise<Artifacts> {
  const settings = settingsOf(opts);
  const cacheDir = opts.cacheDir === undefined ? join(ROOT, '.cache', 'contracts') : opts.cacheDir;
  const key = cacheKey(sources, settings);
  const cacheFile = cacheDir ? join(cacheDir, `${key}.json`) : undefined;
  if (cacheFile && existsSync(cacheFile)) {
    try {
      return JSON.parse(readFileSync(cacheFile, 'utf8')) as Artifacts;
    } catch {
      // A torn cache file is recompiled and rewritten below.
    }
  }
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([k, content]) => [k, { content }])),
    settings,
  };
  const missing: string[] = [];
  const findImports = (path: string) => {
    missing.push(path);
    return { error: `import "${path}" is not among the sources given to compileSolidity` };
  };
  const output = JSON.parse(solc().compile(JSON.stringify(input), { import: findImports }));
  const errors = ((output.errors ?? []) as SolcError[]).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new CompileError(`Solidity compilation failed with ${errors.length} error(s)`, {
      details: errors.map((e) => e.formattedMessage ?? e.message).join('\n'),
      hint: missing.length ? `add the imported files to the sources: ${missing.join(', ')}` : 'fix the Solidity source at the positions above',
    });
  }
  const artifacts: Artifacts = {};
  for (const [file, contracts] of Object.entries(output.contracts ?? {}) as [string, Record<string, any>][]) {
    for (const [name, c] of Object.entries(contracts)) {
      artifacts[`${file}:${name}`] = {
        abi: c.abi as Abi,
        bytecode: `0x${c.evm.bytecode.object}` as Hex,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}` as Hex,
      };
    }
  }
  if (cacheFile && cacheDir) {
    mkdirSync(cacheDir, { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(artifacts));
    renameSync(tmp, cacheFile);
  }
  return artifacts;
}

/** The coordination layer's sources: what `deploy` compiles (contracts/verify is the verification layer's). */
export const CHAIN_SOURCES = ['core/', 'testing/'];

/**
 * Every contracts/**\/*.sol file, keyed by its path relative to `dir` with "/" separators;
 * `include` keeps only paths that start with one of the given prefixes (e.g. ["core/"]).
 */
export function loadContractSources(dir: string = CONTRACTS_DIR, include?: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.sol')) {
        const key = relative(dir, p).split(sep).join('/');
        if (!include || include.some((prefix) => key.startsWith(prefix))) out[key] = readFileSync(p, 'utf8');
      }
    }
  };
  walk(dir);
  return out;
}

/** Compile the contracts under contracts/ (cached); `include` as in loadContractSources (default: all). */
export async function compileContracts(opts: CompileOptions & { dir?: string; include?: string[] } = {}): Promise<Artifacts> {
  return compileSolidity(loadContractSources(opts.dir, opts.include), opts);
}

/** One artifact by contract name ("JobMarket") or full key ("core/JobMarket.sol:JobMarket"). */
export function artifactOf(artifacts: Artifacts, name: string): Artifact {
  if (artifacts[name]) return artifacts[name];
  const hits = Object.keys(artifacts).filter((k) => k.endsWith(`:${name}`));
  if (hits.length !== 1) {
    throw new CompileError(hits.length ? `contract name "${name}" is ambiguous` : `no compiled contract named "${name}"`, {
      details: hits.length ? hits.join(', ') : `known: ${Object.keys(artifacts).join(', ')}`,
      hint: 'use the full "file.sol:Contract" key',
    });
  }
  return artifacts[hits[0]];
}
