// The one way a test waits: it looks at the state it needs (a message received, a log line, a count)
// until it holds, and fails naming what never came. A fixed sleep either wastes time or, on a
// loaded machine, passes before the thing happened; a condition does neither.

// Taken at load, before any test enables mock timers: a test that fakes the clock must not stall
// (or speed up) the waits of the helpers it still uses.
const realSetTimeout = globalThis.setTimeout;
const now = () => performance.now();

export interface UntilOptions {
  /** What is awaited, in words the failure message will show. */
  what: string;
  /** Give up after this long; default 5000 ms. */
  timeoutMs?: number;
  /** Pause between two looks; default 10 ms. Longer where a look is costly (a child process, HTTP). */
  intervalMs?: number;
  /** The last state seen, added to the failure message, to tell "too slow" from "wrong". */
  detail?: () => string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Resolves with the first truthy value of `cond`; rejects after `timeoutMs`, naming `what`. */
export async function until<T>(cond: () => T | Promise<T>, opts: UntilOptions): Promise<Truthy<Awaited<T>>> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const interval = opts.intervalMs ?? 10;
  const deadline = now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as Truthy<Awaited<T>>;
    const left = deadline - now();
    if (left <= 0) {
      const detail = opts.detail ? `; last seen: ${opts.detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}${detail}`);
    }
    await new Promise((resolve) => realSetTimeout(resolve, Math.min(interval, left)));
  }
}
