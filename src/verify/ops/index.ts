// The op table and the off-chain side of dispute levels 3 and 4 (docs/verification.md §4–5):
// given ONE op whose input commitments both parties agree on and whose output commitment is
// disputed, find the first wrong scalar step and prove it to contracts/verify/OpJudge.sol.
//
//   describe(record)            observer record (src/engine/trace.ts) → op descriptor
//   encodeDescriptor(kind, attrs, inputSpecs, outputSpec)   the bytes the program root hashes
//   encodeOp / decodeOp         descriptor ↔ the bytes the program root and the contract hold
//   compile(d)                  the element programs: E elements, S slots each, fetch(e, pc), result(e)
//   evaluateOp(d, inputs)       the op computed through its programs (what the judge enforces)
//   new OpProver(d, inputs)     states and leaves at any step, reveal, choose, judgeArgs
//   splitPoints(lo, hi, k)      the states a k-ary reveal names (as OpJudge.sol computes them)
//   recordingObserver(), opOf   a traced step's records with their values → (descriptor, inputs, output)
//
// Levels 3 and 4 are one game over T = E * S steps (IOpJudge.sol explains the state and leaf).
export {
  ATTRS, KIND, KIND_NAMES, NULL_AXIS, checkDescriptor, decodeOp, describe, describeSpecs, encodeDescriptor, encodeOp, sizeOf,
  type DType, type KindName, type OpDescriptor, type RecordLike, type TensorSpec, type ValueLike,
} from './descriptor.ts';
export { END, MOP, NO_JUMP, REGS, execute, isCompare, leafOf, uniformWord, type Instr, type MachineState, type Src } from './machine.ts';
export { broadcastIndex, compile, kernelRange, templateOf, type Compiled } from './programs.ts';
export { opOf, recordingObserver, type ResolvedRecord, type Value } from './collect.ts';
export { OpProver, elementValue, evaluateOp, partOf, pathLength, runElement, splitPoints, wordsOf, type Fault, type ProverOptions } from './prover.ts';
