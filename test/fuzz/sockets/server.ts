// The one real server process the socket targets hit, the well-behaved clients that stay connected
// through the whole run (and must receive every publication, in order), and the heap and client
// gauges read from /metrics before and after.
import mqtt from 'mqtt';
import { RawClient } from '../../helpers/centrifuge.js';
import { api, get } from '../../helpers/http.js';
import { type HeraldProcess, startHeraldProcess } from '../../helpers/process.js';
import { freePort } from '../../helpers/redis.js';
import { SseClient } from '../../helpers/sse.js';
import { until } from '../../helpers/until.js';

export const WATCH = 'fz-watch';

export interface FuzzServer {
  h: HeraldProcess;
  port: number;
  mqttPort: number;
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const mqttPort = await freePort();
  // A small old space: a leak the run is too short to show in the heap gauge still ends in a crash.
  // Every fuzz client comes from 127.0.0.1 at a rate no real address would: per-address and rate
  // limits (tested on their own) are off here, so each case reaches the parser it is aimed at.
  const noAddressLimits = ['--max-connections-per-ip', '0', '--connection-rate-per-ip', '0'];
  const rates = ['--command-rate', '0', '--publish-rate', '0'];
  const h = await startHeraldProcess(['--mqtt-port', String(mqttPort), ...noAddressLimits, ...rates], {
    NODE_OPTIONS: '--max-old-space-size=256',
  });
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const s = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 1000 });
        s.once('connect', () => s.end(true, () => resolve(true)));
        s.once('error', () => s.end(true, () => resolve(false)));
      }),
    { what: 'the MQTT listener', timeoutMs: 10_000, intervalMs: 100 },
  );
  return { h, port: h.port, mqttPort };
}

export async function metric(base: string, name: string): Promise<number> {
  const res = await get(`${base}/metrics`);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(res.text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

/** The heap after the server's own collector had a chance: the least of a few samples. */
export async function settledHeap(base: string): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    least = Math.min(least, await metric(base, 'herald_nodejs_heap_size_used_bytes'));
    await new Promise((r) => setTimeout(r, 300));
  }
  return least;
}

/** A publisher and three subscribers (SSE, WebSocket protocol, MQTT) on one channel. */
export class Watchers {
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<unknown> = Promise.resolve();
  readonly ws: number[] = [];
  readonly mqtt: number[] = [];
  private constructor(
    private readonly base: string,
    readonly sse: SseClient,
    private readonly raw: RawClient,
    private readonly m: mqtt.MqttClient,
  ) {}

  static async start(s: FuzzServer): Promise<Watchers> {
    const base = `http://127.0.0.1:${s.port}`;
    const sse = new SseClient(`${base}/sse?channel=${WATCH}`);
    await sse.opened;
    await sse.next('ready');
    const raw = await RawClient.open(`ws://127.0.0.1:${s.port}`);
    await raw.connect();
    raw.send({ id: 2, subscribe: { channel: WATCH } });
    const reply = await raw.next();
    if (!reply.subscribe) throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
    const m = mqtt.connect(`mqtt://127.0.0.1:${s.mqttPort}`, { reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => m.once('connect', () => resolve()).once('error', reject));
    await m.subscribeAsync(WATCH, { qos: 0 });
    const w = new Watchers(base, sse, raw, m);
    raw.t.ws.on('message', (data: Buffer) => {
      for (const line of data.toString().split('\n')) {
        if (!line.startsWith('{"push"')) continue;
        const push = JSON.parse(line).push;
        if (push.channel === WATCH && push.pub) w.ws.push(push.pub.data.seq);
      }
    });
    m.on('message', (_topic, payload) => w.mqtt.push(JSON.parse(payload.toString()).seq));
    return w;
  }

  /** Publishes {seq} every `ms` through the server API, one at a time. */
  publishEvery(ms: number): void {
    this.timer = setInterval(() => {
      this.publishing = this.publishing.then(async () => {
        const seq = this.sent + 1;
        const res = await api(this.base, 'publish', { channel: WATCH, data: { seq } });
        if (res.json?.result) this.sent = seq;
      });
    }, ms);
  }

  /** Stops publishing; resolves with what each subscriber missed or got out of order. */
  async stop(): Promise<{ sent: number; problems: string[] }> {
    clearInterval(this.timer);
    await this.publishing;
    const want = Array.from({ length: this.sent }, (_, i) => i + 1);
    const sseSeqs = () =>
      this.sse.events.filter((e) => e.type === 'message').map((e) => JSON.parse(e.data).data.seq);
    const problems: string[] = [];
    const same = (a: number[]) => a.length === want.length && a.every((v, i) => v === want[i]);
    await until(() => same(sseSeqs()) && same(this.ws) && same(this.mqtt), {
      what: 'every watcher to hold every publication',
      timeoutMs: 5000,
    }).catch(() => {});
    for (const [name, got] of [
      ['sse', sseSeqs()],
      ['websocket', this.ws],
      ['mqtt', this.mqtt],
    ] as const) {
      if (!same(got))
        problems.push(
          `${name} got ${got.length} of ${want.length}, first wrong at ${got.findIndex((v, i) => v !== want[i])}`,
        );
    }
    if (this.sse.errors > 0) problems.push(`the SSE stream broke ${this.sse.errors} time(s)`);
    this.sse.close();
    await this.raw.close();
    await this.m.endAsync(true);
    return { sent: this.sent, problems };
  }
}
