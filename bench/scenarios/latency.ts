// Latency at a fixed rate, interleaved: the bare ws broadcast and Herald both run, each with its own
// N subscribers and publisher, and take turns in short slices (ws, Herald, Herald, ws, ...) at the
// same offered rate. On a shared machine whose load moves by the second, two servers measured one
// after the other saw different machines; here a drift falls on both alike, and each side's
// histogram is the sum of its own slices. The fan-out scenario's 25k/s step, one slice at a time,
// gives one run's noise; this row is the one the latency target is read from.

import { connectDoor, Generator, type LoadProcess } from '../lib/generator.js';
import { Histogram } from '../lib/hist.js';
import { CpuMeter } from '../lib/proc.js';
import { type RunningServer, type ServerKind, sleep } from '../lib/servers.js';
import type { BenchContext, StartServer } from './context.js';

export interface LatencySide {
  slices: number;
  sent: number;
  received: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  /**
   * The median over slices of each slice's own p99: a stall of the shared machine during one
   * slice moves the pooled p99 of whichever server it hit, and this much less.
   */
  p99MedianOfSlices: number;
  serverCpu: number;
  generatorCpu: number;
}

interface Lane {
  server: RunningServer;
  subs: LoadProcess[];
  pub: LoadProcess;
  connected: number;
  hist: Histogram;
  sliceP99: number[];
  sent: number;
  received: number;
  slices: number;
  cpuServer: number;
  cpuGenerator: number;
  serverMeter: CpuMeter;
  genMeter: CpuMeter;
}

/** One server of an interleaved run: its name in the results, how it is started, its door. */
export interface LatencyLaneSpec {
  name: string;
  kind: ServerKind;
  adapter: string;
}

export async function latencyInterleaved(
  ctx: BenchContext,
  start: StartServer,
  specs: LatencyLaneSpec[],
  subscribers: number,
  deliveriesPerSec: number,
): Promise<Record<string, LatencySide>> {
  const slices = ctx.quick ? 3 : 10;
  const sliceMs = ctx.quick ? 800 : 1500;
  const gen = new Generator(ctx.generatorCore);
  const started: RunningServer[] = [];
  let stepNo = 1000;
  try {
    const lanes: Lane[] = [];
    for (const spec of specs) {
      const server = await start(spec.kind);
      started.push(server);
      lanes.push(await openLane(gen, server, spec.adapter, subscribers));
    }
    for (let i = 0; i < slices; i++) {
      // Forward, then backward (ABBA for two): no server always goes right after the same other.
      const turn = i % 2 === 0 ? lanes : [...lanes].reverse();
      for (const lane of turn) await slice(lane, ++stepNo, sliceMs, deliveriesPerSec);
    }
    const out: Record<string, LatencySide> = {};
    specs.forEach((spec, i) => {
      const lane = lanes[i];
      const side: LatencySide = {
        slices: lane.slices,
        sent: lane.sent,
        received: lane.received,
        p50: lane.hist.quantile(0.5),
        p90: lane.hist.quantile(0.9),
        p99: lane.hist.quantile(0.99),
        p999: lane.hist.quantile(0.999),
        p99MedianOfSlices: median(lane.sliceP99),
        serverCpu: lane.cpuServer / lane.slices,
        generatorCpu: lane.cpuGenerator / lane.slices,
      };
      out[spec.name] = side;
      ctx.log(
        `  ${spec.name} ${spec.adapter} ${subscribers}: ${lane.slices} slices, ` +
          `${((lane.received / Math.max(1, lane.sent * lane.connected)) * 100).toFixed(1)}% delivered, ` +
          `p50 ${side.p50.toFixed(2)} p90 ${side.p90.toFixed(2)} p99 ${side.p99.toFixed(2)} ` +
          `p99.9 ${side.p999.toFixed(2)} ms, p99 median of slices ${side.p99MedianOfSlices.toFixed(2)}, cpu server ${side.serverCpu.toFixed(2)}`,
      );
    });
    return out;
  } finally {
    await Promise.all(gen.processes.map((p) => p.call({ op: 'close' }, 10_000).catch(() => {})));
    await gen.stop();
    for (const s of started) await s.stop();
  }
}

async function openLane(
  gen: Generator,
  server: RunningServer,
  adapter: string,
  subscribers: number,
): Promise<Lane> {
  const { subs, pub, connected } = await connectDoor(gen, server, adapter, subscribers);
  await sleep(300);
  return {
    server,
    subs,
    pub,
    connected,
    hist: new Histogram(),
    sliceP99: [],
    sent: 0,
    received: 0,
    slices: 0,
    cpuServer: 0,
    cpuGenerator: 0,
    serverMeter: new CpuMeter(() => server.pids),
    genMeter: new CpuMeter(() => [...subs, pub].map((p) => p.pid)),
  };
}

async function slice(lane: Lane, step: number, ms: number, deliveriesPerSec: number): Promise<void> {
  const { subs, pub } = lane;
  await Promise.all([...subs, pub].map((p) => p.call({ op: 'step', step })));
  lane.serverMeter.start();
  lane.genMeter.start();
  const sent = await pub.call<{ sent: number; elapsedMs: number }>(
    { op: 'publish', step, rate: deliveriesPerSec / lane.connected, durationMs: ms, size: 100, channels: 0 },
    ms + 10_000,
  );
  lane.cpuServer += lane.serverMeter.share();
  lane.cpuGenerator += lane.genMeter.share();
  // Wait until every delivery is in, or none has come for 500 ms (a stall on a shared machine can
  // pause them for longer than a few publication intervals), at most 5 s.
  const expected = sent.sent * lane.connected;
  let last = -1;
  let lastChange = Date.now();
  const until = Date.now() + 5000;
  for (;;) {
    await sleep(50);
    const parts = await Promise.all(
      subs.map((p) => p.call<{ received: number; stale: number; counts: number[] }>({ op: 'collect' })),
    );
    const received = parts.reduce((s, p) => s + p.received, 0);
    if (received !== last) lastChange = Date.now();
    if (received >= expected || Date.now() - lastChange >= 500 || Date.now() > until) {
      const own = new Histogram();
      for (const p of parts) own.merge(p);
      lane.hist.merge(own);
      if (own.total > 0) lane.sliceP99.push(own.quantile(0.99));
      lane.received += received;
      break;
    }
    last = received;
  }
  lane.sent += sent.sent;
  lane.slices++;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
