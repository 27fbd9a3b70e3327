// The devnet and chain commands through the real CLI: devnet up deploys once and prints the
// deployment; jobs, stakes and balances survive kill -9 (of the devnet and of its anvil, or of the
// devnet alone); deploy --rpc works on any chain; bad input exits 1 with a named error, state unchanged.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createTestClient, http, maxUint256 } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { alive, startDevnet } from '../src/chain/devnet.ts';
import { connect, devAccount, type ChainClient } from '../src/chain/client.ts';
import { readDeployment, type Deployment } from '../src/chain/deployment.ts';
import { getEvents } from '../src/chain/events.ts';
import * as m from '../src/chain/market.ts';
import { getNode } from '../src/chain/registry.ts';
import * as stk from '../src/chain/staking.ts';
import * as tok from '../src/chain/token.ts';
import { runCli, runCliAsync, tempDir } from './cli.ts';
import { cmdChain, cmdDeploy, cmdDevnet, cmdFaucet, cmdStake, type ChainValues } from '../src/cli/chain.ts';
import type { CliContext } from '../src/cli/main.ts';
import { h, registerTestNode } from './chain.ts';

const VTT = 10n ** 18n;
const started: ChildProcess[] = [];
const pids: number[] = [];
after(() => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

interface Up {
  proc: ChildProcess;
  ready: Deployment & { devnet: { dataDir: string; pid: number; anvilPid: number; deployedNow: boolean; stateFile: string } };
  lines: string[];
  exited: Promise<number | null>;
}

/** devnet up --json in a child process; resolves with its first JSON line (the chain is ready). */
async function devnetUp(dataDir: string): Promise<Up> {
  const proc = runCliAsync(['devnet', 'up', '--data-dir', dataDir, '--port', '0']);
  started.push(proc);
  const lines: string[] = [];
  let err = '';
  proc.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = await new Promise<Up['ready']>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (lines.length === 1) resolve(JSON.parse(line));
      }
    });
    void exited.then((code) => reject(new Error(`devnet up exited ${code} before it was ready: ${err}`)));
  });
  pids.push(ready.devnet.anvilPid);
  return { proc, ready, lines, exited };
}

/** Run a chain command function in this process (the CLI's exit codes and JSON lines are tested above). */
function inProcess(fn: (ctx: CliContext, v: ChainValues) => Promise<unknown>, positionals: string[], v: ChainValues) {
  const ctx: CliContext = { json: true, quiet: true, workers: 1, positionals, say: () => {} };
  return fn(ctx, v);
}


async function waitDead(pid: number) {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(alive(pid), false, `process ${pid} still alive`);
}

