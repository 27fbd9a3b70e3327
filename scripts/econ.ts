// The economics of cheating: the expected value of every cheating strategy under the deployment's
// stake, bond, fee and sampling parameters and the gas that scripts/gas.ts measures, and how each
// moves with the parameters. The model and its assumptions: docs/economics.md.
//
//   npm run econ [-- --json] [--deployment FILE] [--gas FILE] [--spec FILE] [--price VTT] [--collateral VTT]
//                [--verifiers K] [--samples M] [--gas-price GWEI] [--vtt-per-eth N] [--compute-share X]
//                [--deep-gas GAS]
//
// --json prints exactly one JSON object as the last stdout line. Without --gas the gas figures are
// measured now on a fresh anvil (~10 s); --gas takes a saved `npm run gas -- --json`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keccak256, toHex, type Address } from 'viem';
import { DEVNET_PARAMS, type DeployParams } from '../src/chain/deploy.ts';
import { readDeployment } from '../src/chain/deployment.ts';
import * as m from '../src/chain/market.ts';
import { InputError } from '../src/errors.ts';
import { loadSpecFile } from '../src/train/spec.ts';
import { measureGas, type GasReport } from './gas.ts';

const VTT = 1e18;

/** Everything a strategy's expected value depends on, in VTT (token amounts) and gas units. */
export interface EconInputs {
  /** Protocol parameters (a deployment's or DEVNET_PARAMS). */
  bond: number;
  noShowPenalty: number;
  feeBps: number;
  /** The job. */
  price: number;
  collateral: number;
  verifiers: number;
  samples: number;
  steps: number;
  interval: number;
  /** Market assumptions. */
  gasPriceGwei: number;
  vttPerEth: number;
  /** The solver's compute cost as a share of its pay. */
  computeShare: number;
  /** The optimizer update's share of a step's compute (a "wrong optimizer update" saves it). */
  optimizerShare: number;
  /** Gas of the dispute levels below the measured ones (steps → ops → scalar steps), both sides together. */
  deepGas: number;
  gas: GasFigures;
}

/** Gas units per party and action, from scripts/gas.ts. */
export interface GasFigures {
  solverHonest: number;
  verifierHonest: number;
  verifierCommitReveal: number;
  challengeOpen: number;
  /** Level 0 over `l0Leaves` leaves: per round (reveal + answer), the judge call, settle. */
  l0Leaves: number;
  l0RevealRound: number;
  l0AnswerRound: number;
  l0Judge: number;
  l0Settle: number;
  probeOpen: number;
  probeSteps: number;
  probeRevealRound: number;
  probeAnswerRound: number;
  probeJudge: number;
  probeSettle: number;
  withdraw: number;
}

export interface Strategy {
  name: string;
  party: 'solver' | 'verifier' | 'challenger';
  /** A known residual gain the protocol leaves (tiny by design), not a cheat the brief requires to be negative. */
  residual?: boolean;
  /** Expected gain over the honest alternative, VTT: negative means the strategy does not pay. */
  ev: number;
  /** Expected profit of the strategy itself, VTT. */
  evAbsolute: number;
  /** Probability that it is caught (1 where it cannot succeed). */
  pCaught: number;
  why: string;
}

const rounds = (n: number) => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
const choose = (n: number, k: number) => {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return r;
};

