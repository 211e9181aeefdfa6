// Preloaded (--import) into every server the benchmark starts, Herald and baseline alike, so the
// server code itself carries no benchmark hook. On SIGUSR2 it runs a full GC (needs --expose-gc) and
// writes process.memoryUsage() to $BENCH_MEMORY_FILE; the runner then reads VmRSS from /proc.
// With $BENCH_HEAP_DIR set it also writes a heap snapshot there.
// It also splits the resident memory by mapping (/proc/self/smaps): the brk heap (`[heap]`, glibc
// malloc's main arena), anonymous mappings (V8's pages, malloc's other arenas and big blocks) and
// the rest (code, files, stacks), so RSS beyond V8's heap can be told apart (docs/performance.md,
// "Idle RSS, round 3").
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/** Resident KiB by kind of mapping; undefined where /proc is missing. */
function residentByMapping(): Record<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out: Record<string, number> = { brkHeap: 0, anon: 0, anonSmall: 0, other: 0 };
  let kind = 'other';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      const [from, to] = line
        .split(' ', 1)[0]
        .split('-')
        .map((h) => Number.parseInt(h, 16));
      // Mappings under 1 MiB without a name: V8's 256 KiB pages; bigger ones: malloc arenas,
      // V8's large-object and code ranges.
      kind =
        name === '[heap]' ? 'brkHeap' : name === '' ? (to - from < 1 << 20 ? 'anonSmall' : 'anon') : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]);
  }
  return out;
}

/** Committed and used KiB of each V8 heap space (new space, old space, ...). */
function heapSpaces(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of getHeapSpaceStatistics()) {
    const name = s.space_name.replace(/_space$/, '');
    out[`${name}Size`] = s.space_size / 1024;
    out[`${name}Used`] = s.space_used_size / 1024;
  }
  return out;
}

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    // Optional: a heap snapshot per probe, for `bench/heap-diff.ts` (what each connection costs).
    const dir = process.env.BENCH_HEAP_DIR;
    if (dir) writeHeapSnapshot(join(dir, `${process.pid}-${Date.now()}.heapsnapshot`));
    writeFileSync(
      file,
      JSON.stringify({
        ...usage,
        mappings: residentByMapping(),
        spaces: heapSpaces(),
        gc: Boolean(gc),
        at: Date.now(),
      }),
    );
  });
}
