// The daemon's state in its sqlite database (tables of migration 2 in db.ts): the chain's view of
// every job the node has seen (a cache of contract state, rebuilt from events and reads), the
// node's own work on each job (one task per job and role, a small state machine whose data is
// JSON), the checkpoints and results it knows of, a log of stages and progress for `job watch`,
// and peer addresses to redial after a restart. Every write is one committed transaction.
import type { Address, Hex } from 'viem';
import type { JobState, ProbeState, SlotStatus } from '../chain/market.ts';
import type { NodeDb } from './db.ts';

export interface JobRow {
  jobId: bigint;
  state: JobState;
  submitter: Address;
  /** SHA-256 hex (no 0x) of the spec's canonical JSON: also the spec blob's hash. */
  specHash: string;
  /** The manifest's dataset commitment (0x hex). */
  datasetRoot: Hex;
  /** The job's `inputs` on chain: the manifest hash every solver and verifier recomputes. */
  manifestHash: Hex;
  price: bigint;
  duration: number;
  steps: number;
  checkpointInterval: number;
  checkpoints: number;
  verifiers: number;
  samples: number;
  challengeWindow: number;
  collateral: bigint;
  postedBlock: number;
  /** Unix seconds the job entered its current state (the contract's `since`). */
  since: number;
  solver: Address | null;
  solverNode: bigint | null;
  committed: number;
  root: Hex | null;
  modelHash: Hex | null;
  /** The verifier round while the job is submitted or disputed (null otherwise, or without verifiers). */
  verification: JobVerification | null;
  updatedBlock: number;
}

export interface JobVerification {
  /** Seed of the first draw (null before it): every probe position derives from it. */
  seed: Hex | null;
  seedBlock: number;
  pending: number;
  uncommitted: number;
  openProbes: number;
  slots: Array<{ verifier: Address; commitBy: number; revealBy: number; status: SlotStatus; agree: boolean; probe: ProbeState }>;
}

export type Role = 'solver' | 'verifier' | 'watcher';

export interface Task<T = Record<string, unknown>> {
  jobId: bigint;
  role: Role;
  status: string;
  data: T;
  error: string | null;
  updatedAt: number;
}

export interface LogEntry {
  id: number;
  jobId: bigint;
  at: number;
  kind: string;
  data: Record<string, unknown>;
}

export interface CheckpointRow {
  jobId: bigint;
  solver: Address;
  index: number;
  step: number;
  stateHash: string;
  blob: string;
}

export interface ResultRow {
  jobId: bigint;
  root: Hex;
  modelHash: Hex;
  /** Blob hash of the checkpoint list (artifacts.ts). */
  list: string;
  solver: Address;
  at: number;
}

export interface NodeState {
  kv: { get(key: string): string | undefined; set(key: string, value: string): void; keys(prefix: string): string[] };
  jobs: {
    get(jobId: bigint): JobRow | undefined;
    put(row: JobRow): void;
    list(opts?: { states?: JobState[]; limit?: number }): JobRow[];
  };
  tasks: {
    get<T = Record<string, unknown>>(jobId: bigint, role: Role): Task<T> | undefined;
    /** Creates or replaces the task; `data` is merged into what is stored unless `replace`. */
    put<T extends Record<string, unknown>>(jobId: bigint, role: Role, status: string, data?: Partial<T>, opts?: { error?: string | null; replace?: boolean }): Task<T>;
    list(opts?: { role?: Role; statuses?: string[] }): Task[];
  };
  log: {
    /** Appends once per `dedup` key; returns false for a duplicate. */
    add(jobId: bigint, kind: string, data: Record<string, unknown>, dedup: string, at?: number): boolean;
    list(jobId: bigint, opts?: { afterId?: number; limit?: number }): LogEntry[];
  };
  checkpoints: {
    put(c: CheckpointRow): void;
    list(jobId: bigint, solver: Address): CheckpointRow[];
  };
  results: {
    put(r: ResultRow): void;
    get(jobId: bigint, root: Hex): ResultRow | undefined;
    list(jobId: bigint): ResultRow[];
  };
  peerAddrs: {
    add(peerId: string, addr: string, now?: number): void;
    /** Most recently confirmed first. */
    list(limit?: number): Array<{ peerId: string; addr: string; updatedAt: number }>;
  };
}

function jobIdOf(jobId: bigint): number {
  // Job ids count up from 1; a uint256 past 2^53 would be a chain no one runs.
  if (jobId < 0n || jobId > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`job id ${jobId} does not fit the node database`);
  return Number(jobId);
}

