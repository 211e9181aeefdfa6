// Server API publish throughput: 32 keep-alive connections in a closed loop (32 requests in flight)
// sending POST /api/publish to a channel nobody subscribes to, on the memory engine or (herald-redis)
// on one node with the redis engine and its own redis-server; the yardstick is a bare fastify route
// answering {"result":{}} to the same requests, measured in the same run, in slices alternating
// with Herald's. On Redis the node's and
// Redis's CPU are read apart: what each costs per publication says where the limit of a cluster is.
import { Generator } from '../lib/generator.js';
import { Histogram } from '../lib/hist.js';
import { cpuSeconds } from '../lib/proc.js';
import type { RunningServer } from '../lib/servers.js';
import type { BenchContext, StartServer, StepReport } from './context.js';

export interface ApiPublishResult {
  inFlight: number;
  requestsPerSec: number;
  errors: number;
  step: StepReport;
  /** herald-redis: Redis's share of a core and its CPU microseconds per publication. */
  redisCpu?: number;
  redisUsPerRequest?: number;
}

/** One server's share of an interleaved run, summed over its slices. */
class Side {
  requests = 0;
  errors = 0;
  seconds = 0;
  serverCpu = 0;
  generatorCpu = 0;
  redisCpu = 0;
  readonly hist = new Histogram();
}

/**
 * The bare fastify route and Herald, both running, take the same load in alternating slices
 * (fastify, Herald, Herald, fastify, ...: a drift in what the machine gives us falls on both
 * alike), each side's requests and CPU summed over its slices. On a shared machine whose load
 * moves by the second, two servers measured one after the other saw different machines.
 */
export async function apiPublishInterleaved(
  ctx: BenchContext,
  start: StartServer,
  heraldKind: 'herald' | 'herald-redis',
  servers: { baseline: boolean; herald: boolean },
  inFlight = 32,
): Promise<{ baseline?: ApiPublishResult; herald?: ApiPublishResult }> {
  const slices = ctx.quick ? 4 : 10;
  const sliceMs = 500;
  const fastify = servers.baseline ? await start('fastify') : undefined;
  const herald = servers.herald ? await start(heraldKind).catch(stopFirst(fastify)) : undefined;
  const gen = new Generator(ctx.generatorCore);
  try {
    const [proc] = await gen.spawn(1);
    const cmd = (base: string, durationMs: number) => ({
      op: 'http-run' as const,
      base,
      path: '/api/publish',
      body: '{"channel":"bench-api","data":{"text":"hello from the backend","n":12345}}',
      connections: inFlight,
      durationMs,
    });
    // Warm-up: JIT, sockets.
    for (const s of [fastify, herald]) if (s) await proc.call(cmd(s.base, 1000));
    const sides = new Map<RunningServer, Side>();
    for (const s of [fastify, herald]) if (s) sides.set(s, new Side());
    const order = [fastify, herald].filter((s) => s !== undefined);
    for (let i = 0; i < slices; i++) {
      const turn = i % 2 === 0 ? order : [...order].reverse();
      for (const server of turn) {
        const side = sides.get(server) as Side;
        const cpu = cpuOf([server.pid]);
        const redis = cpuOf(server.redisPid ? [server.redisPid] : []);
        const load = cpuOf(gen.pids());
        const t0 = performance.now();
        const r = await proc.call<{ requests: number; errors: number; counts: number[] }>(
          cmd(server.base, sliceMs),
          sliceMs + 10_000,
        );
        side.seconds += (performance.now() - t0) / 1000;
        side.serverCpu += cpuOf([server.pid]) - cpu;
        side.redisCpu += cpuOf(server.redisPid ? [server.redisPid] : []) - redis;
        side.generatorCpu += cpuOf(gen.pids()) - load;
        side.requests += r.requests;
        side.errors += r.errors;
        side.hist.merge(r);
      }
    }
    const out: { baseline?: ApiPublishResult; herald?: ApiPublishResult } = {};
    if (fastify) out.baseline = report(ctx, 'fastify', sides.get(fastify) as Side, inFlight, false);
    if (herald) out.herald = report(ctx, heraldKind, sides.get(herald) as Side, inFlight, !!herald.redisPid);
    return out;
  } finally {
    await gen.stop();
    await Promise.all([fastify?.stop(), herald?.stop()]);
  }
}

const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

const stopFirst = (s: RunningServer | undefined) => async (err: unknown) => {
  await s?.stop();
  throw err;
};

function report(
  ctx: BenchContext,
  name: string,
  side: Side,
  inFlight: number,
  redis: boolean,
): ApiPublishResult {
  // Rates over the time the load ran against this server (each slice's own connect included).
  const rps = side.seconds > 0 ? side.requests / side.seconds : 0;
  const cpuS = side.seconds > 0 ? side.serverCpu / side.seconds : 0;
  const cpuG = side.seconds > 0 ? side.generatorCpu / side.seconds : 0;
  const cpuR = redis && side.seconds > 0 ? side.redisCpu / side.seconds : undefined;
  const step: StepReport = {
    offered: rps,
    delivered: 1,
    p50: side.hist.quantile(0.5),
    p99: side.hist.quantile(0.99),
    serverCpu: cpuS,
    generatorCpu: cpuG,
    serverCpuUsPerDelivery: side.requests > 0 ? (side.serverCpu * 1e6) / side.requests : undefined,
    ok: side.errors === 0,
  };
  const redisUs = redis && side.requests > 0 ? (side.redisCpu * 1e6) / side.requests : undefined;
  ctx.log(
    `  ${name} api publish, ${inFlight} in flight: ${Math.round(rps)} req/s ` +
      `(${side.errors} not 200) p50 ${step.p50.toFixed(2)} ms p99 ${step.p99.toFixed(2)} ms ` +
      `cpu server ${cpuS.toFixed(2)} gen ${cpuG.toFixed(2)} (server ${step.serverCpuUsPerDelivery?.toFixed(1)} us/request)` +
      (cpuR === undefined ? '' : ` redis cpu ${cpuR.toFixed(2)} (${redisUs?.toFixed(1)} us/publication)`),
  );
  return {
    inFlight,
    requestsPerSec: rps,
    errors: side.errors,
    step,
    redisCpu: cpuR,
    redisUsPerRequest: redisUs,
  };
}