/** The numbers every strategy reads, derived once from the inputs. */
export function derive(x: EconInputs) {
  const n = m.checkpointCount(x.steps, x.interval);
  const drawn = Math.min(x.samples, n);
  const fee = (x.price * x.feeBps) / 10_000;
  const share = x.verifiers === 0 ? 0 : fee / x.verifiers;
  const pay = x.price - (x.verifiers === 0 ? 0 : fee);
  const compute = x.computeShare * pay;
  const perStep = compute / x.steps;
  const replay = drawn * x.interval * perStep; // a verifier replays its segments in full
  const gasVtt = (gas: number) => gas * x.gasPriceGwei * 1e-9 * x.vttPerEth;
  const g = x.gas;
  const deepSide = x.deepGas / 2;
  // A level-0 game over n leaves, a probe game over interval - 1 steps; each side's moves, played to the end.
  const l0Rounds = rounds(n), probeRounds = rounds(x.interval - 1);
  const l0Challenger = gasVtt(g.challengeOpen + l0Rounds * g.l0AnswerRound + deepSide);
  const l0Solver = gasVtt(l0Rounds * g.l0RevealRound + g.l0Judge + deepSide);
  const probeSolver = gasVtt(g.probeOpen + probeRounds * g.probeAnswerRound + deepSide);
  const probeVerifier = gasVtt(probeRounds * g.probeRevealRound + g.probeJudge + deepSide);
  /** P(no verifier samples any of f bad segments): each of k draws `drawn` distinct segments of n. */
  const escape = (f: number) => (x.verifiers === 0 ? 1 : (choose(n - f, drawn) / choose(n, drawn)) ** x.verifiers);
  return {
    n, drawn, share, pay, compute, perStep, replay, gasVtt, escape,
    solverGas: gasVtt(g.solverHonest),
    verifierGas: gasVtt(g.verifierHonest),
    commitRevealGas: gasVtt(g.verifierCommitReveal),
    withdrawGas: gasVtt(g.withdraw),
    l0Challenger, l0Solver, probeSolver, probeVerifier,
    l0Settle: gasVtt(g.l0Settle), probeSettle: gasVtt(g.probeSettle), challengeOpen: gasVtt(g.challengeOpen), probeOpen: gasVtt(g.probeOpen),
  };
}

/** The expected value of each strategy (docs/economics.md gives the reasoning behind each line). */
export function strategies(x: EconInputs): Strategy[] {
  const d = derive(x);
  const lost = d.pay + x.collateral; // what a caught solver forfeits: the pay and its collateral
  // A solver cheat that corrupts f segments and saves `saved` of compute: caught when a verifier
  // samples a bad segment (it then wins the level-0 game; the cheat goes silent, spending no more gas).
  const solverCheat = (name: string, f: number, saved: number, why: string): Strategy => {
    const pCaught = 1 - d.escape(f);
    return {
      name, party: 'solver', why, pCaught,
      ev: saved - pCaught * lost,
      evAbsolute: (1 - pCaught) * (d.pay - (d.compute - saved) - d.solverGas) - pCaught * (d.compute - saved + x.collateral + d.solverGas),
    };
  };
  // Skipping all steps of f segments saves f/n of the compute: the f that pays best is the one shown.
  let skip: Strategy | undefined;
  for (let f = 1; f <= d.n; f++) {
    const s = solverCheat(`skip steps (all steps of f = ${f} of ${d.n} segments, the worst f)`, f, (f / d.n) * d.compute, 'saves f/n of the compute; caught when any verifier samples one of the f segments');
    if (!skip || s.ev > skip.ev) skip = s;
  }
  const honestVerifier = d.share - d.replay - d.verifierGas;
  // A lazy verifier's guessed probe is disputed: the solver wins the bond for its own gas, so it disputes
  // whenever bond > its gas; the verifier cannot defend a guess and stops (its bond is slashed).
  // (A lazy verifier cannot win, so it stops at once: the solver's cost is opening and settling.)
  const solverDisputes = x.bond > d.probeOpen + d.probeSettle;
  const lazyAbs = solverDisputes ? -x.bond - d.commitRevealGas : d.share - d.commitRevealGas - d.withdrawGas;
  const noShowAbs = -x.noShowPenalty;
  const griefL0 = -x.bond - d.l0Challenger;
  const griefProbe = -x.bond - d.probeSolver;
  const out: Strategy[] = [
    solverCheat('fake work (random weights, no training)', d.n, d.compute, 'every segment fails its replay; any sampling verifier catches it'),
    solverCheat('flip one op output at one step', 1, 0, 'one segment fails its replay; saves nothing (a saboteur pays this to poison a model)'),
    skip!,
    solverCheat('wrong data batch at one step', 1, 0, 'one segment fails its replay; saves nothing'),
    solverCheat('wrong optimizer update at every step', d.n, x.optimizerShare * d.compute, 'saves the optimizer share of the compute; every segment fails'),
    {
      ...solverCheat("copy another solver's commitments", d.n, d.compute, ''),
      pCaught: 1,
      ev: d.compute - lost,
      evAbsolute: -x.collateral - d.solverGas,
      why: 'leaves bind (jobId, solver): every copied leaf is wrong for the copier, visible without any replay',
    },
    {
      name: 'lazy verifier (never replays, always agrees, guesses its probes)', party: 'verifier', pCaught: solverDisputes ? 1 : 0,
      ev: lazyAbs - honestVerifier, evAbsolute: lazyAbs,
      why: solverDisputes ? 'a guessed probe is wrong; the solver disputes it (the bond pays its gas) and takes the bond' : 'the bond does not cover the solver\'s dispute gas: nobody disputes',
    },
    {
      name: 'lazy verifier that never reveals (or never commits)', party: 'verifier', pCaught: 1,
      ev: noShowAbs - honestVerifier, evAbsolute: noShowAbs,
      why: 'a drawn verifier that does not reveal pays the no-show penalty and earns nothing',
    },
    {
      name: 'verifier that replays all but the last step of its segments', party: 'verifier', pCaught: 0, residual: true,
      ev: d.drawn * d.perStep, evAbsolute: honestVerifier + d.drawn * d.perStep,
      why: 'the probe is the state before each segment\'s last step: skipping that one step saves 1/interval of the replay (residual, see docs)',
    },
    {
      name: 'griefing challenger (challenges an honest result, plays every level)', party: 'challenger', pCaught: 1,
      ev: griefL0, evAbsolute: griefL0,
      why: `loses the bond to the solver; the solver's defence costs it ${fmt(d.l0Solver)} VTT of gas against the ${fmt(x.bond)} VTT bond it wins`,
    },
    {
      name: 'griefing solver (disputes an honest probe, plays every level)', party: 'solver', pCaught: 1,
      ev: griefProbe, evAbsolute: griefProbe,
      why: `loses its bond to the verifier; the verifier's defence costs it ${fmt(d.probeVerifier)} VTT of gas against the ${fmt(x.bond)} VTT it wins`,
    },
    {
      name: 'honest solver that goes silent mid-dispute', party: 'solver', pCaught: 1,
      ev: -lost - x.bond + d.l0Solver, evAbsolute: -x.collateral - d.compute - d.solverGas,
      why: 'loses by timeout: the collateral is slashed, the pay and the challenger\'s bond it would have won are gone; it saves only the gas of its remaining moves',
    },
    {
      name: 'challenger that goes silent mid-dispute (against a cheat)', party: 'challenger', pCaught: 1,
      ev: -(x.collateral / 2 + x.bond) + d.l0Challenger, evAbsolute: -x.bond - d.challengeOpen,
      why: 'loses by timeout: its bond goes to the cheat and the reward (half the collateral) is gone',
    },
    {
      name: 'verifier that goes silent in its probe dispute (honest probe)', party: 'verifier', pCaught: 1,
      ev: -2 * x.bond - d.share + d.probeVerifier, evAbsolute: -x.bond - d.replay - d.commitRevealGas,
      why: 'loses by timeout: its bond is slashed to the solver, it is not paid, and the solver\'s bond it would have won is gone',
    },
    {
      name: 'solver that goes silent in its probe dispute (wrong probe)', party: 'solver', pCaught: 1,
      ev: -2 * x.bond + d.probeSolver, evAbsolute: -x.bond - d.probeOpen,
      why: 'loses by timeout: its bond goes to the lazy verifier instead of winning the verifier\'s',
    },
  ];
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));

