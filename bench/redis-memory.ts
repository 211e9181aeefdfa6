// Redis memory one channel costs with the redis engine: publishes N payloads of S bytes to a fresh
// channel and reports MEMORY USAGE of its history stream and meta hash.
// Usage: npx tsx bench/redis-memory.ts [redis-url] [count=100] [bytes=100]
import { Redis } from 'ioredis';
import { RedisEngine } from '../src/engine/redis/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const count = Number(process.argv[3] ?? 100);
const bytes = Number(process.argv[4] ?? 100);
const prefix = 'herald-memory-bench';
const channel = `mem-${Date.now()}`;

const engine = new RedisEngine({ url, prefix, metaTtl: 3600, commandTimeout: 5000, nodeTtl: 60 });
await engine.start({ onPublication() {}, onJoin() {}, onLeave() {} });
const payload = 'x'.repeat(bytes);
for (let i = 0; i < count; i++) {
  await engine.publish(channel, { data: payload }, { historySize: count, historyTtl: 300 });
}
const redis = new Redis(url);
const stream = `${prefix}:stream:{${channel}}`;
const meta = `${prefix}:meta:{${channel}}`;
const s = Number(await redis.call('MEMORY', 'USAGE', stream, 'SAMPLES', '0'));
const m = Number(await redis.call('MEMORY', 'USAGE', meta, 'SAMPLES', '0'));
const entry = (await redis.xrange(stream, '-', '+', 'COUNT', 1))[0];
const stored = entry[1].reduce((n, f) => n + Buffer.byteLength(f), 0);
console.log(
  JSON.stringify({
    count,
    payloadBytes: bytes,
    storedFieldBytesPerEntry: stored,
    stream: s,
    meta: m,
    total: s + m,
    perPublication: Math.round(s / count),
  }),
);
console.log(`redis-cli MEMORY USAGE '${stream}' SAMPLES 0   # ${s}`);
console.log(`redis-cli MEMORY USAGE '${meta}' SAMPLES 0   # ${m}`);
await redis.del(stream, meta);
redis.disconnect();
await engine.close();
