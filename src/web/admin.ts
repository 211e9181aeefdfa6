// The admin dashboard at /admin and the routes only it calls (/admin/api/*). They run on the server
// with the hub at hand, so the page never calls the server API (/api/*) from the browser.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Disconnects, HeraldError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import { addressKey } from '../limits/address.js';
import { KeyedBuckets } from '../limits/token-bucket.js';
import { clientInfoJson } from '../protocol/publication.js';
import { centrifugeServerOf } from '../transports/centrifuge/door.js';
import type { Door } from '../transports/door.js';
import { AdminSessions } from './admin-session.js';

const page = (name: string) => readFileSync(new URL(`./static/${name}`, import.meta.url));
const BUSIEST = 10;

export const adminDoor: Door = {
  name: 'admin',
  register({ app, hub, config, stats, onShutdown }) {
    const dashboard = page('admin.html');
    const login = page('admin-login.html');
    const sessions = new AdminSessions(config.adminPassword, config.adminSessionTtl);
    // Password guesses per address: a few at once, then one every adminLoginInterval.
    const guesses = new KeyedBuckets(1000 / config.adminLoginInterval, 5);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    onShutdown(() => {
      loop.disable();
      guesses.stop();
    });

    app.get('/admin', async (req, reply) => {
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (sessions.allowed(req)) return reply.send(dashboard);
      if (!sessions.protectedByPassword) {
        return reply
          .code(403)
          .send('<p>No adminPassword is set, so /admin answers callers on this machine only.</p>');
      }
      return reply.code(401).send(login);
    });

    app.post('/admin/login', async (req, reply) => {
      if (!guesses.take(addressKey(req.ip))) {
        throw new HeraldError(
          'TOO_MANY_REQUESTS',
          'too many login attempts from this address; wait and retry',
        );
      }
      const token = sessions.login((req.body as { password?: unknown } | undefined)?.password);
      if (!token) throw new HeraldError('UNAUTHORIZED', 'wrong password');
      sessions.setCookie(reply, token);
      return { ok: true };
    });

    app.post('/admin/logout', async (req, reply) => {
      sessions.logout(req);
      sessions.clearCookie(reply);
      return { ok: true };
    });

    app.register(async (adminApi) => {
      adminApi.addHook('onRequest', async (req, reply) => {
        reply.header('cache-control', 'no-store');
        if (!sessions.allowed(req)) throw new HeraldError('UNAUTHORIZED', 'log in at /admin first');
      });

      adminApi.get('/admin/api/stats', async () => {
        const doors: Record<string, object> = {};
        for (const [name, c] of stats.doors) {
          doors[name] = {
            connections: c.connections,
            subscriptions: c.subscriptions,
            messagesIn: c.messagesIn,
            messagesOut: c.messagesOut,
            bytesOut: c.bytesOut,
          };
        }
        const names = await hub.channelsList();
        const counts = await hub.channelCounts(names);
        const busiest = names
          .map((name, i) => ({ name, subscribers: counts[i] }))
          .sort((a, b) => b.subscribers - a.subscribers)
          .slice(0, BUSIEST);
        const mem = process.memoryUsage();
        const delay = { mean: loop.mean / 1e6, max: loop.max / 1e6, p99: loop.percentile(99) / 1e6 };
        loop.reset();
        return {
          time: Date.now(),
          node: hub.localStats(),
          nodes: await hub.nodes(),
          engine: hub.engine.name,
          doors,
          publications: stats.publications,
          channels: names.length,
          busiest,
          memory: { rss: mem.rss, heapUsed: mem.heapUsed },
          eventLoopDelayMs: delay,
        };
      });

      adminApi.get('/admin/api/channel', async (req) => {
        const channel: unknown = (req.query as { name?: unknown }).name;
        const h0: Hub = hub;
        h0.validateChannel(channel);
        const [h, presence] = await Promise.all([
          hub.history(channel, { limit: 20, reverse: true }),
          hub.presence(channel),
        ]);
        return {
          channel,
          offset: h.position.offset,
          epoch: h.position.epoch,
          history: h.publications.map((p) => ({ offset: p.offset, data: p.data, time: p.time })),
          presence: Object.values(presence).map(clientInfoJson),
          subscribersHere: hub.localSubscribers(channel),
        };
      });

      adminApi.post('/admin/api/publish', async (req) => {
        const { channel, data } = (req.body ?? {}) as { channel?: unknown; data?: unknown };
        if (typeof channel !== 'string') throw new HeraldError('BAD_REQUEST', 'channel must be a string');
        if (data === undefined) throw new HeraldError('BAD_REQUEST', 'data is required');
        const pub = await hub.publish(channel, { data });
        return { offset: pub.offset, epoch: pub.epoch };
      });

      // Only connections of the channel protocol have a way to be told to go (a disconnect code
      // the SDK understands); the other doors have no client ids to name.
      adminApi.post('/admin/api/disconnect', async (req) => {
        const { client } = (req.body ?? {}) as { client?: unknown };
        const server = centrifugeServerOf(hub);
        const session = [...(server?.sessions ?? [])].find((s) => s.id === client);
        if (!session) throw new HeraldError('NOT_FOUND', 'no such client connected to this node');
        session.disconnect(Disconnects.FORCE_NO_RECONNECT);
        return { ok: true };
      });
    });
  },
};