/** Each strategy's EV as one input moves; `values` are the input's settings. */
function sweep(x: EconInputs, key: keyof EconInputs, values: number[]) {
  return values.map((value) => ({ value, ev: Object.fromEntries(strategies({ ...x, [key]: value }).map((s) => [s.name, round6(s.ev)])) }));
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** The smallest value of `key` (scanning `grid`) at which every strategy's EV is negative. */
function breakEven(x: EconInputs, key: keyof EconInputs, grid: number[]): number | null {
  for (const v of grid) if (strategies({ ...x, [key]: v }).every((s) => s.residual || s.ev < 0)) return v;
  return null;
}

/** Gas figures of the flows, from a `npm run gas -- --json` report. */
export function gasFigures(r: GasReport): GasFigures {
  const { warm, withVerifiers: wv } = r.gas.honestLifecycle;
  const honest = r.gas.dispute.solverHonest;
  const lazy = r.gas.verifiers.probeLazyVerifier;
  const moves = (s: Record<string, number>, prefix: string) => Object.entries(s).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  const avg = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    // The solver claims, submits, finalizes and withdraws (the optional progress commit is left out).
    solverHonest: warm.claim + warm.submitResult + warm.finalize + warm.withdrawSolver,
    verifierHonest: wv.attest1 + wv.reveal1 + wv.withdrawVerifier1,
    verifierCommitReveal: wv.attest1 + wv.reveal1,
    challengeOpen: honest.challenge,
    l0Leaves: r.disputeLeaves,
    l0RevealRound: Math.max(...moves(honest, 'reveal')),
    l0AnswerRound: Math.max(...moves(honest, 'answer')),
    l0Judge: honest.callJudge,
    l0Settle: honest.settleDispute,
    probeOpen: lazy.disputeProbe,
    probeSteps: r.probeSteps.lazyVerifier,
    probeRevealRound: Math.max(avg(moves(lazy, 'reveal')), ...moves(lazy, 'reveal')),
    probeAnswerRound: Math.max(...moves(lazy, 'answer')),
    probeJudge: lazy.callJudge,
    probeSettle: lazy.settleProbeDispute,
    withdraw: warm.withdrawSolver,
  };
}

