// The job world of the market tests, gas and econ scripts: a manifest, the solver's checkpoint
// states and identity-bound leaves (docs/verification.md §3) as the devnet judges see them, and the
// two games played to their end — level 0 over checkpoint leaves (LeafJudge) and level 1 over the
// steps from a checkpoint to a probe (TestJudge, unrooted).
import { keccak256, toHex, type Address, type Hex } from 'viem';
import type { ChainClient } from '../src/chain/client.ts';
import { answer, callJudge, getGame, nextIndex, reveal } from '../src/chain/game.ts';
import { checkpointLeaf, manifestHash, type Manifest } from '../src/chain/market.ts';
import { merkleProof, merkleRoot } from '../src/chain/merkle.ts';
import { encodeAbiParameters } from 'viem';
import { honestLeaves } from './chain-leaves.ts';

const label = (s: string): Hex => keccak256(toHex(s));

/** A manifest whose six fields are hashes of labels. */
export function testManifest(name = 'job'): Manifest {
  return {
    specHash: label(`${name} spec`),
    datasetRoot: label(`${name} dataset`),
    initState: label(`${name} init`),
    dataOrder: label(`${name} order`),
    schedule: label(`${name} schedule`),
    program: label(`${name} program`),
  };
}

/**
 * The honest checkpoint states of the LeafJudge world: state[i] = keccak256(abi.encode(state[i-1],
 * uint48 i)), state[-1] = the manifest hash (the game's genesis).
 */
export function honestStates(manifest: Manifest, n: number): Hex[] {
  return honestLeaves(manifestHash(manifest), n);
}

/** The states a cheat commits: the honest ones up to `from`, made-up ones after. */
export function lyingStates(truth: readonly Hex[], from: number, tag = 'lie'): Hex[] {
  return truth.map((s, i) => (i >= from ? label(`${tag} ${i}`) : s));
}

export function leavesOf(jobId: bigint, solver: Address, states: readonly Hex[]): Hex[] {
  return states.map((s) => checkpointLeaf(jobId, solver, s));
}

/** What submitResult takes: the root over the identity-bound leaves and the last state hash. */
export function resultOf(jobId: bigint, solver: Address, states: readonly Hex[]): { root: Hex; modelHash: Hex } {
  return { root: merkleRoot(leavesOf(jobId, solver, states)), modelHash: states[states.length - 1] };
}

/**
 * Play a level-0 game (LeafJudge): the defender (solver) reveals its leaves, the challenger agrees
 * exactly when a revealed leaf is the honest one, the defender calls the judge with the state
 * preimages of the last step. Returns the final phase.
 */
export async function playCheckpointGame(
  defender: ChainClient,
  challenger: ChainClient,
  gameId: bigint,
  o: { jobId: bigint; solver: Address; genesis: Hex; states: readonly Hex[]; truth: readonly Hex[] },
): Promise<string> {
  const mine = leavesOf(o.jobId, o.solver, o.states);
  const honest = leavesOf(o.jobId, o.solver, o.truth);
  for (;;) {
    const g = await getGame(defender, gameId);
    if (g.phase === 'defender-moves') {
      const i = await nextIndex(defender, gameId);
      await reveal(defender, gameId, mine[i], merkleProof(mine, i));
    } else if (g.phase === 'challenger-moves') {
      await answer(challenger, gameId, g.revealed === honest[Math.floor((g.agreed + g.disputed) / 2) - 1]);
    } else if (g.phase === 'judging') {
      await callJudge(defender, gameId, leafJudgeProof(o.genesis, o.states, g.agreed));
    } else return g.phase;
  }
}

/** LeafJudge proof data for step `step`: abi.encode(preState, postState). */
export function leafJudgeProof(genesis: Hex, states: readonly Hex[], step: number): Hex {
  const pre = step === 0 ? genesis : states[step - 1];
  return encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [pre, states[step]]);
}

/** The TestJudge world of a probe game: the states after 1..n steps from `pre`. */
export function stepStates(pre: Hex, n: number): Hex[] {
  return honestLeaves(pre, n);
}

/**
 * Play a level-1 (probe) game: the defender (verifier) reveals states from `mine` with no proof (the
 * game has no root), the challenger (solver) agrees exactly when a revealed state is in `truth`,
 * then the defender calls the TestJudge. Returns the final phase.
 */
export async function playStepGame(defender: ChainClient, challenger: ChainClient, gameId: bigint, mine: readonly Hex[], truth: readonly Hex[]): Promise<string> {
  for (;;) {
    const g = await getGame(defender, gameId);
    if (g.phase === 'defender-moves') {
      const i = await nextIndex(defender, gameId);
      await reveal(defender, gameId, mine[i], []);
    } else if (g.phase === 'challenger-moves') {
      await answer(challenger, gameId, g.revealed === truth[Math.floor((g.agreed + g.disputed) / 2) - 1]);
    } else if (g.phase === 'judging') {
      await callJudge(defender, gameId);
    } else return g.phase;
  }
}