/** Wait until the devnet's state file holds block `block` (it is written after every block). */
async function waitPersisted(stateFile: string, block: bigint) {
  for (let i = 0; i < 200; i++) {
    try {
      const s = JSON.parse(readFileSync(stateFile, 'utf8')) as { best_block_number?: string | number; block?: { number?: string } };
      const n = BigInt(s.best_block_number ?? s.block?.number ?? -1);
      if (n >= block) return;
    } catch {
      // mid-rename: read again
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`state file never reached block ${block}`);
}

/** Everything the persistence test compares: jobs, stakes, balances, credits, node, events. */
async function snapshotOf(c: ChainClient) {
  const count = await m.jobCount(c);
  const jobs = await Promise.all(Array.from({ length: Number(count) }, (_, i) => m.getJob(c, BigInt(i + 1))));
  const who = [1, 2, 3].map((i) => devAccount(i).address);
  return {
    jobs,
    stakes: await Promise.all(who.map((a) => stk.stakeOf(c, a))),
    balances: await Promise.all([...who, c.deployment.contracts.market, c.deployment.contracts.staking].map((a) => tok.tokenBalance(c, a))),
    owed: await Promise.all(who.map((a) => m.withdrawable(c, a))),
    node: await getNode(c, 1n),
    posted: (await getEvents(c, { eventName: 'JobPosted' })).map((e) => e.args.jobId),
  };
}

describe('devnet up', () => {
  test('deploys once, prints the deployment, and keeps jobs, stakes and balances across kill -9', async () => {
    const dir = tempDir('vt-devnet-');
    const first = await devnetUp(dir);
    const d = first.ready;
    assert.equal(d.chainId, 31337);
    assert.equal(d.devnet.deployedNow, true);
    assert.deepEqual(readDeployment(join(dir, 'deployment.json')).contracts, d.contracts);
    const c = (i: number) => connect({ deployment: d, account: devAccount(i) });

    // Stakes, a node, two jobs (one claimed), credits: state worth losing.
    for (const i of [1, 2]) {
      await tok.faucet(c(i));
      await tok.approve(c(i), d.contracts.market, maxUint256);
      await tok.approve(c(i), d.contracts.staking, maxUint256);
    }
    await stk.bond(c(2), 150n * VTT);
    await stk.requestUnbond(c(2), 10n * VTT);
    const node = await registerTestNode(c(2), 1);
    const post = (price: bigint) =>
      m.postJob(c(1), { specHash: h('spec'), datasetHash: h('data'), price, duration: 3600, checkpoints: 4, verifiers: 0, challengeWindow: 600, collateral: 20n * VTT });
    const a = await post(30n * VTT);
    await post(40n * VTT);
    const cancelled = await post(5n * VTT);
    await m.cancelJob(c(1), cancelled.jobId);
    await createTestClient({ mode: 'anvil', transport: http(d.rpcUrl) }).increaseTime({ seconds: 61 });
    await m.claimJob(c(2), a.jobId, node);
    await tok.transfer(c(1), devAccount(3).address, 7n * VTT);
    const before = await snapshotOf(c(0));
    const head = await c(0).public.getBlockNumber();
    await waitPersisted(d.devnet.stateFile, head);

    // kill -9 both the devnet and its anvil, as a power cut would.
    process.kill(d.devnet.pid, 'SIGKILL');
    process.kill(d.devnet.anvilPid, 'SIGKILL');
    await first.exited;
    await waitDead(d.devnet.anvilPid);

    const second = await devnetUp(dir);
    assert.equal(second.ready.devnet.deployedNow, false);
    assert.deepEqual(second.ready.contracts, d.contracts);
    const c2 = connect({ deployment: second.ready, account: devAccount(0) });
    assert.ok((await c2.public.getBlockNumber()) >= head);
    assert.deepEqual(await snapshotOf(c2), before);
    // The chain goes on from there: the claimed job can still be worked.
    await m.submitResult(connect({ deployment: second.ready, account: devAccount(2) }), a.jobId, h('root'), h('model'));

    // kill -9 of the devnet alone leaves its anvil running; the next start saves that anvil's chain
    // (including what happened after the kill) and stops it.
    const orphan = second.ready.devnet.anvilPid;
    process.kill(second.ready.devnet.pid, 'SIGKILL');
    await second.exited;
    assert.equal(alive(orphan), true);
    const late = connect({ deployment: second.ready, account: devAccount(1) });
    await m.postJob(late, { specHash: h('late'), datasetHash: h('data'), price: 1n * VTT, duration: 60, checkpoints: 1, verifiers: 0, challengeWindow: 60, collateral: 10n * VTT });
    const third = await devnetUp(dir);
    await waitDead(orphan);
    const c3 = connect({ deployment: third.ready, account: devAccount(0) });
    assert.equal(await m.jobCount(c3), 4n);
    assert.equal((await m.getJob(c3, a.jobId)).state, 'submitted');

    // A graceful stop persists and prints its final line.
    third.proc.kill('SIGTERM');
    assert.equal(await third.exited, 0);
    const last = JSON.parse(third.lines[third.lines.length - 1]);
    assert.equal(last.stopped, true);
    assert.equal(existsSync(join(dir, 'devnet.pid')), false);
    await waitDead(third.ready.devnet.anvilPid);
  });

  test('the chain commands work against it; bad input exits 1 with a named error and changes nothing', async () => {
    const dir = tempDir('vt-devnet-');
    const up = await devnetUp(dir);
    const run = (...args: string[]) => runCli([...args, '--data-dir', dir]);

    const f = run('faucet', '--account', '3');
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.json.balance, (1000n * VTT).toString());
    const b = run('stake', 'bond', '150', '--account', '3');
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json.bonded, (150n * VTT).toString());
    const info = run('chain', 'info', '--account', '3');
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.json.account.bonded, (150n * VTT).toString());
    assert.deepEqual(info.json.contracts, up.ready.contracts);

    // Through the real CLI: exit 1 and one JSON error line, for an input error and a revert.
    for (const [args, name, message] of [
      [['stake', 'bond', 'abc', '--account', '3'], 'InputError', /amount in VTT/],
      [['stake', 'unbond', '0', '--account', '3'], 'ContractRevertError', /ZeroAmount/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.json.error?.name, name);
      assert.match(r.json.error.message, message);
    }
    // The rest of the error matrix in-process (same command functions, same chain), for speed.
    const before = await inProcess(cmdStake, ['show', devAccount(3).address], { 'data-dir': dir });
    const cases: [(ctx: CliContext, v: ChainValues) => Promise<unknown>, string[], ChainValues, string, RegExp?][] = [
      [cmdStake, ['unbond', '151'], { account: '3' }, 'ContractRevertError', /InsufficientFreeStake/],
      [cmdStake, ['withdraw'], { account: '3' }, 'ContractRevertError', /NothingUnbonding/],
      [cmdStake, ['bond', '1.0000000000000000001'], { account: '3' }, 'InputError'],
      [cmdStake, ['fly'], { account: '3' }, 'InputError'],
      [cmdStake, ['bond', '1'], { account: 'x' }, 'InputError'],
      [cmdStake, ['bond', '5000'], { account: '3' }, 'ContractRevertError', /InsufficientBalance/],
      [cmdFaucet, [], { deployment: join(dir, 'missing.json') }, 'DeploymentError'],
      [cmdFaucet, [], { rpc: 'http://127.0.0.1:1' }, 'ChainError', /cannot reach/],
      [cmdDevnet, ['down'], {}, 'InputError'],
      [cmdDevnet, ['up'], { port: '0' }, 'DevnetError', /already running/],
      [cmdDevnet, ['up'], { port: '70000' }, 'InputError'],
      [cmdChain, ['what'], {}, 'InputError'],
    ];
    for (const [fn, positionals, v, name, message] of cases) {
      await assert.rejects(inProcess(fn, positionals, { 'data-dir': dir, ...v }), (e: Error) => {
        assert.equal(e.name, name, `${positionals.join(' ')}: ${e.message}`);
        if (message) assert.match(e.message, message);
        return true;
      });
    }
    assert.deepEqual(await inProcess(cmdStake, ['show', devAccount(3).address], { 'data-dir': dir }), before, 'a refused command changed the stake');

    // A bad deployment file names the broken field.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...up.ready, contracts: { ...up.ready.contracts, market: '0x1234' } }));
    await assert.rejects(inProcess(cmdChain, ['info'], { deployment: bad }), (e: Error & { details?: string }) => {
      assert.equal(e.name, 'DeploymentError');
      assert.match(e.details ?? '', /contracts\.market/);
      return true;
    });
    up.proc.kill('SIGTERM');
    assert.equal(await up.exited, 0);
  });

  test('a damaged state file or a lost chain is refused with a hint', async () => {
    const dir = tempDir('vt-devnet-');
    writeFileSync(join(dir, 'state.json'), '{"block": tru');
    await assert.rejects(startDevnet({ dataDir: dir, port: 0 }), (e: Error & { hint?: string }) => {
      assert.equal(e.name, 'DevnetError');
      assert.match(e.hint ?? '', /move it away|remove/);
      return true;
    });
    // deployment.json without the chain it describes.
    const other = tempDir('vt-devnet-');
    const devnet = await startDevnet({ dataDir: other, port: 0 });
    await devnet.stop();
    rmSync(join(other, 'state.json'));
    await assert.rejects(startDevnet({ dataDir: other, port: 0 }), /not on this devnet's chain/);
    assert.equal(existsSync(join(other, 'devnet.pid')), false, 'a refused start leaves no pid file');
  });
});

