// How long one presence refresh beat takes on the Redis engine: one call per entry (as the hub did)
// against one batched call. Usage: npx tsx bench/presence-refresh.ts redis://127.0.0.1:6379 10000
import { RedisEngine } from '../src/engine/redis/index.js';
import type { ClientInfo } from '../src/model/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const count = Number(process.argv[3] ?? 10_000);
const engine = new RedisEngine({
  url,
  prefix: 'bench-presence',
  metaTtl: 60,
  commandTimeout: 10_000,
  nodeTtl: 60,
});
await engine.start({ onPublication() {}, onJoin() {}, onLeave() {} });
const entries: [string, ClientInfo][] = Array.from({ length: count }, (_, i) => [
  `room:${i % 100}`,
  { client: `client-${i}`, user: `user-${i % 1000}`, transport: 'websocket' },
]);
let t = performance.now();
for (const [channel, info] of entries) await engine.addPresence(channel, info, 60);
const sequential = performance.now() - t;
t = performance.now();
await engine.refreshPresence(entries, 60);
const batched = performance.now() - t;
console.log(
  `${count} entries: one call each ${sequential.toFixed(0)} ms, batched ${batched.toFixed(0)} ms (${(sequential / batched).toFixed(1)}x)`,
);
await engine.close();
