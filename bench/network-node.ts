// One network node in its own process, driven by bench/network.ts over IPC (so each node's RSS is
// its own and the 20 nodes run in parallel like separate machines, two cores permitting).
//
//   {cmd:'gossip', dir}                → {type:'ready', peerId, addr, address}   (gossip node)
//   {cmd:'provider', dir, size}        → {type:'ready', peerId, addr, hash, tcpPort} (blob provider)
//   {cmd:'allow', list}                   the staked (address, peer id) pairs
//   {cmd:'connect', addrs}             → {type:'connected'}
//   {cmd:'status'}                     → {type:'status', mesh, connections, rssMB, pssMB, heapMB}
//   {cmd:'publish', seq}               → {type:'published', seq, id, t}
//   {cmd:'stop'}                          exits
// and, for every job message delivered: {type:'recv', id, t}. Times are wall-clock ms with
// sub-ms precision (performance.timeOrigin + performance.now()), comparable across processes.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { allowList, startGossip, type Gossip, type StakeCheck } from '../src/net/gossip.ts';
import { topicOf } from '../src/net/messages.ts';
import { createNetNode, type NetNode } from '../src/net/node.ts';
import { createPeerScorer } from '../src/net/peers.ts';
import { serveBlobs } from '../src/net/blob-protocol.ts';
import { meshPeers } from '../src/net/testing.ts';
import { openBlobStore } from '../src/node/blobs.ts';
import { openDb } from '../src/node/db.ts';

const CHAIN_ID = 31337;
const now = () => performance.timeOrigin + performance.now();
const send = (m: unknown) => process.send!(m);

let node: NetNode | undefined;
let gossip: Gossip | undefined;
let staked: StakeCheck = () => false;
let lastCpu: { us: number; t: number } | undefined;

async function makeNode(dir: string, bootstrap: string[]) {
  const db = openDb(join(dir, 'node.db'));
  const scorer = createPeerScorer({ store: db.peers });
  const n = await createNetNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    bootstrap,
    allow: ['/ip4/127.0.0.0/ipcidr/8'],
    colocationWhitelist: ['127.0.0.1'],
    isBlocked: (p) => scorer.isBlocked(p),
  });
  scorer.attach(n);
  return { node: n, db, scorer };
}

/** Proportional set size (Linux): shared pages such as the node binary's counted 1/n per process. */
function pssMB(): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

process.on('message', async (m: any) => {
  try {
    if (m.cmd === 'gossip') {
      const made = await makeNode(m.dir, m.bootstrap ?? []);
      node = made.node;
      const account = privateKeyToAccount(generatePrivateKey());
      gossip = startGossip({ node, chainId: CHAIN_ID, signer: account, isStakedNode: (s) => staked(s), scorer: made.scorer, seen: made.db.seen });
      gossip.on('job', (msg) => send({ type: 'recv', id: msg.id, t: now() }));
      send({ type: 'ready', peerId: node.peerId.toString(), addr: node.getMultiaddrs()[0].toString(), address: account.address });
    } else if (m.cmd === 'provider') {
      const made = await makeNode(m.dir, []);
      node = made.node;
      const store = openBlobStore(m.dir);
      // Written in 16 MiB pieces: the blob never sits in memory whole.
      async function* pieces() {
        for (let left = m.size; left > 0; left -= 16 << 20) yield randomBytes(Math.min(left, 16 << 20));
      }
      const { hash } = await store.putStream(pieces());
      await serveBlobs({ node, store });
      // The peer to compare with: the same file over a bare TCP socket (no noise, no yamux, no frames).
      const tcp = createServer((sock) => createReadStream(join(store.dir, hash)).pipe(sock));
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
      const tcpPort = (tcp.address() as { port: number }).port;
      send({ type: 'ready', peerId: node.peerId.toString(), addr: node.getMultiaddrs()[0].toString(), hash, tcpPort });
    } else if (m.cmd === 'allow') {
      staked = allowList(m.list);
    } else if (m.cmd === 'connect') {
      await Promise.all((m.addrs as string[]).map((a) => node!.dial(multiaddr(a)).catch(() => undefined)));
      send({ type: 'connected' });
    } else if (m.cmd === 'status') {
      const mu = process.memoryUsage();
      const cpu = process.cpuUsage();
      const t = performance.now();
      // Share of one core used since the previous status call.
      const cpuShare = lastCpu ? (cpu.user + cpu.system - lastCpu.us) / 1000 / (t - lastCpu.t) : null;
      lastCpu = { us: cpu.user + cpu.system, t };
      send({
        type: 'status',
        mesh: node && gossip ? meshPeers(node, topicOf('job', CHAIN_ID)).length : 0,
        connections: node?.getConnections().length ?? 0,
        gossipPeers: node?.services.pubsub.getPeers().length ?? 0,
        subscribers: node?.services.pubsub.getSubscribers(topicOf('job', CHAIN_ID)).length ?? 0,
        rssMB: mu.rss / 2 ** 20,
        pssMB: pssMB(),
        heapMB: mu.heapUsed / 2 ** 20,
        cpuShare,
      });
    } else if (m.cmd === 'publish') {
      const t = now();
      const { id } = await gossip!.publish('job', {
        jobId: `0x${m.seq.toString(16).padStart(64, '0')}`,
        specHash: 'a'.repeat(64),
        datasetHash: 'b'.repeat(64),
        reward: '1000',
        deadline: 2_000_000_000,
      });
      send({ type: 'published', seq: m.seq, id, t });
    } else if (m.cmd === 'stop') {
      gossip?.stop();
      await node?.stop();
      process.exit(0);
    }
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.stack : String(e) });
  }
});
process.on('disconnect', () => process.exit(0));
