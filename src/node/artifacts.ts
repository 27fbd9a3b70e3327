// What travels between nodes besides gossip: the spec blob, the data blobs it names, and the
// checkpoint list of a result. Each is a blob named by its SHA-256 and checked against something
// the chain holds (the spec hash, the dataset hash, the committed root) before it is used.
//
// Network form of a spec: its dataset is built in, or every file it reads is named
// "blobs/<sha256 of the file>" and the dataset's hash is pinned ("sha256"). A node loads such a
// spec with its data directory as the base directory, so the paths resolve into its blob store,
// and a spec can name no file outside it. The spec blob is the spec's canonical JSON (defaults
// filled in), so its blob hash is the spec hash.
import { z } from 'zod';
import type { Address, Hex } from 'viem';
import { canonicalJson } from '../canonical-json.ts';
import { IntegrityError, InputError } from '../errors.ts';
import { sha256Hex, utf8 } from '../engine/hash.ts';
import { checkpointLeaf } from '../chain/market.ts';
import { merkleRoot } from '../chain/merkle.ts';
import { parseSpec, type JobSpec } from '../train/spec.ts';

export const DATA_PREFIX = 'blobs/';
const BLOB_PATH = /^blobs\/([0-9a-f]{64})$/;

/** The spec blob: canonical JSON of the validated spec. Its SHA-256 is specHash(spec). */
export function specBlob(spec: JobSpec): Uint8Array {
  return utf8(canonicalJson(parseSpec(spec)));
}

/** A spec blob back to a spec, checked against the hash the chain names and for its network form. */
export function parseSpecBlob(bytes: Uint8Array, expectedHash: string): JobSpec {
  const got = sha256Hex(bytes);
  if (got !== expectedHash) throw new IntegrityError('spec blob does not match the spec hash', { details: `expected ${expectedHash}, got ${got}` });
  const spec = parseSpec(new TextDecoder().decode(bytes), `spec ${expectedHash.slice(0, 12)}`);
  if (canonicalJson(spec) !== new TextDecoder().decode(bytes)) {
    throw new IntegrityError('spec blob is not the canonical form of its spec', { hint: 'publish the canonical JSON (artifacts.specBlob)' });
  }
  dataBlobsOf(spec);
  return spec;
}

/**
 * The data blobs a network spec reads (none for a built-in dataset). Throws InputError for a spec
 * that reads a file by any other name: a solver never opens paths a stranger chose.
 */
export function dataBlobsOf(spec: JobSpec): string[] {
  const d = spec.dataset;
  if ('builtin' in d) return [];
  const paths = d.format === 'idx' ? [d.path, d.labelsPath] : [d.path];
  const out: string[] = [];
  for (const p of paths) {
    const m = BLOB_PATH.exec(p);
    if (!m) {
      throw new InputError(`the spec reads "${p}", which is not a network data path`, {
        hint: 'a network job names each data file "blobs/<sha256>" (veritrain job submit rewrites local paths)',
      });
    }
    out.push(m[1]);
  }
  if (d.sha256 === undefined) throw new InputError('a network spec pins its dataset hash ("sha256")');
  return out;
}

// ---- checkpoint lists -------------------------------------------------------------------------

const sha256Hash = z.string().regex(/^[0-9a-f]{64}$/);
const listSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().regex(/^[1-9][0-9]{0,15}$/),
  solver: z.string().regex(/^0x[0-9a-f]{40}$/),
  specHash: sha256Hash,
  checkpoints: z
    .array(z.strictObject({ index: z.number().int().min(0), step: z.number().int().min(0), stateHash: sha256Hash, blob: sha256Hash }))
    .min(1)
    .max(1 << 16),
});

/** The solver's list of checkpoints of one result: leaf i of the committed root is checkpoint i. */
export type CheckpointList = z.infer<typeof listSchema>;

export function encodeCheckpointList(list: CheckpointList): Uint8Array {
  return utf8(canonicalJson(listSchema.parse(list)));
}

/** Untrusted bytes → a list whose indices run 0..n-1 with increasing steps; IntegrityError otherwise. */
export function decodeCheckpointList(bytes: Uint8Array): CheckpointList {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new IntegrityError('checkpoint list is not UTF-8 JSON');
  }
  const r = listSchema.safeParse(value);
  if (!r.success) throw new IntegrityError('checkpoint list does not match its schema', { details: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  r.data.checkpoints.forEach((c, i) => {
    if (c.index !== i) throw new IntegrityError(`checkpoint list entry ${i} has index ${c.index}`);
    if (i > 0 && c.step <= r.data.checkpoints[i - 1].step) throw new IntegrityError(`checkpoint list steps do not increase at entry ${i}`);
  });
  return r.data;
}

/**
 * Leaf i of the committed checkpoint sequence, bound to the job and the solver (docs/verification.md
 * §3): a commitment copied from another job or solver is wrong for the copier.
 */
export function leafOf(jobId: bigint, solver: Address, stateHash: string): Hex {
  return checkpointLeaf(jobId, solver, `0x${stateHash}`);
}

/** The model hash a result commits to: the last checkpoint's state hash. */
export function modelHashOf(stateHash: string): Hex {
  return `0x${stateHash}`;
}

export function listRoot(jobId: bigint, solver: Address, stateHashes: readonly string[]): Hex {
  return merkleRoot(stateHashes.map((s) => leafOf(jobId, solver, s)));
}

/** Checks a list against what the chain holds for the result (root, model hash, leaf count). */
export function checkListAgainstChain(list: CheckpointList, chain: { jobId: bigint; solver: Address; root: Hex; modelHash: Hex; checkpoints: number; specHash: string }): void {
  const fail = (what: string) => new IntegrityError(`checkpoint list of job ${chain.jobId} does not match the chain: ${what}`);
  if (list.jobId !== chain.jobId.toString() || list.solver !== chain.solver.toLowerCase()) throw fail('another job or solver');
  if (list.specHash !== chain.specHash) throw fail('another spec');
  if (list.checkpoints.length !== chain.checkpoints) throw fail(`${list.checkpoints.length} checkpoints, the job has ${chain.checkpoints}`);
  const hashes = list.checkpoints.map((c) => c.stateHash);
  if (listRoot(chain.jobId, chain.solver, hashes) !== chain.root) throw fail('its leaves do not hash to the committed root');
  if (modelHashOf(hashes[hashes.length - 1]) !== chain.modelHash) throw fail('its last state is not the model hash');
}

/** The steps at which a job of `steps` steps with checkpoints every `interval` writes one. */
export function checkpointSteps(steps: number, interval: number): number[] {
  const out: number[] = [];
  for (let s = interval; s < steps; s += interval) out.push(s);
  out.push(steps);
  return out;
}
