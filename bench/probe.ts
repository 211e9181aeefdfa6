// Preloaded (--import) into every server the benchmark starts, Herald and baseline alike, so the
// server code itself carries no benchmark hook. On SIGUSR2 it runs a full GC (needs --expose-gc) and
// writes process.memoryUsage() to $BENCH_MEMORY_FILE; the runner then reads VmRSS from /proc.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    writeFileSync(file, JSON.stringify({ ...process.memoryUsage(), gc: Boolean(gc), at: Date.now() }));
  });
}
