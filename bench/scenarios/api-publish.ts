// Server API publish throughput: 32 keep-alive connections in a closed loop (32 requests in flight)
// sending POST /api/publish to a channel nobody subscribes to, on the memory engine or (herald-redis)
// on one node with the redis engine and its own redis-server; the yardstick is a bare fastify route
// answering {"result":{}} to the same requests, measured in the same run. On Redis the node's and
// Redis's CPU are read apart: what each costs per publication says where the limit of a cluster is.
import { Generator } from '../lib/generator.js';
import { Histogram } from '../lib/hist.js';
import { CpuMeter } from '../lib/proc.js';
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

export async function apiPublish(
  ctx: BenchContext,
  start: StartServer,
  kind: 'herald' | 'herald-redis' | 'baseline',
  inFlight = 32,
): Promise<ApiPublishResult> {
  const runMs = ctx.quick ? 2000 : 5000;
  const server = await start(kind === 'baseline' ? 'fastify' : kind);
  const gen = new Generator(ctx.generatorCore);
  try {
    const [proc] = await gen.spawn(1);
    const cmd = {
      op: 'http-run' as const,
      base: server.base,
      path: '/api/publish',
      body: '{"channel":"bench-api","data":{"text":"hello from the backend","n":12345}}',
      connections: inFlight,
    };
    // Warm-up: JIT, sockets.
    await proc.call({ ...cmd, durationMs: 1000 });
    const serverCpu = new CpuMeter(() => [server.pid]);
    const redisCpu = new CpuMeter(() => (server.redisPid ? [server.redisPid] : []));
    const genCpu = new CpuMeter(() => gen.pids());
    serverCpu.start();
    redisCpu.start();
    genCpu.start();
    const r = await proc.call<{ requests: number; errors: number; counts: number[] }>(
      { ...cmd, durationMs: runMs },
      runMs + 10_000,
    );
    const cpuS = serverCpu.share();
    const cpuG = genCpu.share();
    const cpuR = server.redisPid ? redisCpu.share() : undefined;
    const hist = new Histogram(r.counts);
    const rps = r.requests / (runMs / 1000);
    const step: StepReport = {
      offered: rps,
      delivered: 1,
      p50: hist.quantile(0.5),
      p99: hist.quantile(0.99),
      serverCpu: cpuS,
      generatorCpu: cpuG,
      serverCpuUsPerDelivery: rps > 0 ? (cpuS * 1e6) / rps : undefined,
      ok: r.errors === 0,
    };
    const redisUs = cpuR !== undefined && rps > 0 ? (cpuR * 1e6) / rps : undefined;
    ctx.log(
      `  ${kind === 'baseline' ? 'fastify' : kind} api publish, ${inFlight} in flight: ${Math.round(rps)} req/s ` +
        `(${r.errors} not 200) p50 ${step.p50.toFixed(2)} ms p99 ${step.p99.toFixed(2)} ms ` +
        `cpu server ${cpuS.toFixed(2)} gen ${cpuG.toFixed(2)} (server ${step.serverCpuUsPerDelivery?.toFixed(1)} us/request)` +
        (cpuR === undefined ? '' : ` redis cpu ${cpuR.toFixed(2)} (${redisUs?.toFixed(1)} us/publication)`),
    );
    return {
      inFlight,
      requestsPerSec: rps,
      errors: r.errors,
      step,
      redisCpu: cpuR,
      redisUsPerRequest: redisUs,
    };
  } finally {
    await gen.stop();
    await server.stop();
  }
}