function paramsOfDeployment(file: string): DeployParams {
  const p = readDeployment(file).params;
  return {
    ...DEVNET_PARAMS,
    unbondingDelay: p.unbondingDelay,
    minSolverStake: BigInt(p.minSolverStake),
    minVerifierStake: BigInt(p.minVerifierStake),
    disputeBond: BigInt(p.disputeBond),
    noShowPenalty: BigInt(p.noShowPenalty),
    moveTimeout: p.moveTimeout,
    verifierFeeBps: p.verifierFeeBps,
    priorityWindow: p.priorityWindow,
    maxVerifiers: p.maxVerifiers,
    minChallengeWindow: p.minChallengeWindow,
    commitPeriod: p.commitPeriod,
    revealPeriod: p.revealPeriod,
    probeDisputePeriod: p.probeDisputePeriod,
  };
}

/**
 * The escape probability of a one-segment cheat, sampled with the contract's own probe draw
 * (probePositions = JobMarketBase._probes, tested equal on anvil) over `draws` random seeds.
 */
function sampledEscape(x: EconInputs, draws: number): number {
  const n = m.checkpointCount(x.steps, x.interval);
  let escaped = 0;
  for (let t = 0; t < draws; t++) {
    const seed = keccak256(toHex(`econ seed ${t}`));
    const bad = t % n; // the cheat's segment
    let caught = false;
    for (let v = 0; v < x.verifiers && !caught; v++) {
      const verifier = keccak256(toHex(`verifier ${v}`)).slice(0, 42) as Address;
      caught = m.probePositions({ seed, verifier, samples: x.samples, steps: x.steps, checkpointInterval: x.interval }).some((p) => p.segment === bad);
    }
    if (!caught) escaped++;
  }
  return escaped / draws;
}

export interface EconOptions {
  deployment?: string;
  gas?: string;
  spec?: string;
  price?: number;
  collateral?: number;
  verifiers?: number;
  samples?: number;
  gasPriceGwei?: number;
  vttPerEth?: number;
  computeShare?: number;
  deepGas?: number;
}

