// The composition root: builds the engine, the hub, the HTTP server and every door, and owns start
// and graceful stop. Nothing else wires things together.
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { apiDoor } from './api/door.js';
import { ClientHub } from './auth/client-hub.js';
import { ChannelPolicy } from './auth/policy.js';
import { type TokenVerifier, tokenVerifierFrom } from './auth/tokens.js';
import { type Config, type ConfigInput, configFrom } from './config.js';
import { MemoryEngine } from './engine/memory.js';
import { RedisEngine } from './engine/redis/index.js';
import { HeraldError } from './errors.js';
import { listenerOptions } from './http-options.js';
import { Hub } from './hub/hub.js';
import { ConnectionLimits } from './limits/connections.js';
import { createLogger } from './logger.js';
import type { Engine } from './model/index.js';
import { centrifugeDoor } from './transports/centrifuge/door.js';
import { corsDelegator } from './transports/cors.js';
import type { Door } from './transports/door.js';
import { HeraldStats } from './transports/door-stats.js';
import { httpBasicsDoor } from './transports/http-basics.js';
import { instrumentEngine } from './transports/instrumented-engine.js';
import { metricsDoor } from './transports/metrics.js';
import { mqttDoor } from './transports/mqtt/door.js';
import { pollDoor } from './transports/poll/door.js';
import { sseDoor } from './transports/sse/door.js';
import { originChecker, UpgradeRouter } from './transports/upgrade.js';
import { chatDoor } from './transports/ws/chat.js';
import { echoDoor } from './transports/ws/echo.js';
import { checkWsInternals } from './transports/ws/ws-internals.js';
import { adminDoor } from './web/admin.js';
import { webDoor } from './web/pages.js';

/** Every door, in registration order. A new door is one line here. */
export const doors: Door[] = [
  httpBasicsDoor,
  metricsDoor,
  webDoor,
  adminDoor,
  echoDoor,
  chatDoor,
  centrifugeDoor,
  apiDoor,
  sseDoor,
  pollDoor,
  mqttDoor,
];

export interface HeraldOptions {
  logger?: Logger;
  /** Use this engine instead of building one from config (tests, embedding). */
  engine?: Engine;
}

export class Herald {
  readonly config: Config;
  readonly log: Logger;
  readonly hub: Hub;
  /** The hub as clients may use it: every call asks the channel policy first. */
  readonly clients: ClientHub;
  /** Verifies client JWTs; undefined when no token key is configured. */
  readonly tokens: TokenVerifier | undefined;
  readonly app: FastifyInstance;
  readonly upgrades: UpgradeRouter;
  readonly limits: ConnectionLimits;
  /** What every door and the engine did, for /metrics and the admin page. */
  readonly stats = new HeraldStats();
  private readonly shutdownHooks: { door: string; run: () => Promise<void> | void }[] = [];
  /** The shutdown steps begun and not yet finished, for a report when shutdown overruns. */
  private readonly unfinished = new Set<string>();
  private readonly listeners = new Map<string, AddressInfo>();
  private stopping: Promise<void> | undefined;

