// Fan-out: N subscribers of one channel and one publisher on the same door, 100-byte payloads stamped
// with their send time. The offered rate is doubled, then bisected, until p99 > 1 s or fewer than
// 95 % arrive; the last passing rate is the maximum sustainable one. A fixed 25,000 deliveries/s step
// gives the latency figures.

import { connectDoor, Generator, type LoadProcess } from '../lib/generator.js';
import { Histogram } from '../lib/hist.js';
import { CpuMeter } from '../lib/proc.js';
import { type ServerKind, sleep } from '../lib/servers.js';
import type { BenchContext, StartServer, StepReport } from './context.js';

export interface FanoutResult {
  subscribers: number;
  connected: number;
  maxDeliveries: number;
  at25k: StepReport | undefined;
  steps: StepReport[];
  note?: string;
}

const FIXED_RATE = 25_000;
const SCENARIO_BUDGET_MS = 55_000;

export async function fanout(
  ctx: BenchContext,
  start: StartServer,
  kind: ServerKind,
  adapter: string,
  subscribers: number,
  /** Many channels: one channel per subscriber, publications spread over them round-robin. */
  spread = false,
): Promise<FanoutResult> {
  const t0 = Date.now();
  const stepMs = ctx.quick ? 1000 : 2500;
  const server = await start(kind);
  const gen = new Generator(ctx.generatorCore);
  try {
    const { subs, pub, connected, firstError } = await connectDoor(gen, server, adapter, subscribers, spread);
    await sleep(300);
    if (connected < subscribers) ctx.log(`  only ${connected}/${subscribers} subscribed (${firstError})`);

    const serverCpu = new CpuMeter(() => server.pids);
    const genCpu = new CpuMeter(() => gen.pids());
    let stepNo = 0;
    const run = async (deliveries: number): Promise<StepReport> => {
      const step = ++stepNo;
      // Spread: every publication has one subscriber, so publications/s = deliveries/s.
      const rate = spread ? deliveries : deliveries / connected;
      await drain(subs, 3000); // an earlier overloaded step's backlog must not count against this one
      await Promise.all([...subs, pub].map((p) => p.call({ op: 'step', step })));
      serverCpu.start();
      genCpu.start();
      const sent = await pub.call<{ sent: number; elapsedMs: number }>(
        { op: 'publish', step, rate, durationMs: stepMs, size: 100, channels: spread ? connected : 0 },
        stepMs + 10_000,
      );
      const cpuS = serverCpu.share();
      const cpuG = genCpu.share();
      const { received, hist } = await drain(subs);
      const expected = spread ? sent.sent : sent.sent * connected;
      const delivered = expected > 0 ? received / expected : 0;
      const report: StepReport = {
        offered: Math.round(deliveries),
        delivered,
        p50: hist.quantile(0.5),
        p99: hist.quantile(0.99),
        serverCpu: cpuS,
        generatorCpu: cpuG,
        serverCpuUsPerDelivery: received > 0 ? (cpuS * sent.elapsedMs * 1000) / received : Number.NaN,
        ok: delivered >= 0.95 && hist.quantile(0.99) <= 1000,
      };
      ctx.log(
        `  ${kind} ${adapter} ${subscribers}: ${fmtK(report.offered)}/s delivered ${(delivered * 100).toFixed(1)}% ` +
          `p50 ${report.p50.toFixed(1)} ms p99 ${report.p99.toFixed(1)} ms cpu server ${cpuS.toFixed(2)} gen ${cpuG.toFixed(2)} ` +
          `(server ${report.serverCpuUsPerDelivery?.toFixed(2)} us/delivery)` +
          (report.ok ? '' : '  FAIL'),
      );
      return report;
    };

    // Unmeasured warm-up, so the JIT and socket buffers settle before the first step counts.
    await run(10_000);
    const steps: StepReport[] = [];
    const at25k = await run(FIXED_RATE);
    steps.push(at25k);
    const overBudget = () => Date.now() - t0 > SCENARIO_BUDGET_MS - 2 * stepMs - 3000;
    // Double from a rate every door should carry, then bisect between the last pass and first failure.
    let good = 0;
    let bad = 0;
    for (let r = 12_500; !overBudget(); r *= 2) {
      const s = r === FIXED_RATE ? at25k : await run(r);
      if (s !== at25k) steps.push(s);
      if (s.ok) good = r;
      else {
        bad = r;
        break;
      }
    }
    for (let i = 0; i < 3 && bad > 0 && !overBudget(); i++) {
      const mid = Math.round((good + bad) / 2);
      const s = await run(mid);
      steps.push(s);
      if (s.ok) good = mid;
      else bad = mid;
    }
    return {
      subscribers,
      connected,
      maxDeliveries: good,
      at25k,
      steps,
      note: bad === 0 ? 'time budget ran out before a failing rate was found' : undefined,
    };
  } finally {
    await Promise.all(gen.processes.map((p) => p.call({ op: 'close' }, 10_000).catch(() => {})));
    await gen.stop();
    await server.stop();
  }
}

/**
 * Waits until deliveries (this step's and stragglers from earlier ones) stop arriving, at most
 * `maxMs`, then sums what every subscriber process got in this step.
 */
async function drain(subs: LoadProcess[], maxMs = 2000): Promise<{ received: number; hist: Histogram }> {
  let last = -1;
  const until = Date.now() + maxMs;
  for (;;) {
    await sleep(200);
    const parts = await Promise.all(
      subs.map((p) => p.call<{ received: number; stale: number; counts: number[] }>({ op: 'collect' })),
    );
    const received = parts.reduce((s, p) => s + p.received, 0);
    const total = parts.reduce((s, p) => s + p.received + p.stale, 0);
    if (total === last || Date.now() > until) {
      const hist = new Histogram();
      for (const p of parts) hist.merge(p);
      return { received, hist };
    }
    last = total;
  }
}

export const fmtK = (n: number) =>
  n >= 1000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : n.toFixed(0);
