// The MQTT door: Herald's own broker (broker.ts) reachable over TCP (mqttPort), TLS (mqttTlsPort)
// and WebSocket (/mqtt). Thin: listeners, the connection gate, and handing each stream to the
// broker. Any byte-level trouble closes only the client that caused it.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { ConfigError } from '../../config.js';
import { packetLimit } from '../../protocol/mqtt-size.js';
import type { Door, DoorContext } from '../door.js';
import { MqttAuth } from './auth.js';
import { MqttBroker } from './broker.js';
import { MqttConnection } from './connection.js';
import { mqttWebSocket } from './websocket.js';

export const mqttDoor: Door = {
  name: 'mqtt',
  register(ctx) {
    const { config, hub } = ctx;
    const log = ctx.log.child({ component: 'mqtt' });
    const counters = ctx.stats.door('mqtt');
    const store = hub.engine.mqttStore?.({
      node: hub.options.nodeName,
      sessionQueue: config.mqttSessionQueue,
      logger: log,
      // Counted where the store dropped them: on the node that queued the publication.
      onQueueDrop: (clientId, dropped) => {
        counters.queueDrops += dropped;
        log.warn(
          { client: clientId, dropped, limit: config.mqttSessionQueue },
          'MQTT session queue full; oldest messages dropped',
        );
      },
    });
    if (!store) {
      log.warn({ engine: hub.engine.name }, 'the engine keeps no MQTT state: the MQTT door is off');
      return;
    }
    const broker = new MqttBroker({
      hub,
      policy: ctx.clients.policy,
      counters,
      log,
      store,
      auth: new MqttAuth({
        allowAnonymous: config.mqttAllowAnonymous,
        users: config.mqttUsers,
        admins: config.mqttAdminUsers,
        tokens: ctx.tokens,
      }),
      options: {
        maxPayload: config.mqttMaxPayload,
        maxRemainingLength: packetLimit(config.mqttMaxPayload),
        maxChannelNameLength: config.maxChannelNameLength,
        sessionQueue: config.mqttSessionQueue,
        connectTimeout: config.mqttConnectTimeout,
        publishRate: { rate: config.publishRate, burst: config.publishBurst },
        maxInflight: config.mqttMaxInflight,
        receiveMaximum: config.mqttReceiveMaximum,
        topicAliasMaximum: config.mqttTopicAliasMaximum,
        maxSubscriptions: config.mqttMaxSubscriptions,
        maxFiltersPerSubscribe: config.mqttMaxFiltersPerSubscribe,
        maxUserProperties: config.mqttMaxUserProperties,
        maxKeepAlive: config.mqttMaxKeepAlive,
        reapInterval: config.mqttReapInterval,
        deliveryLinger: config.mqttDeliveryLinger,
        maxBufferedBytes: config.maxBufferedBytes,
      },
    });

    const accept = (stream: Duplex, transport: string) => {
      const conn = new MqttConnection(broker, stream, transport);
      broker.register(conn);
    };
    const wss = mqttWebSocket(ctx, (stream) => accept(stream, 'mqtt-ws'));

    const servers: Server[] = [];
    const sockets = new Set<Socket>();
    /** A TCP or TLS socket through the connection gate, then to the broker. */
    const gate = (transport: string) => (socket: Socket) => {
      let ticket: ReturnType<typeof ctx.limits.admit>;
      try {
        ticket = ctx.limits.admit(socket.remoteAddress);
      } catch (err) {
        // Closed at once: answering would mean keeping it open until CONNECT arrives.
        log.debug({ transport, reason: (err as Error).message }, 'MQTT connection refused');
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => {
        ticket.release();
        sockets.delete(socket);
      });
      accept(socket, transport);
    };

    // Started once the hub is (onReady runs inside listen, after the engine started).
    ctx.app.addHook('onReady', async () => {
      await broker.start();
      if (config.mqttPort !== 0)
        await listen(ctx, createServer(gate('mqtt')), 'mqtt', config.mqttPort, servers);
      if (config.mqttTlsPort !== 0) {
        const tls = createTlsServer(tlsPair(config), gate('mqtts'));
        tls.on('tlsClientError', (err) => log.debug({ reason: err.message }, 'MQTT TLS handshake failed'));
        await listen(ctx, tls, 'mqtts', config.mqttTlsPort, servers);
      }
    });

    ctx.onShutdown(async () => {
      for (const s of servers) s.close();
      // The broker closes every MQTT client (v5: DISCONNECT 0x8B); the hub is still up, so wills go
      // out. Bounded like every door's close: a frozen store must not hold the stop here (the
      // engine's step is where a stop waits for its backend).
      await within(config.shutdownTimeout, broker.close());
      for (const socket of sockets) socket.destroy();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await within(config.shutdownTimeout, store.close());
    });
  },
};

/** Waits for `work`, but no longer than `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([work.catch(() => {}), timeout]);
  clearTimeout(timer);
}

async function listen(
  ctx: DoorContext,
  server: Server,
  name: string,
  port: number | 'auto',
  servers: Server[],
) {
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port === 'auto' ? 0 : port, ctx.config.mqttHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address && typeof address === 'object') {
    ctx.listening(name, address);
    ctx.log.info({ port: address.port, host: address.address, listener: name }, 'MQTT is listening');
  }
}

/** mqttTlsCert/mqttTlsKey, else the HTTP tlsCert/tlsKey. */
function tlsPair(config: DoorContext['config']): { cert: Buffer; key: Buffer } {
  const cert = config.mqttTlsCert || config.tlsCert;
  const key = config.mqttTlsKey || config.tlsKey;
  if (!cert || !key)
    throw new ConfigError(
      '--mqtt-tls-port needs --mqtt-tls-cert and --mqtt-tls-key (or --tls-cert/--tls-key)',
    );
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (err) {
    throw new ConfigError(`MQTT TLS certificate: ${(err as Error).message}`);
  }
}
