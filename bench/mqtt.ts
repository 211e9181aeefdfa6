// MQTT door throughput, server and clients in one process on loopback (so numbers are a floor).
// Bounded: fixed message counts, and every scenario gives up after 60 s.
//   npx tsx bench/mqtt.ts [subscribers=100] [messages=1000]
// (The comparison with other brokers - mosquitto - is in `npm run bench`, scenario fanout-mqtt.)
import mqtt, { type MqttClient } from 'mqtt';
import { createHerald } from '../src/server.js';

const SUBS = Number(process.argv[2] ?? 100);
const MSGS = Number(process.argv[3] ?? 1000);
const LIMIT_MS = 60_000;

async function connectMany(url: string, n: number): Promise<MqttClient[]> {
  const out: MqttClient[] = [];
  for (let i = 0; i < n; i++) out.push(await mqtt.connectAsync(url, { reconnectPeriod: 0 }));
  return out;
}

function counter(clients: MqttClient[], expected: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(
      () => reject(new Error(`only ${got}/${expected} within ${LIMIT_MS} ms`)),
      LIMIT_MS,
    );
    for (const c of clients) {
      c.on('message', () => {
        if (++got === expected) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
    }
  });
}

const herald = await createHerald({
  port: 0,
  host: '127.0.0.1',
  mqttPort: 'auto',
  mqttHost: '127.0.0.1',
  logLevel: 'warn',
  // Every load client comes from loopback: measure the server, not the per-address limits.
  maxConnectionsPerIp: 0,
  connectionRatePerIp: 0,
  publishRate: 0,
});
const url = `mqtt://127.0.0.1:${herald.listenerAddress('mqtt')?.port}`;
const publish = (topic: string, data: unknown, qos: 0 | 1) => herald.hub.publish(topic, { data, qos });
const stop = () => herald.stop();
console.log('Herald (its own MQTT broker):');
try {
  // 1. API-style hub publications fanned out to many MQTT subscribers.
  for (const qos of [0, 1] as const) {
    const subs = await connectMany(url, SUBS);
    await Promise.all(subs.map((s) => s.subscribeAsync(`fan/${qos}`, { qos })));
    const done = counter(subs, SUBS * MSGS);
    const t0 = performance.now();
    for (let i = 0; i < MSGS; i++) await publish(`fan/${qos}`, { i, t: Date.now() }, qos);
    const t1 = await done;
    const s = (t1 - t0) / 1000;
    console.log(
      `server publish -> ${SUBS} MQTT subs, QoS ${qos}: ${MSGS} msgs, ${SUBS * MSGS} deliveries in ${s.toFixed(2)} s = ${Math.round((SUBS * MSGS) / s)} deliveries/s`,
    );
    await Promise.all(subs.map((c) => c.endAsync()));
  }
  // 2. MQTT publisher -> hub -> MQTT subscriber.
  for (const qos of [0, 1] as const) {
    const n = MSGS * 10;
    const [sub, pub] = await connectMany(url, 2);
    await sub.subscribeAsync(`p2p/${qos}`, { qos });
    const done = counter([sub], n);
    const t0 = performance.now();
    const payload = Buffer.from('{"temp":21.5}');
    for (let i = 0; i < n; i += 500) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(n, i + 500); j++)
        batch.push(pub.publishAsync(`p2p/${qos}`, payload, { qos }));
      await Promise.all(batch);
    }
    const t1 = await done;
    const s = (t1 - t0) / 1000;
    console.log(`MQTT -> MQTT, QoS ${qos}: ${n} msgs in ${s.toFixed(2)} s = ${Math.round(n / s)} msgs/s`);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  }
} finally {
  await stop();
}