export async function econ(o: EconOptions = {}) {
  const params = o.deployment ? paramsOfDeployment(o.deployment) : DEVNET_PARAMS;
  const report: GasReport = o.gas ? (JSON.parse(readFileSync(o.gas, 'utf8').trim().split('\n').at(-1)!) as GasReport) : await measureGas(params);
  const specFile = o.spec ?? fileURLToPath(new URL('../examples/mnist-mlp.json', import.meta.url));
  const spec = loadSpecFile(specFile);
  const price = o.price ?? 100;
  const verifiers = o.verifiers ?? m.SAMPLING_DEFAULTS.verifiers;
  const x: EconInputs = {
    bond: Number(params.disputeBond) / VTT,
    noShowPenalty: Number(params.noShowPenalty) / VTT,
    feeBps: params.verifierFeeBps,
    price,
    collateral: o.collateral ?? Number(m.defaultCollateral(BigInt(Math.round(price * 1e6)) * 10n ** 12n, params.disputeBond)) / VTT,
    verifiers,
    samples: o.samples ?? m.defaultSamples(m.checkpointCount(spec.steps, spec.checkpointInterval), verifiers, params.verifierFeeBps),
    steps: spec.steps,
    interval: spec.checkpointInterval,
    gasPriceGwei: o.gasPriceGwei ?? 0.05,
    vttPerEth: o.vttPerEth ?? 3000,
    computeShare: o.computeShare ?? m.ASSUMED_COMPUTE_SHARE,
    optimizerShare: 0.1,
    deepGas: o.deepGas ?? 2_500_000,
    gas: gasFigures(report),
  };
  if (x.steps % x.interval === 1 || x.interval < 2) throw new InputError(`${specFile}: a verified job needs checkpointInterval >= 2 and steps % interval != 1`);
  const list = strategies(x);
  const d = derive(x);
  const scale = (base: number, fs: number[]) => fs.map((f) => round6(base * f));
  const sensitivity = {
    collateral: sweep(x, 'collateral', scale(x.collateral, [0, 0.25, 0.5, 1, 2, 4])),
    bond: sweep(x, 'bond', scale(x.bond, [0.1, 0.5, 1, 2, 4])),
    verifiers: sweep(x, 'verifiers', [1, 2, 3, 4, 8]),
    samples: sweep(x, 'samples', [1, 2, 3, 4, d.n]),
    feeBps: sweep(x, 'feeBps', [100, 500, 1000, 2000, 5000]),
    noShowPenalty: sweep(x, 'noShowPenalty', scale(x.noShowPenalty, [0, 0.5, 1, 2])),
    computeShare: sweep(x, 'computeShare', [0.1, 0.5, 0.9]),
    gasPriceGwei: sweep(x, 'gasPriceGwei', [0.01, 0.05, 1, 20, 100]),
  };
  const escapeTable = [1, 2, 3, 4].flatMap((k) => [1, 2, 3, 4].map((s) => ({ verifiers: k, samples: s, pEscapeOneSegment: round6(derive({ ...x, verifiers: k, samples: s }).escape(1)) })));
  const honest = {
    solverProfit: round6(d.pay - d.compute - d.solverGas),
    verifierProfit: round6(d.share - d.replay - d.verifierGas),
    challengerRewardVsCheat: round6(x.collateral / 2 - d.l0Challenger - d.l0Settle),
    solverNetAgainstGriefer: round6(x.bond - d.l0Solver - d.l0Settle),
    verifierNetAgainstGriefingSolver: round6(x.bond - d.probeVerifier - d.probeSettle),
  };
  const allNegative = list.filter((s) => !s.residual).every((s) => s.ev < 0);
  return {
    job: { spec: specFile, steps: x.steps, checkpointInterval: x.interval, checkpoints: d.n, price: x.price, collateral: x.collateral, verifiers: x.verifiers, samples: x.samples },
    protocol: {
      source: o.deployment ?? 'DEVNET_PARAMS',
      disputeBond: x.bond, noShowPenalty: x.noShowPenalty, verifierFeeBps: x.feeBps,
      verifierLock: Math.max(x.bond, x.noShowPenalty), minVerifierStake: Number(params.minVerifierStake) / VTT, minSolverStake: Number(params.minSolverStake) / VTT,
    },
    assumptions: {
      gasPriceGwei: x.gasPriceGwei, vttPerEth: x.vttPerEth, computeShare: x.computeShare, optimizerShare: x.optimizerShare,
      deepGas: x.deepGas, gasSource: o.gas ?? 'measured now (scripts/gas.ts measureGas)',
    },
    gas: x.gas,
    derived: {
      verifierShare: round6(d.share), solverPay: round6(d.pay), computeCost: round6(d.compute), replayCost: round6(d.replay),
      pEscapeOneSegment: round6(d.escape(1)), pEscapeOneSegmentSampled: round6(sampledEscape(x, 20_000)),
      gasVtt: { solverHonest: round6(d.solverGas), verifierHonest: round6(d.verifierGas), level0Challenger: round6(d.l0Challenger), level0Solver: round6(d.l0Solver), probeSolver: round6(d.probeSolver), probeVerifier: round6(d.probeVerifier) },
    },
    honest,
    strategies: list.map((s) => ({ ...s, ev: round6(s.ev), evAbsolute: round6(s.evAbsolute), pCaught: round6(s.pCaught) })),
    allNegative,
    escapeTable,
    breakEven: {
      minCollateral: breakEven(x, 'collateral', Array.from({ length: 401 }, (_, i) => i * 0.5)),
      minBond: breakEven(x, 'bond', Array.from({ length: 401 }, (_, i) => i * 0.25)),
      maxGasPriceGwei: (() => {
        // The gas price above which an honest solver loses money defending against a griefer.
        for (const gp of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200]) {
          const dd = derive({ ...x, gasPriceGwei: gp });
          if (x.bond - dd.l0Solver - dd.l0Settle < 0 || x.bond - dd.probeVerifier - dd.probeSettle < 0) return gp;
        }
        return null;
      })(),
    },
    sensitivity,
  };
}

