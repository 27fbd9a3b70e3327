// deployment.json: where the contracts live on which chain, validated with zod on every read.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Address } from 'viem';
import { DeploymentError } from './errors.ts';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address').transform((s) => s as Address);
const wei = z.string().regex(/^\d+$/, 'expected a decimal integer string (wei)');
const seconds = z.number().int().nonnegative();

export const deploymentSchema = z.strictObject({
  /** 2: the market with verifier rounds (two judges, commit-reveal periods); 1 files are refused. */
  version: z.literal(2, { error: 'this deployment file is from before the verifier rounds (version 1): redeploy (delete the devnet data dir, or veritrain deploy)' }),
  chainId: z.number().int().positive(),
  rpcUrl: z.url(),
  deployer: address,
  /** First block holding the contracts: event queries start here. */
  deployedAtBlock: z.number().int().nonnegative(),
  contracts: z.strictObject({
    token: address,
    registry: address,
    staking: address,
    reputation: address,
    game: address,
    /** The market's level-1 judge (a probe game's steps). */
    judge: address,
    /** The market's level-0 judge (the checkpoint game). */
    checkpointJudge: address,
    market: address,
    /** With the verification judges: the op judge (levels 3+4) and its programs. */
    opJudge: address.optional(),
    opJudgePrograms: address.optional(),
  }),
  /** "VeriToken" when deployed with the contracts, "external" for an existing ERC-20. */
  tokenKind: z.enum(['VeriToken', 'external']),
  /** "TestJudge" (hash-chain steps, for tests and the default devnet), "StepJudge" (the verification layer's) or "external". */
  judgeKind: z.enum(['TestJudge', 'StepJudge', 'external']),
  /** "LeafJudge" (identity-bound hash-chain leaves, tests and the default devnet), "CheckpointJudge" or "external". */
  checkpointJudgeKind: z.enum(['LeafJudge', 'CheckpointJudge', 'external']),
  params: z.strictObject({
    faucetAmount: wei,
    unbondingDelay: seconds,
    minSolverStake: wei,
    minVerifierStake: wei,
    disputeBond: wei,
    noShowPenalty: wei,
    moveTimeout: seconds,
    verifierFeeBps: z.number().int().min(0).max(10_000),
    priorityWindow: seconds,
    maxVerifiers: z.number().int().min(0).max(16),
    minChallengeWindow: seconds,
    commitPeriod: seconds,
    revealPeriod: seconds,
    probeDisputePeriod: seconds,
  }),
  solc: z.string(),
});

export type Deployment = z.infer<typeof deploymentSchema>;

/** Parse and check a deployment object; errors name the offending field. */
export function parseDeployment(value: unknown, source = 'deployment'): Deployment {
  const r = deploymentSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new DeploymentError(`${source} is not a valid deployment file`, {
      details: issues,
      hint: 'write it with `veritrain deploy` or `veritrain devnet up`',
    });
  }
  return r.data;
}

export function readDeployment(path: string): Deployment {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DeploymentError(`cannot read deployment file ${path}`, {
      details: (e as Error).message,
      hint: 'start a devnet (veritrain devnet up) or deploy (veritrain deploy --rpc <url>), then pass --deployment <file>',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DeploymentError(`${path} is not JSON`, { details: (e as Error).message });
  }
  return parseDeployment(json, path);
}

/** Write atomically (temp file + rename): a reader never sees half a file. */
export function writeDeployment(path: string, d: Deployment): void {
  const checked = parseDeployment(d);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(checked, null, 2) + '\n');
  renameSync(tmp, path);
}
