// Echo on /echo: C connections in a closed loop (each sends its next message when the answer to the
// previous one arrives). Round trips per second and their latency.
import { CONNECTIONS_PER_WORKER, Generator, shares } from '../lib/generator.js';
import { Histogram } from '../lib/hist.js';
import { CpuMeter } from '../lib/proc.js';
import type { BenchContext, StartServer, StepReport } from './context.js';

export interface EchoResult {
  connections: number;
  roundTripsPerSec: number;
  step: StepReport;
}

export async function echo(
  ctx: BenchContext,
  start: StartServer,
  kind: 'herald' | 'baseline',
  connections: number,
): Promise<EchoResult> {
  const runMs = ctx.quick ? 2000 : 5000;
  const server = await start(kind);
  const gen = new Generator(ctx.generatorCore);
  try {
    const procs = await gen.spawn(Math.ceil(connections / CONNECTIONS_PER_WORKER));
    const counts = shares(connections, procs.length);
    await Promise.all(
      procs.map((p, i) => p.call({ op: 'echo-open', base: server.base, count: counts[i], concurrency: 50 })),
    );
    // A short warm-up so JIT and socket buffers are settled before the measured run.
    await Promise.all(procs.map((p) => p.call({ op: 'echo-run', durationMs: 500, size: 32 })));
    const serverCpu = new CpuMeter(() => [server.pid]);
    const genCpu = new CpuMeter(() => gen.pids());
    serverCpu.start();
    genCpu.start();
    const parts = await Promise.all(
      procs.map((p) =>
        p.call<{ roundTrips: number; counts: number[] }>(
          { op: 'echo-run', durationMs: runMs, size: 32 },
          runMs + 10_000,
        ),
      ),
    );
    const cpuS = serverCpu.share();
    const cpuG = genCpu.share();
    const hist = new Histogram();
    let roundTrips = 0;
    for (const p of parts) {
      hist.merge(p);
      roundTrips += p.roundTrips;
    }
    const rps = roundTrips / (runMs / 1000);
    const step: StepReport = {
      offered: rps,
      delivered: 1,
      p50: hist.quantile(0.5),
      p99: hist.quantile(0.99),
      serverCpu: cpuS,
      generatorCpu: cpuG,
      ok: true,
    };
    ctx.log(
      `  ${kind} echo ${connections}: ${Math.round(rps)} rt/s p50 ${step.p50.toFixed(2)} ms p99 ${step.p99.toFixed(2)} ms ` +
        `cpu server ${cpuS.toFixed(2)} gen ${cpuG.toFixed(2)}`,
    );
    return { connections, roundTripsPerSec: rps, step };
  } finally {
    await Promise.all(gen.processes.map((p) => p.call({ op: 'close' }, 10_000).catch(() => {})));
    await gen.stop();
    await server.stop();
  }
}
