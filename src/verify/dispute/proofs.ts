// The leaves each dispute level bisects over and the proof data of each judge call, as the
// contracts decode them (contracts/verify/CheckpointJudge.sol, StepJudge.sol). Pure functions of
// a party's own data; the driver (driver.ts) sends them.
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import { InputError } from '../../errors.ts';
import { tensorTree } from '../../train/commit.ts';
import type { Manifest, ManifestDetails } from '../manifest.ts';
import { hex, MerkleTree } from '../merkle.ts';
import { finalLeaf, memoryBefore, type Program, type StepTrace } from '../trace.ts';

const b32 = { type: 'bytes32' } as const;
const b32s = { type: 'bytes32[]' } as const;
const MANIFEST_TUPLE = {
  type: 'tuple',
  components: ['specHash', 'datasetRoot', 'initState', 'dataOrder', 'schedule', 'program'].map((name) => ({ name, type: 'bytes32' })),
} as const;

/** Level 0: leaf_i = keccak256(abi.encode(jobId, solver, stateHash_i)) (docs §3). */
export function checkpointLeaf(jobId: bigint, solver: Address, stateHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, b32], [jobId, solver, stateHash]));
}

/** Level 0 judge call: the state hashes inside the agreed and the disputed leaf (and the manifest for checkpoint 0). */
export function checkpointProof(preState: Hex, postState: Hex, m: Manifest): Hex {
  return encodeAbiParameters([b32, b32, MANIFEST_TUPLE], [preState, postState, { ...m }]);
}

const STEP_PROOF = {
  type: 'tuple',
  components: [
    { ...MANIFEST_TUPLE, name: 'm' },
    { name: 'pre', type: 'bytes' },
    { name: 'post', type: 'bytes' },
    { name: 'program', type: 'tuple', components: [{ name: 'S', type: 'uint32' }, { name: 'I', type: 'uint32' }, { name: 'nOps', type: 'uint32' }, { name: 'opsRoot', type: 'bytes32' }] },
    {
      name: 'inputs',
      type: 'tuple',
      components: [
        { name: 'data', type: 'bytes32[]' }, { name: 'batch', type: 'bytes32' }, { name: 'batchProof', type: 'bytes32[]' },
        { name: 'epochAfter', type: 'uint64' }, { name: 'schedule', type: 'bytes32[]' }, { name: 'scheduleProof', type: 'bytes32[]' },
      ],
    },
  ],
} as const;

/** The step (0-based) a state preimage is the state before: its header's step counter. */
export function stepOfPreimage(pre: Uint8Array): number {
  const dv = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  return dv.getUint32(51, true) + dv.getUint32(55, true) * 2 ** 32;
}

/** Level 1 judge call: the state preimages around the step and the step's inputs from the manifest. */
export function stepProof(d: ManifestDetails, pre: Uint8Array, post: Uint8Array): Hex {
  const s = stepOfPreimage(pre);
  if (s >= d.steps) throw new InputError(`step ${s} is outside the job's ${d.steps} steps`);
  const e = d.scheduleEntry(s);
  const p = d.program;
  return encodeAbiParameters([STEP_PROOF], [{
    m: { ...d.manifest },
    pre: hex(pre),
    post: hex(post),
    program: { S: p.stateNames.length, I: p.inputNames.length, nOps: p.ops.length, opsRoot: hex(p.root) },
    inputs: {
      data: d.dataCommits.map(hex),
      batch: hex(d.dataOrder.leaf(s)),
      batchProof: d.dataOrder.proof(s).map(hex),
      epochAfter: BigInt(e.epochAfter),
      schedule: e.commits.map(hex),
      scheduleProof: d.schedule.proof(s).map(hex),
    },
  }]);
}

/** Level 2 leaves of a traced step: the memory root after each op, the last one the state part only. */
export function level2Leaves(t: StepTrace): Hex[] {
  const n = t.program.ops.length;
  return t.memRoots.map((r, i) => hex(i === n - 1 ? finalLeaf(t.finalStateRoot) : r));
}

const OP_PROOF = {
  type: 'tuple',
  components: [
    { name: 'descriptor', type: 'bytes' }, { name: 'inSlots', type: 'uint32[]' }, { name: 'outSlot', type: 'uint32' },
    { name: 'programProof', ...b32s }, { name: 'stateRoot', ...b32 }, { name: 'opsRoot', ...b32 },
    { name: 'inputs', ...b32s }, { name: 'inputProofs', type: 'bytes32[][]' }, { name: 'oldOutput', ...b32 },
    { name: 'outputProof', ...b32s }, { name: 'output', ...b32 }, { name: 'outputRoot', ...b32 },
  ],
} as const;

const programTrees = new WeakMap<Program, MerkleTree>();
function programTree(p: Program): MerkleTree {
  let t = programTrees.get(p);
  if (!t) programTrees.set(p, (t = new MerkleTree(p.ops.map((o) => o.leaf))));
  return t;
}

/**
 * Level 2 judge call for op j of a traced step: the op's program leaf, the agreed memory's subtrees
 * and input openings, the output slot's path and the claimed output commitment with its root.
 * `outputRoot` is the Merkle root inside the output commitment (tensorTree of the claimed output).
 */
export function opProof(t: StepTrace, j: number, outputRoot: Uint8Array): Hex {
  const p = t.program, op = p.ops[j];
  if (!op) throw new InputError(`op ${j} out of range for ${p.ops.length} ops`);
  const S = p.stateNames.length;
  const m = memoryBefore(t, j);
  const open = (slot: number) => (slot < S ? { leaf: m.state.leaf(slot), proof: m.state.proof(slot) } : { leaf: m.ops.leaf(slot - S), proof: m.ops.proof(slot - S) });
  const ins = op.inSlots.map(open);
  const out = open(op.outSlot);
  return encodeAbiParameters([OP_PROOF], [{
    descriptor: hex(op.descriptor),
    inSlots: op.inSlots,
    outSlot: op.outSlot,
    programProof: programTree(p).proof(j).map(hex),
    stateRoot: hex(m.state.root),
    opsRoot: hex(m.ops.root),
    inputs: ins.map((x) => hex(x.leaf)),
    inputProofs: ins.map((x) => x.proof.map(hex)),
    oldOutput: hex(out.leaf),
    outputProof: out.proof.map(hex),
    output: hex(t.outCommits[j]),
    outputRoot: hex(outputRoot),
  }]);
}

/** The Merkle root inside a tensor's commitment. */
export function outputRootOf(shape: readonly number[], data: Float32Array | Int32Array): Uint8Array {
  return tensorTree(shape, data).root;
}
