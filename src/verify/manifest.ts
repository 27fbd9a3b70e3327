// The manifest (docs/verification.md §1): what a job commits to besides its spec, computed from the
// spec and the dataset alone. Its hash is the job's `inputs` on chain; every solver and verifier
// recomputes it before it claims or verifies and refuses a job whose manifest differs.
//
//   specHash     canonical JSON hash of the spec
//   datasetRoot  keccak256(commit(data.x) ‖ commit(data.y)) or keccak256(commit(data.tokens)):
//                the tensor commitments (train/commit.ts) of the training split, in slot order
//   initState    state hash (v2) of the state before step 0
//   dataOrder    Merkle root over the steps of commit(batch input of step s): example indices or
//                window starts (u32)
//   schedule     Merkle root over the steps of keccak256(abi.encode(uint64 s, uint64 epochAfter,
//                bytes32[] commits of the step's schedule inputs, by name)) (step-inputs.ts)
//   program      keccak256(abi.encode(uint32 S, uint32 I, uint32 nOps, bytes32 root)): the shape of a
//                step's memory and the Merkle root over its op leaves (trace.ts programHash)
// manifestHash = keccak256(abi.encode(specHash, datasetRoot, initState, dataOrder, schedule, program)).
import { encodeAbiParameters, keccak256, type Hex } from 'viem';
import { InputError } from '../errors.ts';
import type { JobSpec } from '../train/spec.ts';
import { prepareJob, stateHashOf, type Job } from '../train/train.ts';
import { hex, keccak, MerkleTree } from './merkle.ts';
import { batchInput, commitOf, dataInputs, epochAfter, scheduleInputs } from './step-inputs.ts';
import { programHash, traceStep, type Program } from './trace.ts';

export interface Manifest {
  specHash: Hex;
  datasetRoot: Hex;
  initState: Hex;
  dataOrder: Hex;
  schedule: Hex;
  program: Hex;
}

export const MANIFEST_FIELDS = ['specHash', 'datasetRoot', 'initState', 'dataOrder', 'schedule', 'program'] as const;

/** The manifest and the trees behind it: what a party needs to answer any judge's question. */
export interface ManifestDetails {
  manifest: Manifest;
  hash: Hex;
  steps: number;
  program: Program;
  dataCommits: Uint8Array[];
  dataOrder: MerkleTree;
  schedule: MerkleTree;
  /** The preimage of each schedule leaf: the epoch after the step and the input commitments. */
  scheduleEntry(step: number): { epochAfter: number; commits: Uint8Array[] };
}

const b32 = { type: 'bytes32' } as const;

export function manifestHash(m: Manifest): Hex {
  return keccak256(encodeAbiParameters([b32, b32, b32, b32, b32, b32], [m.specHash, m.datasetRoot, m.initState, m.dataOrder, m.schedule, m.program]));
}

export function scheduleLeaf(step: number, epoch: number, commits: readonly Uint8Array[]): Uint8Array {
  const enc = encodeAbiParameters([{ type: 'uint64' }, { type: 'uint64' }, { type: 'bytes32[]' }], [BigInt(step), BigInt(epoch), commits.map(hex)]);
  return keccak(Buffer.from(enc.slice(2), 'hex'));
}

export function datasetRootOf(commits: readonly Uint8Array[]): Uint8Array {
  return keccak(...commits);
}

/**
 * Compute the manifest of `spec` (dataset paths relative to `baseDir`). Costs one traced step (the
 * program) and a pass over the steps' batch indices and schedule constants; trains nothing else.
 */
export function computeManifest(spec: JobSpec, baseDir: string, job: Job = prepareJob(spec, baseDir)): ManifestDetails {
  const steps = spec.steps;
  const dataCommits = dataInputs(job).map((d) => commitOf(d.value, true));
  const orderLeaves: Uint8Array[] = [];
  const scheduleLeaves: Uint8Array[] = [];
  const entries: { epochAfter: number; commits: Uint8Array[] }[] = [];
  for (let s = 0; s < steps; s++) {
    orderLeaves.push(commitOf(batchInput(job, s).value));
    const e = { epochAfter: epochAfter(job, s), commits: scheduleInputs(job, s).map((x) => commitOf(x.value)) };
    entries.push(e);
    scheduleLeaves.push(scheduleLeaf(s, e.epochAfter, e.commits));
  }
  const initState = `0x${stateHashOf(job, 0)}` as Hex;
  // The program: the op trace of step 0 (a scratch job: this trains it one step).
  const program = traceStep(job, 0, { commits: false }).program;
  const dataOrder = new MerkleTree(orderLeaves);
  const schedule = new MerkleTree(scheduleLeaves);
  const manifest: Manifest = {
    specHash: `0x${job.specHash}`,
    datasetRoot: hex(datasetRootOf(dataCommits)),
    initState,
    dataOrder: hex(dataOrder.root),
    schedule: hex(schedule.root),
    program: hex(programHash(program)),
  };
  return {
    manifest,
    hash: manifestHash(manifest),
    steps,
    program,
    dataCommits,
    dataOrder,
    schedule,
    scheduleEntry: (step) => {
      const e = entries[step];
      if (!e) throw new InputError(`step ${step} is outside the job's ${steps} steps`);
      return e;
    },
  };
}

/**
 * Refuse a job whose posted manifest (or manifest hash) is not the one its spec and dataset give.
 * Returns the recomputed details when they match.
 */
export function checkManifest(posted: Manifest | Hex, spec: JobSpec, baseDir: string): ManifestDetails {
  const d = computeManifest(spec, baseDir);
  if (typeof posted === 'string') {
    if (posted.toLowerCase() !== d.hash) {
      throw new InputError('the job\'s manifest hash does not match its spec and dataset', {
        details: `posted ${posted}, recomputed ${d.hash}`,
        hint: 'do not claim or verify this job: its inputs commit to something else than the spec says (wrong data, program or schedule)',
      });
    }
    return d;
  }
  const wrong = MANIFEST_FIELDS.filter((k) => posted[k].toLowerCase() !== d.manifest[k]);
  if (wrong.length > 0) {
    throw new InputError(`the job's manifest does not match its spec and dataset: ${wrong.join(', ')} differ${wrong.length === 1 ? 's' : ''}`, {
      details: wrong.map((k) => `${k}: posted ${posted[k]}, recomputed ${d.manifest[k]}`).join('; '),
      hint: 'do not claim or verify this job; the submitter must post the manifest that computeManifest gives',
    });
  }
  return d;
}
