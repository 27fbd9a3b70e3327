// The job spec: one declarative JSON document that says everything about a training job (model,
// data, optimizer, schedule, batch, steps, seed, checkpoint interval). Solvers run only what a
// spec can say; they never run code a stranger sent (DESIGN §6). Unknown fields are errors, so a
// typo cannot silently fall back to a default. See examples/*.json.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { canonicalJson } from '../canonical-json.ts';
import { InputError } from '../errors.ts';
import { sha256Hex, utf8 } from '../engine/hash.ts';
import { BUILTIN_DATASETS, datasetKind, type DatasetRef } from './data/load.ts';

export const SPEC_VERSION = 1;
export const MODEL_TYPES = ['mlp', 'cnn', 'gpt'] as const;
export const OPTIMIZER_TYPES = ['adamw', 'sgd'] as const;
export const DATASET_FORMATS = ['idx', 'csv', 'text'] as const;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const fraction = z.number().min(0).lt(1);
const path = z.string().min(1);
const sha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (a SHA-256)')
  .transform((s) => s.toLowerCase());

const model = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('mlp'),
    hidden: z.array(posInt).max(32),
    activation: z.enum(['relu', 'tanh', 'gelu']).default('relu'),
  }),
  z.strictObject({ type: z.literal('cnn'), arch: z.literal('lenet5').default('lenet5') }),
  z.strictObject({
    type: z.literal('gpt'),
    layers: posInt,
    dModel: posInt,
    heads: posInt,
    context: posInt,
    dropout: fraction.default(0),
  }),
]);

const pathDataset = z.discriminatedUnion('format', [
  z.strictObject({ format: z.literal('idx'), path, labelsPath: path, numClasses: posInt.optional(), sha256: sha256.optional() }),
  z.strictObject({ format: z.literal('csv'), path, labelColumn: z.string().min(1), numClasses: posInt.optional(), sha256: sha256.optional() }),
  z.strictObject({ format: z.literal('text'), path, sha256: sha256.optional() }),
]);
const dataset = z.union([z.strictObject({ builtin: z.enum(BUILTIN_DATASETS), sha256: sha256.optional() }), pathDataset]);

const optimizer = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('adamw'),
    lr: z.number().positive(),
    beta1: fraction.default(0.9),
    beta2: fraction.default(0.999),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().nonnegative().default(0),
  }),
  z.strictObject({
    type: z.literal('sgd'),
    lr: z.number().positive(),
    momentum: fraction.default(0),
    weightDecay: z.number().nonnegative().default(0),
  }),
]);

const schedule = z
  .strictObject({
    warmupSteps: nonNegInt.default(0),
    decay: z.enum(['none', 'cosine']).default('none'),
    minLrRatio: z.number().min(0).max(1).default(0),
  })
  .prefault({});

export const jobSpecSchema = z
  .strictObject({
    version: z.literal(SPEC_VERSION),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'use 1-100 letters, digits, ".", "_" or "-" (it names the run directory)'),
    model,
    dataset,
    testFraction: fraction.default(0.2),
    optimizer,
    schedule,
    gradClip: z.number().positive().nullable().default(null),
    batchSize: posInt.max(1 << 20),
    steps: posInt,
    seed: nonNegInt,
    checkpointInterval: posInt,
  })
  .superRefine((s, ctx) => {
    const kind = datasetKind(s.dataset as DatasetRef);
    if (s.model.type === 'gpt' && kind !== 'text') {
      ctx.addIssue({ code: 'custom', path: ['dataset'], message: 'model "gpt" needs a text dataset ({"builtin": "tiny-text"} or {"format": "text", ...})' });
    }
    if (s.model.type !== 'gpt' && kind !== 'classification') {
      ctx.addIssue({ code: 'custom', path: ['dataset'], message: `model "${s.model.type}" needs a classification dataset ({"builtin": "mnist-digits"}, idx or csv)` });
    }
    if (s.model.type === 'gpt' && s.model.dModel % s.model.heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['model', 'heads'], message: `dModel ${s.model.dModel} is not divisible by heads ${s.model.heads}` });
    }
    if (s.schedule.warmupSteps > s.steps) {
      ctx.addIssue({ code: 'custom', path: ['schedule', 'warmupSteps'], message: `warmup of ${s.schedule.warmupSteps} steps is longer than the ${s.steps} steps of the job` });
    }
  });

