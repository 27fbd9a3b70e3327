// Gas of one on-chain binary32 op (contracts/verify/SoftFloat32.sol), per opcode, measured on anvil
// with gasleft() around the library call (SoftFloat32GasMeter): the op alone, no call overhead.
// Operands: typical values (normal, |x| in [2^-20, 2^20]) and a worst-case set (subnormals,
// ties, specials); the figure a referee's final call pays is the max.
//
//   node scripts/softfloat-gas.ts [--json]     (--json: the last stdout line is one JSON object)
import { encodeFunctionData } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { devAccount } from '../src/chain/client.ts';
import { deployFloat32Judge, deployVerifyContract } from '../src/chain/float32-judge.ts';
import { rngStream, randomU32s } from '../src/engine/rng.ts';
import { OP, OP_NAMES, UNARY } from '../src/verify/scalar.ts';

const json = process.argv.includes('--json');
const SAMPLES = 64;

// Hard cases for the integer paths: subnormals, a rounding tie, min normal, max finite, 2^24 + 1.
const HARD: [number, number][] = [
  [0x00000001, 0x00000003], [0x007fffff, 0x3f800001], [0x4b800000, 0x3f800000], [0x7f7fffff, 0x73000000],
  [0x00400000, 0x7f7fffff], [0x3f800001, 0x00000001], [0x01000001, 0xc3150000], [0x80000001, 0x4b000000],
];

function typicalPairs(op: number): [number, number][] {
  const w = randomU32s(rngStream(1, `softfloat-gas/${OP_NAMES[op]}`), 0, 4 * SAMPLES);
  const pairs: [number, number][] = [];
  for (let i = 0; i < SAMPLES; i++) {
    // sign, exponent in [-20, 20], random significand
    const x = (k: number) => ((w[k] & 0x80000000) | ((107 + (w[k + 1] % 41)) << 23) | (w[k] & 0x7fffff)) >>> 0;
    let a = x(4 * i), b = x(4 * i + 2);
    if (op === OP.sqrt || op === OP.logb || op === OP.significand) a &= 0x7fffffff;
    if (op === OP.ldexp) b = [0x41a00000, 0xc1a00000, 0x40400000, 0xc2fe0000][i % 4]; // 20, -20, 3, -127
    if (op === OP.i2f) a = w[4 * i] >> (w[4 * i + 1] % 31); // int32s of every size
    if (UNARY.has(op)) b = 0;
    pairs.push([a >>> 0, b >>> 0]);
  }
  return pairs;
}

const anvil = await startAnvil();
try {
  const meter = await deployVerifyContract(anvil.url, 'SoftFloat32GasMeter');
  const judge = await deployFloat32Judge(anvil.url);
  const client = meter.client;

  const opGas = async (op: number, a: number, b: number) => {
    const r = (await client.readContract({ address: meter.address, abi: meter.abi, functionName: 'measure', args: [op, a, b] })) as [number, bigint];
    return Number(r[1]);
  };

  const perOp: Record<string, { typical: number; max: number }> = {};
  for (let op = 0; op < OP_NAMES.length; op++) {
    const typical: number[] = [];
    for (const [a, b] of typicalPairs(op)) typical.push(await opGas(op, a, b));
    let max = Math.max(...typical);
    for (const [a, b] of HARD) max = Math.max(max, await opGas(op, a, UNARY.has(op) ? 0 : b));
    typical.sort((x, y) => x - y);
    perOp[OP_NAMES[op]] = { typical: typical[typical.length >> 1], max };
  }

  // A whole transaction calling Float32Judge.compute(add, 1.5, 2.25), for scale: base cost,
  // calldata, dispatch and ABI decoding included.
  const data = encodeFunctionData({ abi: judge.abi, functionName: 'compute', args: [OP.add, 0x3fc00000, 0x40100000] });
  const computeTxGas = Number(await client.estimateGas({ account: devAccount(0), to: judge.address, data }));

  const maxOpGas = Math.max(...Object.values(perOp).map((g) => g.max));
  {
    console.log('gas of one SoftFloat32 op (gasleft() around the library call; typical = median of 64 normal operand pairs)');
    console.log('op'.padEnd(13) + 'typical'.padStart(8) + 'max'.padStart(8));
    for (const [name, g] of Object.entries(perOp)) console.log(name.padEnd(13) + String(g.typical).padStart(8) + String(g.max).padStart(8));
    console.log(`max over ops: ${maxOpGas}; a whole compute(add) transaction: ${computeTxGas}`);
  }
  if (json) console.log(JSON.stringify({ softfloatGas: perOp, maxOpGas, computeTxGas }));
} finally {
  await anvil.stop();
}
