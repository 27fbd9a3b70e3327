// A whole network on this machine: the devnet chain (anvil, contracts, persisted state) plus node
// processes on loopback, funded and staked, and a funded client directory for the submitter.
// `veritrain devnet up --solvers N --verifiers M`, the demo, the fault tests and the network bench
// all start it this way.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployParams } from '../chain/deploy.ts';
import { startDevnet, type Devnet } from '../chain/devnet.ts';
import { fundFromDev, prepareNodeDir, startCluster, type ClusterSpec, type LocalCluster } from './cluster.ts';

/**
 * Contract parameters of a devnet that runs nodes, so that a job takes seconds, not minutes: claims
 * open to newcomers after 3 s (a fresh devnet has no node with reputation), a drawn verifier has
 * 8 s to replay and commit, 4 s to reveal, the solver 4 s more to dispute a probe (a verifier job's
 * challenge window is then at least 18 s, 26 s by default), dispute moves 5 min. Used only when the
 * devnet deploys (an existing data directory keeps its contracts).
 */
export const NODE_DEVNET_PARAMS: Partial<DeployParams> = {
  priorityWindow: 3,
  minChallengeWindow: 2,
  commitPeriod: 8,
  revealPeriod: 4,
  probeDisputePeriod: 4,
  moveTimeout: 300,
};

/** Marks a client directory made by a devnet: its keystore uses the devnet passphrase. */
export const DEVNET_CLIENT_MARK = 'devnet-client';

export interface LocalNetworkOptions {
  dataDir: string;
  port?: number;
  spec: ClusterSpec;
  params?: Partial<DeployParams>;
  log?: (line: string) => void;
}

export interface LocalNetwork {
  devnet: Devnet;
  cluster: LocalCluster;
  /** The submitter's directory (keystore with devnet ETH; tokens come from the faucet). */
  clientDir: string;
  stop(): Promise<void>;
}

export async function startLocalNetwork(opts: LocalNetworkOptions): Promise<LocalNetwork> {
  const devnet = await startDevnet({ dataDir: opts.dataDir, port: opts.port, params: { ...NODE_DEVNET_PARAMS, ...opts.params } });
  opts.log?.(`chain ${devnet.deployment.chainId} at ${devnet.deployment.rpcUrl} (${devnet.deployedNow ? 'deployed' : 'resumed'})`);
  let cluster: LocalCluster;
  try {
    cluster = await startCluster({ dir: opts.dataDir, deployment: devnet.deployment, deploymentFile: devnet.deploymentFile, spec: opts.spec, log: opts.log });
  } catch (e) {
    await devnet.stop();
    throw e;
  }
  const clientDir = join(opts.dataDir, 'client');
  const { address } = await prepareNodeDir(clientDir);
  writeFileSync(join(clientDir, DEVNET_CLIENT_MARK), 'This keystore belongs to a devnet: its passphrase is the devnet passphrase.\n');
  await fundFromDev(devnet.deployment, [address]);
  return {
    devnet,
    cluster,
    clientDir,
    async stop() {
      await cluster.stop();
      await devnet.stop();
    },
  };
}