/** A validated job spec with every default filled in. */
export type JobSpec = z.output<typeof jobSpecSchema>;
export type ModelConfig = JobSpec['model'];
export type OptimizerSpec = JobSpec['optimizer'];
export type ScheduleSpec = JobSpec['schedule'];

// The dataset field must be exactly what the data layer loads.
const datasetFits = (d: JobSpec['dataset']): DatasetRef => d;
void datasetFits;

function pathText(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s === '' ? '(top level)' : s;
}

function at(input: unknown, p: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** One line per problem, each led by where it is. Unions report the branch the input meant. */
function describe(issues: readonly z.core.$ZodIssue[], input: unknown, prefix: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const p = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push(`${pathText([...p, k])}: unknown field "${k}"`);
    } else if (issue.code === 'invalid_union' && issue.errors.length === 0) {
      // A discriminated union found no branch for its tag.
      const tag = p[p.length - 1];
      const value = at(input, p);
      const parent = pathText(p.slice(0, -1));
      const known = tag === 'format' ? DATASET_FORMATS : parent === 'optimizer' ? OPTIMIZER_TYPES : MODEL_TYPES;
      out.push(
        value === undefined
          ? `${pathText(p)}: missing; one of ${known.join(', ')}`
          : `${pathText(p)}: unknown ${parent} ${String(tag)} ${JSON.stringify(value)}; known: ${known.join(', ')}`,
      );
    } else if (issue.code === 'invalid_union') {
      // The dataset union: {builtin} or a path with a format.
      const v = at(input, p);
      const hasBuiltin = v !== null && typeof v === 'object' && 'builtin' in v;
      const hasPath = v !== null && typeof v === 'object' && ('format' in v || 'path' in v);
      if (!hasBuiltin && !hasPath) {
        out.push(
          `${pathText(p)}: expected {"builtin": ${BUILTIN_DATASETS.map((b) => `"${b}"`).join(' | ')}} ` +
            `or {"format": ${DATASET_FORMATS.map((f) => `"${f}"`).join(' | ')}, "path": ...}`,
        );
      } else {
        out.push(...describe(issue.errors[hasBuiltin ? 0 : 1], input, p));
      }
    } else if (issue.code === 'invalid_type' && at(input, p) === undefined) {
      out.push(`${pathText(p)}: missing (expected ${issue.expected})`);
    } else {
      out.push(`${pathText(p)}: ${issue.message}`);
    }
  }
  return out;
}

/** Validate a job spec (JSON text or a parsed value); throws InputError listing every problem. */
export function parseSpec(input: unknown, source = 'job spec'): JobSpec {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new InputError(`${source} is not valid JSON`, { cause: e, details: (e as Error).message, hint: 'fix the JSON syntax' });
    }
  }
  const r = jobSpecSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = describe(r.error.issues, value);
  throw new InputError(`${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`, {
    details: '\n' + problems.map((l) => `  - ${l}`).join('\n'),
    hint: 'see examples/*.json for complete specs',
  });
}

/** Read and validate a job spec file. Relative dataset paths are relative to the file's folder. */
export function loadSpecFile(file: string): JobSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read job spec ${file}`, { cause: e, hint: 'check the path' });
  }
  return parseSpec(text, `job spec ${file}`);
}


/** The job's identity: SHA-256 (hex) of the canonical JSON of the validated spec, defaults filled in. */
export function specHash(spec: unknown): string {
  return sha256Hex(utf8(canonicalJson(parseSpec(spec))));
}

export { canonicalJson };