export function openState(db: NodeDb): NodeState {
  const sql = db.sql;
  const q = {
    kvGet: sql.prepare('SELECT value FROM kv WHERE key = ?'),
    kvSet: sql.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    kvKeys: sql.prepare("SELECT key FROM kv WHERE substr(key, 1, length(?)) = ? ORDER BY key"),
    jobGet: sql.prepare('SELECT * FROM jobs WHERE job_id = ?'),
    jobPut: sql.prepare(
      `INSERT INTO jobs (job_id, state, submitter, spec_hash, dataset_root, manifest_hash, price, duration, steps, checkpoint_interval,
         checkpoints, verifiers, samples, challenge_window, collateral, posted_block, since, solver, solver_node, committed, root,
         model_hash, verification, updated_block)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, since = excluded.since, solver = excluded.solver,
         solver_node = excluded.solver_node, committed = excluded.committed, root = excluded.root, model_hash = excluded.model_hash,
         verification = excluded.verification, updated_block = excluded.updated_block
       WHERE excluded.updated_block >= jobs.updated_block`,
    ),
    jobList: sql.prepare('SELECT * FROM jobs ORDER BY job_id DESC LIMIT ?'),
    taskGet: sql.prepare('SELECT * FROM tasks WHERE job_id = ? AND role = ?'),
    taskPut: sql.prepare(
      `INSERT INTO tasks (job_id, role, status, data, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, role) DO UPDATE SET status = excluded.status, data = excluded.data, error = excluded.error, updated_at = excluded.updated_at`,
    ),
    taskList: sql.prepare('SELECT * FROM tasks ORDER BY job_id'),
    logAdd: sql.prepare('INSERT INTO job_log (job_id, at, kind, data, dedup) VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING'),
    logList: sql.prepare('SELECT * FROM job_log WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?'),
    ckPut: sql.prepare(
      `INSERT INTO checkpoints (job_id, solver, idx, step, state_hash, blob) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, solver, idx) DO UPDATE SET step = excluded.step, state_hash = excluded.state_hash, blob = excluded.blob`,
    ),
    ckList: sql.prepare('SELECT * FROM checkpoints WHERE job_id = ? AND solver = ? ORDER BY idx'),
    resPut: sql.prepare(
      `INSERT INTO results (job_id, root, model_hash, list, solver, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, root) DO NOTHING`,
    ),
    resGet: sql.prepare('SELECT * FROM results WHERE job_id = ? AND root = ?'),
    resList: sql.prepare('SELECT * FROM results WHERE job_id = ? ORDER BY at DESC'),
    addrAdd: sql.prepare(
      `INSERT INTO peer_addrs (peer_id, addr, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (peer_id, addr) DO UPDATE SET updated_at = excluded.updated_at`,
    ),
    addrList: sql.prepare('SELECT * FROM peer_addrs ORDER BY updated_at DESC LIMIT ?'),
  };

  const toJob = (r: Record<string, unknown>): JobRow => ({
    jobId: BigInt(r.job_id as number),
    state: r.state as JobState,
    submitter: r.submitter as Address,
    specHash: r.spec_hash as string,
    datasetRoot: r.dataset_root as Hex,
    manifestHash: r.manifest_hash as Hex,
    price: BigInt(r.price as string),
    duration: Number(r.duration),
    steps: Number(r.steps),
    checkpointInterval: Number(r.checkpoint_interval),
    checkpoints: Number(r.checkpoints),
    verifiers: Number(r.verifiers),
    samples: Number(r.samples),
    challengeWindow: Number(r.challenge_window),
    collateral: BigInt(r.collateral as string),
    postedBlock: Number(r.posted_block),
    since: Number(r.since),
    solver: (r.solver as Address | null) ?? null,
    solverNode: r.solver_node === null ? null : BigInt(r.solver_node as number),
    committed: Number(r.committed),
    root: (r.root as Hex | null) ?? null,
    modelHash: (r.model_hash as Hex | null) ?? null,
    verification: r.verification ? (JSON.parse(r.verification as string) as JobVerification) : null,
    updatedBlock: Number(r.updated_block),
  });
  const toTask = <T>(r: Record<string, unknown>): Task<T> => ({
    jobId: BigInt(r.job_id as number),
    role: r.role as Role,
    status: r.status as string,
    data: JSON.parse(r.data as string) as T,
    error: (r.error as string | null) ?? null,
    updatedAt: Number(r.updated_at),
  });
  const toCk = (r: Record<string, unknown>): CheckpointRow => ({
    jobId: BigInt(r.job_id as number),
    solver: r.solver as Address,
    index: Number(r.idx),
    step: Number(r.step),
    stateHash: r.state_hash as string,
    blob: r.blob as string,
  });
  const toRes = (r: Record<string, unknown>): ResultRow => ({
    jobId: BigInt(r.job_id as number),
    root: r.root as Hex,
    modelHash: r.model_hash as Hex,
    list: r.list as string,
    solver: r.solver as Address,
    at: Number(r.at),
  });

  return {
    kv: {
      get: (key) => (q.kvGet.get(key) as { value: string } | undefined)?.value,
      set: (key, value) => void q.kvSet.run(key, value),
      keys: (prefix) => q.kvKeys.all(prefix, prefix).map((r) => r.key as string),
    },
    jobs: {
      get(jobId) {
        const r = q.jobGet.get(jobIdOf(jobId));
        return r === undefined ? undefined : toJob(r);
      },
      put(j) {
        q.jobPut.run(
          jobIdOf(j.jobId),
          j.state,
          j.submitter,
          j.specHash,
          j.datasetRoot,
          j.manifestHash,
          j.price.toString(),
          j.duration,
          j.steps,
          j.checkpointInterval,
          j.checkpoints,
          j.verifiers,
          j.samples,
          j.challengeWindow,
          j.collateral.toString(),
          j.postedBlock,
          j.since,
          j.solver,
          j.solverNode === null ? null : Number(j.solverNode),
          j.committed,
          j.root,
          j.modelHash,
          j.verification === null ? null : JSON.stringify(j.verification),
          j.updatedBlock,
        );
      },
      list(opts = {}) {
        const rows = q.jobList.all(opts.limit ?? 1000).map(toJob);
        return opts.states ? rows.filter((r) => opts.states!.includes(r.state)) : rows;
      },
    },
    tasks: {
      get<T>(jobId: bigint, role: Role) {
        const r = q.taskGet.get(jobIdOf(jobId), role);
        return r === undefined ? undefined : toTask<T>(r);
      },
      put<T extends Record<string, unknown>>(jobId: bigint, role: Role, status: string, data: Partial<T> = {}, opts: { error?: string | null; replace?: boolean } = {}) {
        return db.transaction(() => {
          const old = opts.replace ? undefined : q.taskGet.get(jobIdOf(jobId), role);
          const merged = { ...(old ? (JSON.parse(old.data as string) as object) : {}), ...data } as T;
          const now = Date.now();
          q.taskPut.run(jobIdOf(jobId), role, status, JSON.stringify(merged), opts.error ?? null, now);
          return { jobId, role, status, data: merged, error: opts.error ?? null, updatedAt: now };
        });
      },
      list(opts = {}) {
        return q.taskList
          .all()
          .map((r) => toTask<Record<string, unknown>>(r))
          .filter((t) => (opts.role === undefined || t.role === opts.role) && (opts.statuses === undefined || opts.statuses.includes(t.status)));
      },
    },
    log: {
      add: (jobId, kind, data, dedup, at = Date.now()) => Number(q.logAdd.run(jobIdOf(jobId), at, kind, JSON.stringify(data), dedup).changes) === 1,
      list: (jobId, opts = {}) =>
        q.logList.all(jobIdOf(jobId), opts.afterId ?? 0, opts.limit ?? 10_000).map((r) => ({
          id: Number(r.id),
          jobId,
          at: Number(r.at),
          kind: r.kind as string,
          data: JSON.parse(r.data as string) as Record<string, unknown>,
        })),
    },
    checkpoints: {
      put: (c) => void q.ckPut.run(jobIdOf(c.jobId), c.solver.toLowerCase(), c.index, c.step, c.stateHash, c.blob),
      list: (jobId, solver) => q.ckList.all(jobIdOf(jobId), solver.toLowerCase()).map(toCk),
    },
    results: {
      put: (r) => void q.resPut.run(jobIdOf(r.jobId), r.root, r.modelHash, r.list, r.solver.toLowerCase(), r.at),
      get(jobId, root) {
        const r = q.resGet.get(jobIdOf(jobId), root);
        return r === undefined ? undefined : toRes(r);
      },
      list: (jobId) => q.resList.all(jobIdOf(jobId)).map(toRes),
    },
    peerAddrs: {
      add: (peerId, addr, now = Date.now()) => void q.addrAdd.run(peerId, addr, now),
      list: (limit = 64) => q.addrList.all(limit).map((r) => ({ peerId: r.peer_id as string, addr: r.addr as string, updatedAt: Number(r.updated_at) })),
    },
  };
}
