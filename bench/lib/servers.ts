// Starts the servers under test as child processes pinned to their own core: a real Herald from its
// command line, and the bare `ws` baseline. Both get the memory probe preloaded (see probe.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinPrefix, rssKiB } from './proc.js';

/** Limits off, as flags: a benchmark's thousands of clients share one address. */
export const BENCH_UNLIMITED = [
  '--max-connections-per-ip',
  '0',
  '--connection-rate-per-ip',
  '0',
  '--command-rate',
  '0',
  '--publish-rate',
  '0',
];

/**
 * herald: one node; baseline: the bare ws loop; mosquitto: the MQTT baseline (where installed);
 * cluster: two Herald nodes with the redis engine on a redis-server of their own (publisher on
 * node A, subscribers on node B); herald-redis: one Herald node on the redis engine with a
 * redis-server of its own; fastify: a bare fastify route, the server API's yardstick.
 */
export type ServerKind = 'herald' | 'baseline' | 'fastify' | 'mosquitto' | 'cluster' | 'herald-redis';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) =>
  existsSync(p),
);

export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** http://127.0.0.1:PORT */
  base: string;
  /** mqtt://127.0.0.1:PORT of the MQTT listener, where there is one. */
  mqttBase?: string;
  /** Where the publisher connects when it is not `base` (the cluster's other node). */
  publishBase?: string;
  /** Every process whose CPU counts as the server's (both nodes and Redis for the cluster). */
  pids: number[];
  /** The redis-server of cluster and herald-redis, to read its CPU apart from the nodes'. */
  redisPid?: number;
  /** Forces a full GC in the server and returns its RSS and V8 heap use afterwards, in KiB. */
  memory(): Promise<MemoryProbe>;
  stop(): Promise<void>;
}

/** One memory probe of a server, after a forced full GC where the probe could run one. */
export interface MemoryProbe {
  rssKiB: number;
  heapKiB: number;
  gc: boolean;
  /**
   * KiB: process.memoryUsage() (heapTotal, heapUsed, external, arrayBuffers) and resident memory
   * by mapping (brkHeap, anonSmall, anon, other) and each V8 heap space's committed and used
   * size (see probe.ts), where the probe answered.
   */
  detail?: Record<string, number>;
}

export interface ServerOptions {
  core: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Run Herald from this checkout instead of the current one (to compare two commits). */
  heraldRoot?: string;
  /** Write a heap snapshot here at every memory probe. */
  heapDir?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(kind: ServerKind, opts: ServerOptions): Promise<RunningServer> {
  if (kind === 'mosquitto') return startMosquitto(opts);
  if (kind === 'cluster') return startCluster(opts, 2);
  if (kind === 'herald-redis') return startCluster(opts, 1);
  return startNode(kind, opts, []);
}

async function startNode(
  kind: 'herald' | 'baseline' | 'fastify',
  opts: ServerOptions,
  extra: string[],
): Promise<RunningServer> {
  const port = await freePort();
  const mqttPort = kind === 'herald' ? await freePort() : 0;
  const memFile = join(tmpdir(), `herald-bench-mem-${process.pid}-${port}.json`);
  const node = [
    process.execPath,
    '--expose-gc',
    '--import',
    'tsx',
    '--import',
    fileURLToPath(new URL('../probe.ts', import.meta.url)),
    ...(opts.nodeFlags ?? []),
  ];
  const script =
    kind === 'herald'
      ? [
          'src/cli.ts',
          'serve',
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--log-level',
          // Cluster nodes warn once per client at shutdown (presence leave after Redis is gone).
          extra.length > 0 ? 'error' : 'warn',
          '--mqtt-port',
          String(mqttPort),
          '--mqtt-host',
          '127.0.0.1',
          // Every load client comes from loopback: per-address and per-connection limits would
          // measure the limits, not the server.
          ...BENCH_UNLIMITED,
          ...extra,
        ]
      : [
          kind === 'fastify' ? 'bench/baseline/fastify.ts' : 'bench/baseline/server.ts',
          '--port',
          String(port),
        ];
  const argv = [...pinPrefix(opts.core), ...node, ...script];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: kind === 'herald' && opts.heraldRoot ? opts.heraldRoot : process.cwd(),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      BENCH_MEMORY_FILE: memFile,
      ...(opts.heapDir ? { BENCH_HEAP_DIR: opts.heapDir } : {}),
    },
  });
  await waitForPort(port, child, 30_000);
  const pid = child.pid!;
  return {
    kind,
    pid,
    port,
    base: `http://127.0.0.1:${port}`,
    mqttBase: mqttPort ? `mqtt://127.0.0.1:${mqttPort}` : undefined,
    pids: [pid],
    async memory() {
      rmSync(memFile, { force: true });
      child.kill('SIGUSR2');
      const deadline = Date.now() + (opts.heapDir ? 60_000 : 10_000);
      while (!existsSync(memFile) && Date.now() < deadline) await sleep(50);
      await sleep(100); // let the kernel's RSS figure settle after the collection
      let heapKiB = Number.NaN;
      let gc = false;
      let detail: Record<string, number> | undefined;
      try {
        const m = JSON.parse(readFileSync(memFile, 'utf8'));
        heapKiB = m.heapUsed / 1024;
        gc = m.gc;
        const d: Record<string, number> = { ...(m.mappings ?? {}), ...(m.spaces ?? {}) };
        for (const k of ['heapTotal', 'heapUsed', 'external', 'arrayBuffers']) d[k] = m[k] / 1024;
        detail = d;
      } catch {
        // the probe did not answer: report RSS only
      }
      return { rssKiB: rssKiB(pid), heapKiB, gc, detail };
    },
    stop: () => stopChild(child),
  };
}

/** mosquitto on a free loopback port with a generated config file, pinned like the other servers. */
async function startMosquitto(opts: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const conf = join(tmpdir(), `herald-bench-mosquitto-${process.pid}-${port}.conf`);
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest none\npersistence false\nmax_queued_messages 100000\n`,
  );
  const argv = [...pinPrefix(opts.core), MOSQUITTO, '-c', conf];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child, 10_000);
  const pid = child.pid!;
  return {
    kind: 'mosquitto',
    pid,
    port,
    base: `mqtt://127.0.0.1:${port}`,
    mqttBase: `mqtt://127.0.0.1:${port}`,
    pids: [pid],
    memory: async () => ({ rssKiB: rssKiB(pid), heapKiB: Number.NaN, gc: false }),
    async stop() {
      await stopChild(child);
      rmSync(conf, { force: true });
    },
  };
}

/** Herald nodes (redis engine) on a redis-server of their own, all on the server core. */
async function startCluster(opts: ServerOptions, count: 1 | 2): Promise<RunningServer> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed');
  const redisPort = await freePort();
  const argv = [
    ...pinPrefix(opts.core),
    REDIS_SERVER,
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const redis = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(redisPort, redis, 10_000);
  const extra = ['--engine', 'redis', '--redis-url', `redis://127.0.0.1:${redisPort}`];
  const nodes: RunningServer[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startNode('herald', opts, extra));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await stopChild(redis);
    throw err;
  }
  const [a, b = a] = nodes;
  return {
    ...b,
    kind: count === 2 ? 'cluster' : 'herald-redis',
    publishBase: count === 2 ? a.base : undefined,
    pids: count === 2 ? [a.pid, b.pid, redis.pid!] : [a.pid, redis.pid!],
    redisPid: redis.pid,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await stopChild(redis);
    },
  };
}

export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`server exited with code ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
