// Reputation reads: the counters per node that scheduling uses.
import { reputationAbi } from './abi.ts';
import { read, type ChainClient } from './client.ts';

export interface ReputationRecord {
  jobsDone: number;
  disputesWon: number;
  disputesLost: number;
  timeouts: number;
}

const reputationOf_ = (c: ChainClient) => ({ address: c.deployment.contracts.reputation, abi: reputationAbi });

export async function reputationOf(c: ChainClient, nodeId: bigint): Promise<ReputationRecord> {
  const r = await read<ReputationRecord>(c, { ...reputationOf_(c), functionName: 'recordOf', args: [nodeId] });
  return { jobsDone: Number(r.jobsDone), disputesWon: Number(r.disputesWon), disputesLost: Number(r.disputesLost), timeouts: Number(r.timeouts) };
}

/** jobsDone + disputesWon − 4 × (disputesLost + timeouts); claims in the priority window need > 0. */
export function reputationScore(c: ChainClient, nodeId: bigint): Promise<bigint> {
  return read(c, { ...reputationOf_(c), functionName: 'score', args: [nodeId] });
}
