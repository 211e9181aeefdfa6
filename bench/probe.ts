// Preloaded (--import) into every server the benchmark starts, Herald and baseline alike, so the
// server code itself carries no benchmark hook. On SIGUSR2 it runs a full GC (needs --expose-gc) and
// writes process.memoryUsage() to $BENCH_MEMORY_FILE; the runner then reads VmRSS from /proc.
// With $BENCH_HEAP_DIR set it also writes a heap snapshot there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

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
    writeFileSync(file, JSON.stringify({ ...usage, gc: Boolean(gc), at: Date.now() }));
  });
}
