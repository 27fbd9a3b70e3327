// Deploy the coordination contracts to any EVM chain. Staking and Reputation take the market's
// address in their constructors (no owner, no setter), so the market's address is predicted from
// the deployer's nonce and checked after deployment.
import { createPublicClient, createWalletClient, getContractAddress, http, type Account, type Address, type Hex } from 'viem';
import * as abis from './abi.ts';
import { artifactOf, CHAIN_SOURCES, compileContracts, solcVersion, type CompileOptions } from './compile.ts';
import { chainOf, chainTransport } from './client.ts';
import { type Deployment } from './deployment.ts';
import { DeploymentError, toChainError } from './errors.ts';

export interface DeployParams {
  /** VTT minted per faucet call (0: no faucet). Only for a VeriToken deployed here. */
  faucetAmount: bigint;
  faucetCooldown: bigint;
  /** Initial VTT supply and its holder (production distributions). */
  initialSupply: bigint;
  initialHolder?: Address;
  unbondingDelay: number;
  minSolverStake: bigint;
  minVerifierStake: bigint;
  /** Challenger's bond (level 0); each side's bond in a probe dispute. */
  disputeBond: bigint;
  /** Taken from a drawn verifier's stake when it never reveals; credited to the submitter. */
  noShowPenalty: bigint;
  moveTimeout: number;
  verifierFeeBps: number;
  priorityWindow: number;
  maxVerifiers: number;
  minChallengeWindow: number;
  /** Seconds a drawn verifier has to commit (attest), then to reveal. */
  commitPeriod: number;
  revealPeriod: number;
  /** Seconds the solver has at least, after a reveal deadline, to dispute a probe. */
  probeDisputePeriod: number;
}

const VTT = 10n ** 18n;

/** Devnet defaults: a generous faucet, short windows (tests move time with evm_increaseTime). */
export const DEVNET_PARAMS: DeployParams = {
  faucetAmount: 1000n * VTT,
  faucetCooldown: 0n,
  initialSupply: 0n,
  unbondingDelay: 24 * 3600,
  minSolverStake: 100n * VTT,
  minVerifierStake: 50n * VTT,
  disputeBond: 10n * VTT,
  noShowPenalty: 5n * VTT,
  moveTimeout: 3600,
  verifierFeeBps: 1000,
  priorityWindow: 60,
  maxVerifiers: 8,
  minChallengeWindow: 60,
  commitPeriod: 30,
  revealPeriod: 30,
  probeDisputePeriod: 60,
};

export interface DeployOptions {
  rpcUrl: string;
  account: Account;
  params?: Partial<DeployParams>;
  /** Use this existing ERC-20 for payments and stakes instead of deploying VeriToken. */
  token?: Address;
  /**
   * Which judges the market gets when none is given: 'test' (LeafJudge at level 0, TestJudge at level 1:
   * hash-chain steps, for tests and the default devnet) or 'verification' (the verification layer's
   * CheckpointJudge → StepJudge → OpJudge, which judge real training steps down to one binary32 op;
   * compiles contracts/verify too). Default 'test'.
   */
  judges?: 'test' | 'verification';
  /** The market's level-1 judge (steps from a checkpoint to a probe), instead of deploying one. */
  judge?: Address;
  /** The market's level-0 judge (checkpoint leaves), instead of deploying one. */
  checkpointJudge?: Address;
  /** Dissection arity of the verification judges' games (default 16). */
  judgeArity?: number;
  /** Compiler settings (defaults of compile.ts). */
  compile?: CompileOptions;
}

