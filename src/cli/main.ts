#!/usr/bin/env node
// veritrain command line. Every command accepts --json and then prints exactly one JSON object as
// the last line of stdout; human output (progress, plots) goes to stderr or precedes it.
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { VeritrainError, InputError } from '../errors.ts';
import { setBackend, getBackend } from '../engine/kernels/current.ts';
import { createWasmBackend } from '../engine/kernels/wasm/index.ts';
import { CHAIN_OPTIONS, CHAIN_USAGE } from './chain.ts';
import { NODE_OPTIONS, NODE_USAGE } from './node.ts';
import { JOB_OPTIONS, JOB_USAGE } from './job.ts';
import { DEVNET_NODE_OPTIONS, DEVNET_NODE_USAGE, wantsNodes } from './devnet.ts';
import { DEMO_OPTIONS } from './demo.ts';

const USAGE = `veritrain — verifiable, bit-reproducible ML training

Usage:
  veritrain train <spec.json> [--workers N] [--steps N] [--out DIR] [--json] [--quiet]
  veritrain replay <spec.json> --from <checkpoint> --steps N [--workers N] [--json]
  veritrain eval <spec.json> <checkpoint> [--json]
  veritrain demo [--steps N] [--out DIR] [--keep] [--json]
                a network on this machine (chain + 3 solvers + 2 verifiers) runs one MNIST job
                end to end; the verified model lands in DIR (default runs/demo-<time>)

Options:
  --workers N   threads for the matmul kernels (results are identical for any N)
  --steps N     train to N steps in total (train), or replay N steps (replay)
  --out DIR     run directory; a run found there is resumed (default runs/<spec name>)
  --json        print one JSON object as the last line of stdout
  --quiet       no progress bar
${CHAIN_USAGE}${DEVNET_NODE_USAGE}${NODE_USAGE}${JOB_USAGE}`;

export interface CliContext {
  json: boolean;
  quiet: boolean;
  workers: number;
  out?: string;
  steps?: number;
  from?: string;
  positionals: string[];
  /** Human-readable output (to stdout without --json, to stderr with it). */
  say: (s: string) => void;
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        workers: { type: 'string' },
        steps: { type: 'string' },
        out: { type: 'string' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        ...CHAIN_OPTIONS,
        ...NODE_OPTIONS,
        ...JOB_OPTIONS,
        ...DEVNET_NODE_OPTIONS,
        ...DEMO_OPTIONS,
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  const json = values.json ?? false;
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
    return cmd || values.help ? 0 : 2;
  }
  const ctx: CliContext = {
    json,
    quiet: values.quiet ?? false,
    workers: 1,
    out: values.out === undefined ? undefined : resolve(values.out),
    from: values.from === undefined ? undefined : resolve(values.from),
    positionals: rest,
    say: (s) => (json ? process.stderr : process.stdout).write(s + '\n'),
  };
  try {
    ctx.steps = intOption('steps', values.steps);
    const workers = intOption('workers', values.workers) ?? Math.min(2, availableParallelism());
    if (workers < 1 || workers > 64) throw new InputError(`--workers must be 1..64, got ${workers}`);
    ctx.workers = workers;
    // Only the commands that compute here start the kernels' worker threads; the others (a node
    // daemon above all) load no engine code: their training runs in compute worker processes.
    if (cmd === 'train' || cmd === 'replay' || cmd === 'eval') setBackend(await createWasmBackend({ threads: workers }));
    let result: Record<string, unknown>;
    switch (cmd) {
      case 'train': result = await (await import('./train.ts')).cmdTrain(ctx); break;
      case 'replay': result = await (await import('./train.ts')).cmdReplay(ctx); break;
      case 'eval': result = await (await import('./train.ts')).cmdEval(ctx); break;
      case 'demo': result = await (await import('./demo.ts')).cmdDemo(ctx, values); break;
      case 'devnet':
        result = wantsNodes(values) ? await (await import('./devnet.ts')).cmdDevnetNodes(ctx, values) : await (await import('./chain.ts')).cmdDevnet(ctx, values);
        break;
      case 'deploy': result = await (await import('./chain.ts')).cmdDeploy(ctx, values); break;
      case 'faucet': result = await (await import('./chain.ts')).cmdFaucet(ctx, values); break;
      case 'stake': result = await (await import('./chain.ts')).cmdStake(ctx, values); break;
      case 'chain': result = await (await import('./chain.ts')).cmdChain(ctx, values); break;
      case 'node': result = await (await import('./node.ts')).cmdNode(ctx, values); break;
      case 'job': result = await (await import('./job.ts')).cmdJob(ctx, values); break;
      default:
        throw new InputError(`unknown command "${cmd}"`, { hint: 'run veritrain --help' });
    }
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } catch (e) {
    const err = e instanceof VeritrainError
      ? { name: e.name, message: e.shortMessage, details: e.details, hint: e.hint }
      : { name: 'InternalError', message: (e as Error)?.message ?? String(e) };
    process.stderr.write(`\nerror: ${e instanceof VeritrainError ? e.message : (e as Error)?.stack ?? e}\n`);
    if (json) process.stdout.write(JSON.stringify({ error: err }) + '\n');
    return 1;
  } finally {
    await getBackend().close?.();
  }
}

process.exitCode = await main(process.argv.slice(2));
