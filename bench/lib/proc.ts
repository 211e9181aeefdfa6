// What the kernel says about a process: CPU time and resident memory, read from /proc so that the
// measured process runs no extra code. Pinning uses taskset where it exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size in KiB (VmRSS), or NaN where /proc is missing. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

let tasksetPath: string | null | undefined;
function taskset(): string | null {
  if (tasksetPath === undefined) {
    tasksetPath = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;
  }
  return tasksetPath;
}

/** The command prefix that pins a new process to `core`, or [] where taskset is missing. */
export function pinPrefix(core: number): string[] {
  const t = taskset();
  return t ? [t, '-c', String(core)] : [];
}

/** Pins a running process (all its threads) to `core`; false where that is not possible. */
export function pin(pid: number, core: number): boolean {
  const t = taskset();
  if (!t) return false;
  try {
    execFileSync(t, ['-a', '-pc', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Tracks the CPU share (1.0 = one full core) of a set of processes between two instants. */
export class CpuMeter {
  private startCpu = 0;
  private startAt = 0;
  constructor(private readonly pids: () => number[]) {}

  start(): void {
    this.startCpu = this.sum();
    this.startAt = performance.now();
  }

  /** CPU share since start(). */
  share(): number {
    const secs = (performance.now() - this.startAt) / 1000;
    return secs > 0 ? (this.sum() - this.startCpu) / secs : 0;
  }

  private sum(): number {
    let s = 0;
    for (const pid of this.pids()) s += cpuSeconds(pid);
    return s;
  }
}
