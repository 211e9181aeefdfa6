// The load generator: a set of forked load processes (bench/worker.ts) pinned to the generator's
// core, each holding a share of the connections, driven by request/answer messages over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import type { Command } from '../worker.js';
import { pin } from './proc.js';
import { stopChild } from './servers.js';

/** Connections per load process: well under the 20,000 descriptors a process may hold. */
export const CONNECTIONS_PER_WORKER = 5000;

export class LoadProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    readonly child: ChildProcess,
    readonly index: number,
  ) {
    child.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    });
    child.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load process ${index} exited (${code})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends a command; fails after `timeoutMs` so no step can hang the run. */
  call<T = Record<string, unknown>>(cmd: Command, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load process ${this.index}: ${cmd.op} took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, cmd });
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child, 3000);
  }
}

export class Generator {
  readonly processes: LoadProcess[] = [];

  constructor(private readonly core: number | undefined) {}

  async spawn(count: number): Promise<LoadProcess[]> {
    const made: LoadProcess[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.processes.length;
      const child = fork(new URL('../worker.ts', import.meta.url), [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, BENCH_WORKER_INDEX: String(index) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      if (this.core !== undefined) pin(child.pid!, this.core);
      const lp = new LoadProcess(child, index);
      this.processes.push(lp);
      made.push(lp);
    }
    // A trivial round trip proves each process loaded its code.
    await Promise.all(made.map((p) => p.call({ op: 'step', step: -1 }, 30_000)));
    return made;
  }

  pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    this.processes.length = 0;
  }
}

/** Splits `total` into `parts` near-equal shares. */
export function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Subscribers of one door spread over load processes, and a publisher in a process of its own. */
export interface DoorLoad {
  subs: LoadProcess[];
  pub: LoadProcess;
  connected: number;
  firstError?: string;
}

/**
 * Connects `subscribers` clients of `adapter` to `server` (at most CONNECTIONS_PER_WORKER per load
 * process) and one publisher; fails when no subscriber got in. `spread`: subscriber k takes its own
 * channel `chat-<k>` (many channels).
 */
export async function connectDoor(
  gen: Generator,
  server: { base: string; mqttBase?: string; publishBase?: string },
  adapter: string,
  subscribers: number,
  spread = false,
): Promise<DoorLoad> {
  const subs = await gen.spawn(Math.ceil(subscribers / CONNECTIONS_PER_WORKER));
  const [pub] = await gen.spawn(1);
  const counts = shares(subscribers, subs.length);
  const base = adapter === 'mqtt' ? (server.mqttBase ?? server.base) : server.base;
  const opened = await Promise.all(
    subs.map((p, i) =>
      p.call<{ opened: number; failed: number; firstError?: string }>(
        {
          op: 'subscribe',
          adapter,
          base,
          channel: 'chat',
          count: counts[i],
          concurrency: 50,
          first: counts.slice(0, i).reduce((a, b) => a + b, 0),
          spread,
        },
        120_000,
      ),
    ),
  );
  const connected = opened.reduce((s, o) => s + o.opened, 0);
  const firstError = opened.find((o) => o.firstError)?.firstError;
  if (connected === 0) throw new Error(`no subscriber connected (${firstError})`);
  const pubBase = adapter === 'mqtt' ? base : (server.publishBase ?? server.base);
  await pub.call({ op: 'publisher', adapter, base: pubBase, channel: 'chat' });
  return { subs, pub, connected, firstError };
}
