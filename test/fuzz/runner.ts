// Runs fuzz targets within a case count AND a time budget, each case from its own seeded Rng, and
// collects failures with what is needed to replay them (seed, target, case index, input preview).
import { type ErrorName, HeraldError } from '../../src/errors.js';
import { nameHash, Rng } from './rng.js';

export interface Target {
  name: string;
  /** Relative share of a run's cases. */
  weight: number;
  setup?(): Promise<void>;
  /** One case. Throws (a Defect or anything unexpected) when a property does not hold. */
  run(rng: Rng, index: number): void | Promise<void>;
  teardown?(): Promise<void>;
  /** Cases in flight at once (socket targets wait on the network); default 1. */
  concurrency?: number;
  /** What the cases reached, for the log: proof that they got past the first refusal. */
  summary?(): string;
}

/** A property that did not hold, with the input that broke it. */
export class Defect extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
  }
}

export function preview(input: unknown, max = 300): string {
  let s: string;
  if (Buffer.isBuffer(input) || input instanceof Uint8Array) s = `hex:${Buffer.from(input).toString('hex')}`;
  else if (typeof input === 'string') s = JSON.stringify(input);
  else {
    try {
      s = JSON.stringify(input) ?? String(input);
    } catch {
      s = String(input);
    }
  }
  return s.length > max ? `${s.slice(0, max)}... (${s.length} chars)` : s;
}

/** Passes when `err` is a catalogue error of one of `kinds`; anything else is a defect. */
export function expectHeraldError(err: unknown, kinds: readonly ErrorName[], input: unknown): void {
  if (err instanceof HeraldError && kinds.includes(err.kind)) return;
  const what =
    err instanceof HeraldError
      ? `catalogue error ${err.kind}`
      : `${(err as Error)?.name}: ${(err as Error)?.message}`;
  throw new Defect(`expected ${kinds.join('|')}, got ${what}`, input);
}

export interface Failure {
  target: string;
  seed: number;
  index: number;
  message: string;
  input?: string;
}

export interface TargetStats {
  name: string;
  cases: number;
  ms: number;
  failures: number;
}

export interface RunOptions {
  seed: number;
  /** Total cases, shared by weight. */
  cases: number;
  /** Total wall time, shared by weight; a target stops at whichever bound it reaches first. */
  seconds: number;
  /** Replay just this case index (with `only`). */
  index?: number;
  only?: string;
  log?: (line: string) => void;
  /** Stop a target after this many failures: one bug tends to fail thousands of cases. */
  maxFailuresPerTarget?: number;
}

export async function runTargets(
  targets: Target[],
  opts: RunOptions,
): Promise<{ stats: TargetStats[]; failures: Failure[] }> {
  const chosen = opts.only ? targets.filter((t) => t.name === opts.only) : targets;
  const totalWeight = chosen.reduce((s, t) => s + t.weight, 0);
  const failures: Failure[] = [];
  const stats: TargetStats[] = [];
  const maxFailures = opts.maxFailuresPerTarget ?? 5;
  const runDeadline = performance.now() + opts.seconds * 1000;
  let weightLeft = totalWeight;
  for (const t of chosen) {
    const count =
      opts.index !== undefined ? 1 : Math.max(1, Math.round((opts.cases * t.weight) / totalWeight));
    // Time a fast target did not use goes to the targets after it.
    const budgetMs = ((runDeadline - performance.now()) * t.weight) / weightLeft;
    weightLeft -= t.weight;
    await t.setup?.();
    const started = performance.now();
    const deadline = started + budgetMs;
    const stream = nameHash(t.name);
    let done = 0;
    let failed = 0;
    let next = opts.index ?? 0;
    const checkEvery = t.concurrency ? 1 : 64;
    const worker = async () => {
      while (done < count && failed < maxFailures) {
        // Checking the clock every case costs more than small in-process cases do.
        if (done % checkEvery === 0 && performance.now() > deadline && opts.index === undefined) break;
        const i = next++;
        done++;
        try {
          const r = t.run(new Rng(opts.seed, stream, i), i);
          if (r instanceof Promise) await r;
        } catch (err) {
          failed++;
          const e = err as Error;
          failures.push({
            target: t.name,
            seed: opts.seed,
            index: i,
            message: e instanceof Defect ? e.message : `${e?.name}: ${e?.message}\n${e?.stack ?? ''}`,
            input: err instanceof Defect && err.input !== undefined ? preview(err.input) : undefined,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: t.concurrency ?? 1 }, worker));
    await t.teardown?.();
    const ms = performance.now() - started;
    stats.push({ name: t.name, cases: done, ms, failures: failed });
    opts.log?.(
      `${t.name.padEnd(22)} ${String(done).padStart(9)} cases ${(ms / 1000).toFixed(1).padStart(6)} s` +
        (failed ? `  ${failed} FAILED` : ''),
    );
    const summary = t.summary?.();
    if (summary) opts.log?.(`  ${summary}`);
  }
  return { stats, failures };
}
