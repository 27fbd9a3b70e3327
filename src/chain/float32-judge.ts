// Float32Judge (contracts/verify) on a chain: deploy it and ask it for binary32 results. The
// dispute game's referee runs the SoftFloat32 library inside its own contract; this is for
// off-chain checks (eth_call), the soft-float test and the gas figure.
import { createPublicClient, createWalletClient, decodeFunctionResult, encodeFunctionData, http, type Abi, type Address, type Hex } from 'viem';
import { chainOf, devAccount } from './client.ts';
import { CONTRACTS_DIR, artifactOf, compileSolidity, loadContractSources, type Artifacts } from './compile.ts';

/** Gas for one eth_call of computeBatch: ~1.5k per pair, so 10^10 leaves room for any batch anvil accepts. */
const BATCH_CALL_GAS = 10n ** 10n;

/** contracts/verify with contracts/core, which the level 0–2 judges there import. */
export function compileVerifyContracts(): Promise<Artifacts> {
  return compileSolidity(loadContractSources(CONTRACTS_DIR, ['verify/', 'core/']));
}

export interface VerifyContract {
  address: Address;
  abi: Abi;
  client: ReturnType<typeof createPublicClient>;
}

/** Deploy one contracts/verify contract on a devnet (anvil's first dev account pays). */
export async function deployVerifyContract(rpcUrl: string, name: string): Promise<VerifyContract> {
  const art = artifactOf(await compileVerifyContracts(), name);
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chain = chainOf(await probe.getChainId(), rpcUrl);
  const client = createPublicClient({ chain, transport: http(rpcUrl, { timeout: 300_000, retryCount: 0 }), pollingInterval: 20 });
  const wallet = createWalletClient({ chain, account: devAccount(0), transport: http(rpcUrl) });
  const hash = await wallet.deployContract({ abi: art.abi, bytecode: art.bytecode });
  const address = (await client.waitForTransactionReceipt({ hash })).contractAddress!;
  return { address, abi: art.abi, client };
}

export interface Float32Judge extends VerifyContract {
  /** compute(op, a, b): one result word. */
  compute(op: number, a: number, b: number): Promise<number>;
  /** computeBatch: `pairs` is a0 b0 a1 b1 ...; one result word per pair. */
  computeBatch(op: number, pairs: Uint32Array): Promise<Uint32Array>;
}

export async function deployFloat32Judge(rpcUrl: string): Promise<Float32Judge> {
  const c = await deployVerifyContract(rpcUrl, 'Float32Judge');
  const { address, abi, client } = c;
  return {
    ...c,
    async compute(op, a, b) {
      return Number(await client.readContract({ address, abi, functionName: 'compute', args: [op, a, b] }));
    },
    async computeBatch(op, pairs) {
      const buf = Buffer.allocUnsafe(pairs.length * 4);
      for (let i = 0; i < pairs.length; i++) buf.writeUInt32BE(pairs[i], i * 4); // big-endian, as the contract reads them
      const data = encodeFunctionData({ abi, functionName: 'computeBatch', args: [op, `0x${buf.toString('hex')}`] });
      const res = await client.call({ to: address, data, gas: BATCH_CALL_GAS });
      const out = Buffer.from((decodeFunctionResult({ abi, functionName: 'computeBatch', data: res.data! }) as Hex).slice(2), 'hex');
      const words = new Uint32Array(out.length / 4);
      for (let i = 0; i < words.length; i++) words[i] = out.readUInt32BE(i * 4);
      return words;
    },
  };
}
