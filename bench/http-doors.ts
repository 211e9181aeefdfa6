// Load check for the HTTP doors: API publish rate, SSE fan-out and many held long polls.
// Run: npx tsx bench/http-doors.ts [sseClients=500] [pubs=200] [polls=1000]. Loopback only, bounded.
import http from 'node:http';
import { createHerald } from '../src/server.js';

const [sseClients = 500, pubs = 200, polls = 1000] = process.argv.slice(2).map(Number);
const herald = await createHerald({
  port: 0,
  host: '127.0.0.1',
  logLevel: 'silent',
  mqttPort: 0,
  // Every load client comes from loopback: measure the server, not the per-address limits.
  maxConnectionsPerIp: 0,
  connectionRatePerIp: 0,
  publishRate: 0,
});
const port = herald.address().port;
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

function request(method: string, path: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const publish = (data: unknown) =>
  request('POST', '/api/publish', JSON.stringify({ channel: 'bench', data }));

// 1. API publish rate, 20 in flight.
{
  const total = 4000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < total) {
        next++;
        await publish({ n: next });
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`api publish: ${total} in ${s.toFixed(2)} s = ${Math.round(total / s)} req/s (20 in flight)`);
}

// 2. SSE fan-out: every stream must see every publication.
{
  let received = 0;
  const expected = sseClients * pubs;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const reqs: http.ClientRequest[] = [];
  await Promise.all(
    Array.from(
      { length: sseClients },
      () =>
        new Promise<void>((resolve) => {
          const req = http.get({ host: '127.0.0.1', port, path: '/sse?channel=fan', agent: false }, (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (chunk.includes('event: ready')) resolve();
              let i = chunk.indexOf('\ndata: {"channel"');
              while (i !== -1) {
                received++;
                i = chunk.indexOf('\ndata: {"channel"', i + 1);
              }
              if (chunk.startsWith('data: {"channel"')) received++;
              if (received === expected) done();
            });
          });
          reqs.push(req);
        }),
    ),
  );
  const t0 = performance.now();
  for (let i = 0; i < pubs; i++) await herald.hub.publish('fan', { data: { i, pad: 'x'.repeat(100) } });
  const timeout = setTimeout(done, 30_000);
  await all;
  clearTimeout(timeout);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `sse fan-out: ${sseClients} streams x ${pubs} pubs, ${received}/${expected} delivered in ${s.toFixed(2)} s = ${Math.round(received / s)} deliveries/s`,
  );
  for (const r of reqs) r.destroy();
}

// 3. Held long polls: memory while held, and time for one publication to answer them all.
{
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const answers: Promise<string>[] = [];
  for (let i = 0; i < polls; i++) answers.push(request('GET', '/poll?channel=held&timeout=50'));
  const t0 = Date.now();
  while (herald.hub.localSubscribers('held') < polls && Date.now() - t0 < 30_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  globalThis.gc?.();
  const heldKiB = (process.memoryUsage().heapUsed - before) / 1024 / polls;
  const t1 = performance.now();
  await herald.hub.publish('held', { data: 'wake' });
  const bodies = await Promise.all(answers);
  const ms = performance.now() - t1;
  const ok = bodies.filter((b) => b.includes('"wake"')).length;
  console.log(
    `long polls: ${ok}/${polls} held polls answered by one publication in ${ms.toFixed(0)} ms; ` +
      `~${heldKiB.toFixed(1)} KiB heap per held poll (server + client in one process)`,
  );
}

agent.destroy();
await herald.stop();