function table(r: Awaited<ReturnType<typeof econ>>) {
  console.log(`job: ${r.job.spec} — ${r.job.steps} steps, ${r.job.checkpoints} checkpoints of ${r.job.checkpointInterval}, price ${r.job.price} VTT, collateral ${r.job.collateral} VTT, ${r.job.verifiers} verifiers × ${r.job.samples} samples`);
  console.log(`protocol (${r.protocol.source}): bond ${r.protocol.disputeBond} VTT, no-show penalty ${r.protocol.noShowPenalty} VTT, fee ${r.protocol.verifierFeeBps / 100}%`);
  console.log(`assumptions: gas ${r.assumptions.gasPriceGwei} gwei, ${r.assumptions.vttPerEth} VTT/ETH, compute ${r.assumptions.computeShare} of pay, deeper dispute levels ${r.assumptions.deepGas.toLocaleString('en')} gas`);
  console.log(`P(a one-segment cheat escapes sampling) = ${fmt(r.derived.pEscapeOneSegment)} (sampled with the contract's draw: ${fmt(r.derived.pEscapeOneSegmentSampled)})\n`);
  console.log(`${'strategy'.padEnd(78)} ${'party'.padEnd(10)} ${'P(caught)'.padStart(9)} ${'EV vs honest'.padStart(13)} ${'EV'.padStart(10)}`);
  for (const s of r.strategies) {
    console.log(`${(s.residual ? '(residual) ' : '') + s.name}`.slice(0, 78).padEnd(78) + ` ${s.party.padEnd(10)} ${fmt(s.pCaught).padStart(9)} ${fmt(s.ev).padStart(13)} ${fmt(s.evAbsolute).padStart(10)}`);
  }
  console.log(`\nhonest: solver ${fmt(r.honest.solverProfit)} VTT, verifier ${fmt(r.honest.verifierProfit)} VTT, challenger catching a cheat ${fmt(r.honest.challengerRewardVsCheat)} VTT`);
  console.log(`every cheating strategy negative: ${r.allNegative ? 'yes' : 'NO'}; break-even collateral ${r.breakEven.minCollateral} VTT, bond ${r.breakEven.minBond} VTT, an honest party's defence stops paying above ${r.breakEven.maxGasPriceGwei} gwei`);
  console.log('\nthe best-paying cheat (EV vs honest, VTT) as one parameter moves:');
  const residual = new Set(r.strategies.filter((s) => s.residual).map((s) => s.name));
  for (const [param, points] of Object.entries(r.sensitivity)) {
    const cells = points.map((p) => {
      const [name, ev] = Object.entries(p.ev).filter(([n]) => !residual.has(n)).sort((a, b) => b[1] - a[1])[0];
      return `${p.value}: ${fmt(ev)} (${name.split(' (')[0]})`;
    });
    console.log(`  ${param.padEnd(14)} ${cells.join('; ')}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({
    options: {
      json: { type: 'boolean' }, deployment: { type: 'string' }, gas: { type: 'string' }, spec: { type: 'string' }, price: { type: 'string' }, collateral: { type: 'string' },
      verifiers: { type: 'string' }, samples: { type: 'string' }, 'gas-price': { type: 'string' }, 'vtt-per-eth': { type: 'string' }, 'compute-share': { type: 'string' }, 'deep-gas': { type: 'string' },
    },
  });
  const num = (name: string, s: string | undefined, integer = false) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new InputError(`--${name} must be a non-negative ${integer ? 'integer' : 'number'}, got "${s}"`);
    return n;
  };
  try {
    const r = await econ({
      deployment: v.deployment, gas: v.gas, spec: v.spec, price: num('price', v.price), collateral: num('collateral', v.collateral),
      verifiers: num('verifiers', v.verifiers, true), samples: num('samples', v.samples, true), gasPriceGwei: num('gas-price', v['gas-price']),
      vttPerEth: num('vtt-per-eth', v['vtt-per-eth']), computeShare: num('compute-share', v['compute-share']), deepGas: num('deep-gas', v['deep-gas']),
    });
    if (v.json) process.stdout.write(JSON.stringify(r) + '\n');
    else table(r);
  } catch (e) {
    const err = e as Error & { hint?: string };
    if (v.json) process.stdout.write(JSON.stringify({ error: err.message, hint: err.hint }) + '\n');
    else console.error(`${err.name}: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
    process.exitCode = 1;
  }
}
