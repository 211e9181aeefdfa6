// Idle connections: N subscribed connections held open. Connections opened per second while they
// arrive, and the server's memory per connection after a forced full GC (VmRSS from /proc, V8 heap
// from the preloaded probe), each compared with the same server's figures before the connections.
import { CONNECTIONS_PER_WORKER, Generator, shares } from '../lib/generator.js';
import { CpuMeter } from '../lib/proc.js';
import { sleep } from '../lib/servers.js';
import type { BenchContext, StartServer } from './context.js';

export interface IdleResult {
  connections: number;
  connected: number;
  connectsPerSec: number;
  rssKiBPerConn: number;
  heapKiBPerConn: number;
  serverCpu: number;
  generatorCpu: number;
  gc: boolean;
}

export async function idle(
  ctx: BenchContext,
  start: StartServer,
  kind: 'herald' | 'baseline',
  adapter: string,
  connections: number,
): Promise<IdleResult> {
  const server = await start(kind);
  const gen = new Generator(ctx.generatorCore);
  try {
    const procs = await gen.spawn(Math.ceil(connections / CONNECTIONS_PER_WORKER));
    await sleep(500);
    const before = await server.memory();
    const counts = shares(connections, procs.length);
    const serverCpu = new CpuMeter(() => [server.pid]);
    const genCpu = new CpuMeter(() => gen.pids());
    serverCpu.start();
    genCpu.start();
    const t0 = performance.now();
    const opened = await Promise.all(
      procs.map((p, i) =>
        p.call<{ opened: number; firstError?: string }>(
          {
            op: 'subscribe',
            adapter,
            base: adapter === 'mqtt' ? (server.mqttBase ?? server.base) : server.base,
            channel: 'chat',
            count: counts[i],
            concurrency: 64,
          },
          45_000, // with server start and the GCs, the scenario stays under 60 s
        ),
      ),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpuS = serverCpu.share();
    const cpuG = genCpu.share();
    const connected = opened.reduce((s, o) => s + o.opened, 0);
    if (connected < connections)
      ctx.log(`  only ${connected}/${connections} connected (${opened[0].firstError})`);
    await sleep(1000);
    const after = await server.memory();
    const r: IdleResult = {
      connections,
      connected,
      connectsPerSec: connected / secs,
      rssKiBPerConn: (after.rssKiB - before.rssKiB) / connected,
      heapKiBPerConn: (after.heapKiB - before.heapKiB) / connected,
      serverCpu: cpuS,
      generatorCpu: cpuG,
      gc: after.gc,
    };
    ctx.log(
      `  ${kind} idle ${adapter} ${connected}: ${r.rssKiBPerConn.toFixed(2)} KiB RSS/conn, ${r.heapKiBPerConn.toFixed(2)} KiB heap/conn, ` +
        `${Math.round(r.connectsPerSec)} conn/s, cpu server ${cpuS.toFixed(2)} gen ${cpuG.toFixed(2)}`,
    );
    if (before.detail && after.detail) {
      // Where RSS beyond the V8 heap sits (probe.ts): per connection, KiB.
      const parts = Object.keys(after.detail).map(
        (k) => `${k} ${(((after.detail?.[k] ?? 0) - (before.detail?.[k] ?? 0)) / connected).toFixed(2)}`,
      );
      ctx.log(`    per conn: ${parts.join(', ')}`);
    }
    if (ctx.idleLater) {
      // Whether V8 gives back what the burst left once the server is quiet (docs/performance.md).
      let waited = 1;
      for (const at of [5, 15]) {
        await sleep((at - waited) * 1000);
        waited = at;
        const later = await server.memory();
        ctx.log(
          `    ${at} s later: ${((later.rssKiB - before.rssKiB) / connected).toFixed(2)} KiB RSS/conn, ` +
            `${((later.heapKiB - before.heapKiB) / connected).toFixed(2)} KiB heap/conn` +
            ['anonSmall', 'heapTotal', 'newSize', 'oldSize']
              .map(
                (k) =>
                  `, ${k} ${(((later.detail?.[k] ?? 0) - (before.detail?.[k] ?? 0)) / connected).toFixed(2)}`,
              )
              .join(''),
        );
      }
    }
    return r;
  } finally {
    await Promise.all(gen.processes.map((p) => p.call({ op: 'close' }, 20_000).catch(() => {})));
    await gen.stop();
    await server.stop();
  }
}
