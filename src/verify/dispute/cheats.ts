// The names of the cheats a node daemon can be told to play (`veritrain node --fault cheats=...`,
// `--fault griefs=...`; fault tests only). Kept apart from adversary.ts, which loads the engine:
// the daemon only parses and records names, its compute and dispute processes play them.

/** What a cheating solver daemon does with the jobs it claims, in claim order. */
export const SOLVER_CHEATS = ['fake-work', 'bit-flip', 'skip', 'wrong-batch', 'wrong-update', 'copy', 'silent'] as const;
export type SolverCheat = (typeof SOLVER_CHEATS)[number];
/** What a griefing watcher daemon does to the jobs it watches, in order. */
export const GRIEFS = ['loud', 'silent'] as const;
export type Grief = (typeof GRIEFS)[number];
/** A cheat a node's dispute process defends: a solver's, or a griefing challenger's story. */
export type NodeCheat = SolverCheat | `grief-${Grief}`;

/** The list given as `--fault <key>=a,b,c` (each name checked against `allowed`), or undefined. */
export function faultList<T extends string>(faults: ReadonlySet<string>, key: string, allowed: readonly T[]): T[] | undefined {
  const f = [...faults].find((x) => x.startsWith(`${key}=`));
  if (f === undefined) return undefined;
  const names = f.slice(key.length + 1).split(',').filter(Boolean);
  for (const n of names) {
    if (!allowed.includes(n as T)) throw new Error(`--fault ${key}=: unknown name ${JSON.stringify(n)} (known: ${allowed.join(', ')})`);
  }
  return names as T[];
}

/** The dispute level from which a cheat's party stops answering (undefined: it plays to the end). */
export function silentFrom(name: NodeCheat): number | undefined {
  return name === 'silent' ? 2 : name === 'grief-silent' ? 1 : undefined;
}