export async function deployContracts(opts: DeployOptions): Promise<Deployment> {
  const p = { ...DEVNET_PARAMS, ...opts.params };
  const real = opts.judges === 'verification';
  // The verification judges import contracts/verify: compile everything (the same cache key as their tests).
  const artifacts = await compileContracts(real ? { ...opts.compile } : { ...opts.compile, include: CHAIN_SOURCES });
  const bytecode = (name: string) => artifactOf(artifacts, name).bytecode;
  const transport = chainTransport(opts.rpcUrl);
  const probe = createPublicClient({ transport });
  let chainId: number;
  try {
    chainId = await probe.getChainId();
  } catch (e) {
    throw toChainError(e, opts.rpcUrl);
  }
  const chain = chainOf(chainId, opts.rpcUrl);
  const pub = createPublicClient({ chain, transport, pollingInterval: 50 });
  const wallet = createWalletClient({ chain, transport, account: opts.account, pollingInterval: 50 });
  const from = opts.account.address;

  let nonce = await pub.getTransactionCount({ address: from, blockTag: 'pending' });
  const firstBlock = Number(await pub.getBlockNumber()) + 1;
  // The order is fixed so that the market's address can be predicted before Staking and Reputation.
  // Verification judges: OpJudgePrograms + OpJudge and StepJudge (unless a step judge is given), CheckpointJudge.
  const judgeDeploys = real ? (opts.judge ? 0 : 3) + (opts.checkpointJudge ? 0 : 1) : (opts.judge ? 0 : 1) + (opts.checkpointJudge ? 0 : 1);
  const willDeploy = [!opts.token, true, true].filter(Boolean).length + judgeDeploys + 3;
  const market = getContractAddress({ from, nonce: BigInt(nonce + willDeploy - 1) });

  const deployed: Address[] = [];
  async function deploy(name: string, deployTx: (nonce: number) => Promise<Hex>): Promise<Address> {
    const expected = getContractAddress({ from, nonce: BigInt(nonce) });
    let address: Address | null | undefined;
    try {
      const hash = await deployTx(nonce++);
      address = (await pub.waitForTransactionReceipt({ hash })).contractAddress;
    } catch (e) {
      throw toChainError(e, opts.rpcUrl);
    }
    if (!address || address.toLowerCase() !== expected.toLowerCase()) {
      throw new DeploymentError(`${name} was not deployed at its predicted address`, {
        details: `expected ${expected}, got ${address}`,
        hint: 'another transaction from the deployer interleaved: deploy from an account nothing else uses',
      });
    }
    deployed.push(address);
    return address;
  }

  const token =
    opts.token ??
    (await deploy('VeriToken', (n) =>
      wallet.deployContract({
        abi: abis.veriTokenAbi,
        bytecode: bytecode('VeriToken'),
        args: [p.faucetAmount, p.faucetCooldown, p.initialHolder ?? from, p.initialSupply],
        nonce: n,
      }),
    ));
  const registry = await deploy('NodeRegistry', (n) => wallet.deployContract({ abi: abis.nodeRegistryAbi, bytecode: bytecode('NodeRegistry'), nonce: n }));
  const game = await deploy('BisectionGame', (n) => wallet.deployContract({ abi: abis.bisectionGameAbi, bytecode: bytecode('BisectionGame'), nonce: n }));
  const arity = opts.judgeArity ?? 16;
  const verifyDeploy = (name: string, args: readonly unknown[]) =>
    deploy(name, (n) => wallet.deployContract({ abi: artifactOf(artifacts, name).abi, bytecode: bytecode(name), args: args as never, nonce: n }));
  let opJudge: Address | undefined, opJudgePrograms: Address | undefined;
  let judge: Address;
  let checkpointJudge: Address;
  if (real) {
    // The judges read the market (IJobShape) and the market takes the judges: they get its predicted address.
    if (!opts.judge) {
      opJudgePrograms = await verifyDeploy('OpJudgePrograms', []);
      opJudge = await verifyDeploy('OpJudge', [opJudgePrograms, BigInt(arity)]);
    }
    judge = opts.judge ?? (await verifyDeploy('StepJudge', [game, market, opJudge, p.moveTimeout, arity]));
    checkpointJudge = opts.checkpointJudge ?? (await verifyDeploy('CheckpointJudge', [game, market, judge, p.moveTimeout, arity]));
  } else {
    judge =
      opts.judge ??
      (await deploy('TestJudge', (n) => wallet.deployContract({ abi: abis.testJudgeAbi, bytecode: bytecode('TestJudge'), args: [false], nonce: n })));
    checkpointJudge =
      opts.checkpointJudge ??
      (await deploy('LeafJudge', (n) => wallet.deployContract({ abi: abis.leafJudgeAbi, bytecode: bytecode('LeafJudge'), nonce: n })));
  }
  const staking = await deploy('Staking', (n) =>
    wallet.deployContract({
      abi: abis.stakingAbi,
      bytecode: bytecode('Staking'),
      args: [token, market, BigInt(p.unbondingDelay), p.minSolverStake, p.minVerifierStake],
      nonce: n,
    }),
  );
  const reputation = await deploy('Reputation', (n) =>
    wallet.deployContract({ abi: abis.reputationAbi, bytecode: bytecode('Reputation'), args: [market], nonce: n }),
  );
  await deploy('JobMarket', (n) =>
    wallet.deployContract({
      abi: abis.jobMarketAbi,
      bytecode: bytecode('JobMarket'),
      args: [
        {
          token,
          staking,
          registry,
          reputation,
          game,
          checkpointJudge,
          stepJudge: judge,
          disputeBond: p.disputeBond,
          noShowPenalty: p.noShowPenalty,
          moveTimeout: p.moveTimeout,
          verifierFeeBps: p.verifierFeeBps,
          priorityWindow: p.priorityWindow,
          maxVerifiers: p.maxVerifiers,
          minChallengeWindow: p.minChallengeWindow,
          commitPeriod: p.commitPeriod,
          revealPeriod: p.revealPeriod,
          probeDisputePeriod: p.probeDisputePeriod,
        },
      ],
      nonce: n,
    }),
  );

  // The wiring every other check rests on: read it back from the chain.
  const [stakingMarket, recorder] = await Promise.all([
    pub.readContract({ address: staking, abi: abis.stakingAbi, functionName: 'market' }),
    pub.readContract({ address: reputation, abi: abis.reputationAbi, functionName: 'recorder' }),
  ]);
  if (stakingMarket !== market || recorder !== market) {
    throw new DeploymentError('the deployed contracts are not wired to the market', { details: `market ${market}, staking says ${stakingMarket}, reputation says ${recorder}` });
  }
  if (real) {
    const marketOf = (address: Address) =>
      pub.readContract({ address, abi: [{ type: 'function', name: 'market', inputs: [], outputs: [{ type: 'address' }], stateMutability: 'view' }], functionName: 'market' });
    for (const [name, address] of [['StepJudge', opts.judge ? undefined : judge], ['CheckpointJudge', opts.checkpointJudge ? undefined : checkpointJudge]] as const) {
      if (address && (await marketOf(address)) !== market) throw new DeploymentError(`${name} is not wired to the market`, { details: `market ${market}` });
    }
  }

  return {
    version: 2,
    chainId,
    rpcUrl: opts.rpcUrl,
    deployer: from,
    deployedAtBlock: firstBlock,
    contracts: { token, registry, staking, reputation, game, judge, checkpointJudge, market, ...(opJudge ? { opJudge, opJudgePrograms } : {}) },
    tokenKind: opts.token ? 'external' : 'VeriToken',
    judgeKind: opts.judge ? 'external' : real ? 'StepJudge' : 'TestJudge',
    checkpointJudgeKind: opts.checkpointJudge ? 'external' : real ? 'CheckpointJudge' : 'LeafJudge',
    params: {
      faucetAmount: (opts.token ? 0n : p.faucetAmount).toString(),
      unbondingDelay: p.unbondingDelay,
      minSolverStake: p.minSolverStake.toString(),
      minVerifierStake: p.minVerifierStake.toString(),
      disputeBond: p.disputeBond.toString(),
      noShowPenalty: p.noShowPenalty.toString(),
      moveTimeout: p.moveTimeout,
      verifierFeeBps: p.verifierFeeBps,
      priorityWindow: p.priorityWindow,
      maxVerifiers: p.maxVerifiers,
      minChallengeWindow: p.minChallengeWindow,
      commitPeriod: p.commitPeriod,
      revealPeriod: p.revealPeriod,
      probeDisputePeriod: p.probeDisputePeriod,
    },
    solc: solcVersion(),
  };
}

/** True when every contract of the deployment has code on the chain behind `rpcUrl`. */
export async function deploymentIsLive(d: Deployment, rpcUrl = d.rpcUrl): Promise<boolean> {
  const pub = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) });
  try {
    if ((await pub.getChainId()) !== d.chainId) return false;
    const codes = await Promise.all(Object.values(d.contracts).map((address) => pub.getCode({ address })));
    return codes.every((code) => code !== undefined && code !== '0x');
  } catch (e) {
    throw toChainError(e, rpcUrl);
  }
}
