// enqueue() throughput of the MQTT stores (memory and Redis), with no offline session, with 1,000
// offline sessions none of whose filters match the publications (the filter cache answers), and
// with 1,000 that all match (each publication queued 1,000 times, queues bounded by sessionQueue).
// Bounded: `count` enqueues per case (a tenth of it for the all-match case), at most 30 s each.
// Usage: npx tsx bench/mqtt-store.ts [redis-url] [count=5000] [concurrency=16]
import { MemoryEngine } from '../src/engine/memory.js';
import { RedisEngine } from '../src/engine/redis/index.js';
import type { RedisMqttStore } from '../src/engine/redis/mqtt-store.js';
import type { MqttStore } from '../src/model/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const count = Number(process.argv[3] ?? 5000);
const concurrency = Number(process.argv[4] ?? 16);
const SESSIONS = 1000;
const payload = Buffer.alloc(100, 0x61);

async function addOffline(store: MqttStore, n: number, filterOf: (i: number) => string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const cid = `bench-${i}`;
    await store.claim(cid, 'u', false, 'bench', `k${i}`, true);
    await store.release(
      cid,
      `k${i}`,
      { subscriptions: [{ filter: filterOf(i), qos: 1 }], expiryInterval: 600, incomingQos2: [] },
      [],
    );
  }
}

async function measure(
  store: MqttStore,
  n: number,
): Promise<{ enqueues: number; perSecond: number; p99Ms: string }> {
  const latencies: number[] = [];
  let next = 0;
  const deadline = Date.now() + 30_000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n && Date.now() < deadline) {
        const i = next++;
        const s = performance.now();
        await store.enqueue({ topic: `live/${i % 100}/x`, payload, qos: 1, retain: false });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    enqueues: latencies.length,
    perSecond: Math.round(latencies.length / elapsed),
    p99Ms: latencies[Math.floor(0.99 * (latencies.length - 1))].toFixed(3),
  };
}

async function cases(name: string, fresh: () => Promise<{ store: MqttStore; close(): Promise<void> }>) {
  const scenarios: [string, number, ((i: number) => string) | undefined][] = [
    ['0 offline sessions', count, undefined],
    [`${SESSIONS} offline, no filter matches`, count, (i) => `away/${i}/#`],
    [
      `${SESSIONS} offline, every filter matches`,
      Math.ceil(count / 10),
      (i) => (i % 2 ? 'live/#' : 'live/+/x'),
    ],
  ];
  for (const [label, n, filterOf] of scenarios) {
    const { store, close } = await fresh();
    if (filterOf) await addOffline(store, SESSIONS, filterOf);
    // The Redis store's filter cache loads in the background: measure once it has.
    const cached = store as Partial<RedisMqttStore>;
    const until = Date.now() + 5000;
    while ('cachedFilters' in cached && cached.cachedFilters === undefined && Date.now() < until) {
      await store.enqueue({ topic: 'warm/up', payload, qos: 0, retain: false });
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(JSON.stringify({ store: name, case: label, concurrency, ...(await measure(store, n)) }));
    await close();
  }
}

await cases('memory', async () => {
  const engine = new MemoryEngine();
  return { store: engine.mqttStore({ node: 'bench', sessionQueue: 100 }), close: () => engine.close() };
});
let run = 0;
await cases('redis', async () => {
  const engine = new RedisEngine({
    url,
    prefix: `herald-mqtt-bench-${Date.now()}-${run++}`,
    metaTtl: 600,
    commandTimeout: 5000,
    nodeTtl: 60,
  });
  const store = engine.mqttStore({ node: 'bench', sessionQueue: 100 });
  return {
    store,
    close: async () => {
      await store.close();
      await engine.close();
    },
  };
});