  constructor(config: Config, options: HeraldOptions = {}) {
    this.config = config;
    this.log = options.logger ?? createLogger(config);
    const engine = instrumentEngine(options.engine ?? createEngine(config, this.log), this.stats);
    this.hub = new Hub(
      engine,
      {
        historySize: config.historySize,
        historyTtl: config.historyTtl,
        allowClientPublish: config.allowClientPublish,
        writeDelay: config.writeDelay,
        channelOptions: config.channelOptions,
        presenceTtl: config.presenceTtl,
        maxSubscribeBuffer: config.maxSubscribeBuffer,
        resyncSpread: config.resyncSpread,
        maxChannelNameLength: config.maxChannelNameLength,
        maxPayloadDepth: config.maxPayloadDepth,
        nodeName: nodeName(config),
      },
      this.log,
    );
    const hub = this.hub;
    this.clients = new ClientHub(
      hub,
      new ChannelPolicy(
        config.defaultNamespace,
        config.namespaces,
        (c) => hub.channelOptions(c).allowClientPublish,
      ),
    );
    this.tokens = tokenVerifierFrom(config);
    this.app = Fastify({
      loggerInstance: this.log.child({ component: 'http' }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.maxRequestBody,
      // Held polls and SSE streams must not keep a shutdown waiting forever.
      forceCloseConnections: true,
      // TLS, timeouts and trusted proxies; an HTTPS server is driven exactly like an HTTP one.
      ...listenerOptions(config),
    });
    const allowed = originChecker(config.allowedOrigins);
    this.limits = new ConnectionLimits(config);
    this.upgrades = new UpgradeRouter(allowed, this.limits);
  }

  /** Registers the doors, starts the engine and listens. Resolves once connections are accepted. */
  async start(): Promise<void> {
    const { app, config } = this;
    // Before anything listens: the WebSocket fan-out depends on ws internals (see ws-internals.ts).
    await checkWsInternals();
    await app.register(cors, { delegator: corsDelegator(config) });
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err.statusCode ?? 500;
      const e =
        err instanceof HeraldError
          ? err
          : status === 413
            ? new HeraldError('PAYLOAD_TOO_LARGE')
            : status === 415
              ? new HeraldError('UNSUPPORTED_MEDIA_TYPE', err.message)
              : status < 500
                ? new HeraldError('BAD_REQUEST', err.message)
                : new HeraldError('INTERNAL');
      if (e.kind === 'INTERNAL') this.log.error({ err }, 'request failed');
      reply.code(e.status).send({ error: e.toJSON() });
    });
    app.setNotFoundHandler((req, reply) => {
      reply
        .code(404)
        .send({ error: new HeraldError('NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`).toJSON() });
    });
    for (const door of doors) {
      await door.register({
        app,
        hub: this.hub,
        clients: this.clients,
        tokens: this.tokens,
        config,
        log: this.log,
        upgrades: this.upgrades,
        limits: this.limits,
        stats: this.stats,
        onShutdown: (run) => this.shutdownHooks.push({ door: door.name, run }),
        listening: (name, address) => this.listeners.set(name, address),
      });
    }
    await this.hub.start();
    app.server.on('upgrade', (req, socket, head) => this.upgrades.handle(req, socket, head));
    await app.listen({ port: config.port, host: config.host });
    this.log.info({ address: this.url(), engine: this.hub.engine.name }, 'Herald is listening');
  }

  address(): AddressInfo {
    return this.app.server.address() as AddressInfo;
  }

  /** Where a door with a port of its own listens (e.g. 'mqtt'), once started; undefined when off. */
  listenerAddress(name: string): AddressInfo | undefined {
    return this.listeners.get(name);
  }

  /** http(s)://host:port of the listener, with a loopback host when bound to every interface. */
  url(): string {
    const a = this.address();
    const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
    const scheme = this.config.tlsCert === '' ? 'http' : 'https';
    return `${scheme}://${a.family === 'IPv6' && host.includes(':') ? `[${host}]` : host}:${a.port}`;
  }

  /** Graceful stop: refuse new connections, close every client with "going away", then the engine. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('Herald is shutting down');
      this.app.server.close(); // stop accepting; established connections are closed by their doors
      const doorsClosed = await Promise.allSettled(
        this.shutdownHooks.map(({ door, run }) => this.step(`${door} door`, run)),
      );
      for (const r of doorsClosed) {
        if (r.status === 'rejected') this.log.warn({ err: r.reason }, 'a door failed to shut down');
      }
      await this.step('http server', () => this.app.close());
      await this.step('engine', () => this.hub.close());
      this.limits.stop();
      this.log.info('Herald stopped');
    })();
    return this.stopping;
  }

  /**
   * What a stop in progress is still waiting for (doors, the HTTP server, the engine) and how many
   * clients are still connected: what a process that cannot wait any longer reports as it exits.
   */
  shutdownProgress(): { waitingFor: string[]; clients: number } {
    return { waitingFor: [...this.unfinished], clients: this.hub.localStats().numClients };
  }

  private async step(name: string, run: () => Promise<void> | void): Promise<void> {
    this.unfinished.add(name);
    try {
      await run();
    } finally {
      this.unfinished.delete(name);
    }
  }
}

function createEngine(config: Config, log: Logger): Engine {
  if (config.engine === 'memory') return new MemoryEngine({ metaTtl: config.redisMetaTtl });
  if (config.engine === 'redis') {
    return new RedisEngine({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      metaTtl: config.redisMetaTtl,
      commandTimeout: config.redisCommandTimeout,
      nodeTtl: config.presenceTtl,
      log: log.child({ component: 'redis' }),
    });
  }
  throw new HeraldError('NOT_AVAILABLE', `engine "${config.engine}" is not available in this build`);
}

/** Builds and starts a Herald. Options given here win over HERALD_* environment variables. */
export async function createHerald(
  input: ConfigInput = {},
  options: HeraldOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<Herald> {
  const herald = new Herald(configFrom(input, options.env ?? {}), options);
  await herald.start();
  return herald;
}

/**
 * This node's name in the cluster. Workers of one `--workers N` process share its --node-name, so
 * each adds its worker id: node reports and per-node channel counts must not overwrite each other.
 */
function nodeName(config: Config): string {
  if (!config.nodeName) return `${hostname()}:${process.pid}`;
  return cluster.isWorker && cluster.worker ? `${config.nodeName}/${cluster.worker.id}` : config.nodeName;
}
