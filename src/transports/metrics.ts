// Prometheus metrics at GET /metrics. Doors count in plain integers (door-stats.ts); this file turns
// those integers into metric families only when scraped, so the hot path never touches prom-client.
import { collectDefaultMetrics, Gauge, type Registry as PromRegistry, Registry } from 'prom-client';
import type { Door } from './door.js';
import type { DoorCounters, HeraldStats, LatencyBuckets } from './door-stats.js';

type Labels = Record<string, string>;
interface Sample {
  metricName?: string;
  labels: Labels;
  value: number;
}

/** A metric family computed at scrape time, in the shape prom-client's registry prints. */
function family(
  registry: PromRegistry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  samples: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset() {},
  };
  registry.registerMetric(metric as unknown as Parameters<PromRegistry['registerMetric']>[0]);
}

function histogramSamples(name: string, b: LatencyBuckets, labels: Labels): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  b.bounds.forEach((le, i) => {
    cumulative += b.counts[i];
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: cumulative });
  });
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: b.count });
  out.push({ metricName: `${name}_sum`, labels, value: b.sum });
  out.push({ metricName: `${name}_count`, labels, value: b.count });
  return out;
}

export function registerHeraldMetrics(registry: PromRegistry, stats: HeraldStats): void {
  const perDoor = (
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    read: (c: DoorCounters) => number,
  ) =>
    family(registry, name, help, type, () =>
      [...stats.doors].map(([door, c]) => ({ labels: { door }, value: read(c) })),
    );
  perDoor(
    'herald_door_connections',
    'Connections open now, by door (held requests for poll).',
    'gauge',
    (c) => c.connections,
  );
  perDoor(
    'herald_door_connections_total',
    'Connections accepted, by door.',
    'counter',
    (c) => c.connectionsTotal,
  );
  perDoor(
    'herald_door_subscriptions',
    'Channel subscriptions held now, by door.',
    'gauge',
    (c) => c.subscriptions,
  );
  perDoor(
    'herald_door_messages_in_total',
    'Publications (and /echo messages) received from clients, by door.',
    'counter',
    (c) => c.messagesIn,
  );
  perDoor(
    'herald_door_messages_out_total',
    'Messages written to clients, by door (mqtt: publications handed to the broker).',
    'counter',
    (c) => c.messagesOut,
  );
  perDoor(
    'herald_door_bytes_out_total',
    'Message bytes written to clients, by door.',
    'counter',
    (c) => c.bytesOut,
  );
  perDoor(
    'herald_door_slow_consumer_cutoffs_total',
    'Clients cut off because they did not read fast enough, by door.',
    'counter',
    (c) => c.slowConsumers,
  );
  perDoor(
    'herald_door_queue_drops_total',
    'Messages dropped, oldest first, from a full per-client queue, by door (mqtt: a session queue past mqttSessionQueue, connected or offline).',
    'counter',
    (c) => c.queueDrops,
  );
  family(
    registry,
    'herald_door_disconnects_total',
    'Connections ended, by door and close code (or reason).',
    'counter',
    () =>
      [...stats.doors].flatMap(([door, c]) =>
        [...c.disconnects].map(([code, n]) => ({ labels: { door, code }, value: n })),
      ),
  );
  family(
    registry,
    'herald_hub_dispatch_seconds',
    'Time the hub takes to hand one publication to every local subscriber.',
    'histogram',
    () => histogramSamples('herald_hub_dispatch_seconds', stats.dispatch, {}),
  );
  family(
    registry,
    'herald_engine_operation_seconds',
    'Engine operation latency, by operation.',
    'histogram',
    () =>
      [...stats.engineOps].flatMap(([op, b]) =>
        histogramSamples('herald_engine_operation_seconds', b, { op }),
      ),
  );
  family(
    registry,
    'herald_engine_errors_total',
    'Engine operations that failed, by operation.',
    'counter',
    () => [...stats.engineOps].map(([op, b]) => ({ labels: { op }, value: b.errors })),
  );
}

export const metricsDoor: Door = {
  name: 'metrics',
  register({ app, hub, stats }) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'herald_' });
    registerHeraldMetrics(registry, stats);
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    gauge(
      'herald_clients',
      'Client connections open on this node, all doors.',
      () => hub.localStats().numClients,
    );
    gauge(
      'herald_subscriptions',
      'Channel subscriptions on this node.',
      () => hub.localStats().numSubscriptions,
    );
    gauge(
      'herald_channels',
      'Channels with at least one subscriber on this node.',
      () => hub.localStats().numChannels,
    );
    app.get('/metrics', async (_req, reply) => {
      reply.type(registry.contentType).send(await registry.metrics());
    });
  },
};
