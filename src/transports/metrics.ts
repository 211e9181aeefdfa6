// Prometheus metrics at GET /metrics: process metrics plus what this node's hub holds right now.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Door } from './door.js';

export const metricsDoor: Door = {
  name: 'metrics',
  register({ app, hub }) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'herald_' });
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
