// Publish throughput and latency through the redis engine, with a second engine (another node)
// subscribed and counting what it receives. Bounded: `count` publishes, at most 60 s.
// Usage: npx tsx bench/redis-publish.ts [redis-url] [count=5000] [concurrency=32] [bytes=100]
import { RedisEngine } from '../src/engine/redis/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const count = Number(process.argv[3] ?? 5000);
const concurrency = Number(process.argv[4] ?? 32);
const bytes = Number(process.argv[5] ?? 100);
const opts = { url, prefix: 'herald-publish-bench', metaTtl: 600, commandTimeout: 5000, nodeTtl: 60 };
const channel = `bench-${Date.now()}`;
const limits = { historySize: 100, historyTtl: 300 };

const publisher = new RedisEngine(opts);
const subscriber = new RedisEngine(opts);
let received = 0;
let lastOffset = 0;
let outOfOrder = 0;
await publisher.start({ onPublication() {}, onJoin() {}, onLeave() {} });
await subscriber.start({
  onPublication(p) {
    received++;
    if (p.offset !== lastOffset + 1) outOfOrder++;
    lastOffset = p.offset;
  },
  onJoin() {},
  onLeave() {},
});
await subscriber.subscribe([channel]);

const payload = 'x'.repeat(bytes);
const latencies: number[] = [];
let next = 0;
const deadline = Date.now() + 60_000;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count && Date.now() < deadline) {
      next++;
      const s = performance.now();
      await publisher.publish(channel, { data: payload }, limits);
      latencies.push(performance.now() - s);
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
const waitUntil = Date.now() + 5000;
while (received < latencies.length && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
latencies.sort((a, b) => a - b);
const pct = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
console.log(
  JSON.stringify({
    published: latencies.length,
    concurrency,
    payloadBytes: bytes,
    publishesPerSecond: Math.round(latencies.length / elapsed),
    latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    receivedByOtherNode: received,
    outOfOrder,
  }),
);
await Promise.all([publisher.close(), subscriber.close()]);