describe('deploy --rpc', () => {
  test('deploys to any EVM chain with a key from the environment; refuses without one', async () => {
    // A chain that is not the devnet (another chain id): no dev-account fallback.
    const anvil = await startAnvil({ chainId: 777 });
    try {
      const out = join(tempDir('vt-deploy-'), 'deployment.json');
      let r = runCli(['deploy', '--rpc', anvil.url, '--deployment', out]);
      assert.equal(r.code, 1);
      assert.equal(r.json.error.name, 'InputError');
      assert.match(r.json.error.hint, /key-file|VERITRAIN_PRIVATE_KEY/);
      const keyFile = join(tempDir('vt-key-'), 'key');
      // anvil's first dev key (public knowledge), funded on every anvil.
      writeFileSync(keyFile, '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n');
      r = runCli(['deploy', '--rpc', anvil.url, '--deployment', out, '--key-file', keyFile]);
      assert.equal(r.code, 0, r.stderr);
      const d = readDeployment(out);
      assert.equal(d.chainId, 777);
      assert.deepEqual(r.json.contracts, d.contracts);
      const c = connect({ deployment: d });
      for (const address of Object.values(d.contracts)) assert.notEqual(await c.public.getCode({ address }), undefined);
      // Every command takes --rpc and --deployment.
      const info = runCli(['chain', 'info', '--rpc', anvil.url, '--deployment', out, '--key-file', keyFile]);
      assert.equal(info.code, 0, info.stderr);
      assert.equal(info.json.chainId, 777);
      // Without a key on a non-devnet chain, info shows the chain and no account.
      const bare = (await inProcess(cmdChain, ['info'], { rpc: anvil.url, deployment: out })) as { chainId: number; account?: unknown };
      assert.deepEqual([bare.chainId, bare.account], [777, undefined]);
      // The wrong chain behind --rpc is named.
      const devnetLike = await startAnvil();
      try {
        await assert.rejects(inProcess(cmdChain, ['info'], { rpc: devnetLike.url, deployment: out, 'key-file': keyFile }), /chain 777 .* chain 31337/);
      } finally {
        await devnetLike.stop();
      }
      const refuses = async (v: ChainValues, name: string) =>
        assert.rejects(inProcess(cmdDeploy, [], v), (e: Error) => e.name === name);
      await refuses({}, 'InputError');
      await refuses({ rpc: 'http://127.0.0.1:1' }, 'ChainError');
      await refuses({ rpc: anvil.url, 'key-file': keyFile, token: 'nope' }, 'InputError');
      await refuses({ rpc: anvil.url, 'key-file': join(tempDir('vt-key-'), 'none') }, 'InputError');
    } finally {
      await anvil.stop();
    }
  });
});
