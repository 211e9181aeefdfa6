// The MQTT door: an embedded aedes broker reachable over TCP (mqttPort) and WebSocket (/mqtt),
// joined to the hub by the bridge. Any byte-level trouble closes only the client that caused it.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Ticket } from '../../limits/connections.js';
import { PacketSizeWatch, packetLimit } from '../../protocol/mqtt-size.js';
import type { Door } from '../door.js';
import type { DoorCounters } from '../door-stats.js';
import { MqttAuth } from './auth.js';
import { MqttBridge } from './bridge.js';
import { mqttWebSocket } from './websocket.js';

export const mqttDoor: Door = {
  name: 'mqtt',
  register(ctx) {
    const { config, hub } = ctx;
    const log = ctx.log.child({ component: 'mqtt' });
    const counters = ctx.stats.door('mqtt');
    const bridge = new MqttBridge({
      hub,
      policy: ctx.clients.policy,
      counters,
      log,
      auth: new MqttAuth({
        allowAnonymous: config.mqttAllowAnonymous,
        users: config.mqttUsers,
        admins: config.mqttAdminUsers,
        tokens: ctx.tokens,
      }),
      maxPayload: config.mqttMaxPayload,
      maxChannelNameLength: config.maxChannelNameLength,
      sessionQueue: config.mqttSessionQueue,
      connectTimeout: config.mqttConnectTimeout,
      publishRate: { rate: config.publishRate, burst: config.publishBurst },
      redis: config.engine === 'redis' ? { url: config.redisUrl, prefix: config.redisPrefix } : undefined,
    });
    const { broker } = bridge;
    // Subscriptions of connected clients, per client, so a disconnect takes its own off the gauge.
    const subsOf = new Map<string, number>();
    broker.on('subscribe', (subs, client) => {
      subsOf.set(client.id, (subsOf.get(client.id) ?? 0) + subs.length);
      counters.subscriptions += subs.length;
    });
    broker.on('unsubscribe', (unsubs, client) => {
      const n = Math.min(unsubs.length, subsOf.get(client.id) ?? 0);
      subsOf.set(client.id, (subsOf.get(client.id) ?? 0) - n);
      counters.subscriptions -= n;
    });
    broker.on('publish', (packet, client) => {
      // The broker's own publications (client null) are the bridge's injections of hub publications.
      if (!client && !packet.topic.startsWith('$SYS')) counters.messagesOut++;
    });
    const limit = packetLimit(config.mqttMaxPayload);

    /** Hands a connection to the broker, with a watch on packet sizes in front of its parser. */
    const accept = (stream: Duplex, destroy: (reason: string) => void) => {
      countBytesOut(stream, counters);
      const watch = new PacketSizeWatch(limit);
      // 'data' fires for each chunk aedes reads, before its parser buffers a whole packet.
      stream.on('data', (chunk: Buffer) => {
        const problem = watch.push(chunk);
        if (problem) destroy(problem);
      });
      broker.handle(stream);
    };

    broker.on('clientError', (client, err) =>
      log.warn({ client: client.id, reason: err.message }, 'MQTT client closed'),
    );
    broker.on('connectionError', (_client, err) =>
      log.warn({ reason: err.message }, 'MQTT connection closed before CONNECT completed'),
    );
    broker.on('client', (client) => {
      hub.clientConnected();
      counters.opened();
      log.debug({ client: client.id }, 'MQTT client connected');
    });
    broker.on('clientDisconnect', (client) => {
      hub.clientDisconnected();
      counters.closed('client');
      counters.subscriptions -= subsOf.get(client.id) ?? 0;
      subsOf.delete(client.id);
      log.debug({ client: client.id }, 'MQTT client disconnected');
    });

    const wss = mqttWebSocket(ctx, (stream, ws) =>
      accept(stream, (reason) => {
        log.warn({ transport: 'mqtt-ws', reason }, 'MQTT client closed');
        ws.close(1009, 'packet too large');
        stream.destroy();
      }),
    );

    let server: Server | undefined;
    const sockets = new Set<Socket>();
    // Started once the hub is (onReady runs inside listen, after the engine started).
    ctx.app.addHook('onReady', async () => {
      await bridge.start();
      if (config.mqttPort === 0) return;
      const tcp = createServer((socket) => {
        // Over a limit the socket is closed at once: answering CONNACK would mean keeping it open
        // until CONNECT arrives, which is what a flood of idle sockets wants.
        let ticket: Ticket;
        try {
          ticket = ctx.limits.admit(socket.remoteAddress);
        } catch (err) {
          log.debug({ transport: 'mqtt', reason: (err as Error).message }, 'MQTT connection refused');
          socket.destroy();
          return;
        }
        socket.once('close', () => ticket.release());
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        accept(socket, (reason) => {
          log.warn({ transport: 'mqtt', reason }, 'MQTT client closed');
          socket.destroy();
        });
      });
      server = tcp;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(config.mqttPort === 'auto' ? 0 : config.mqttPort, config.mqttHost, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const address = tcp.address();
      if (address && typeof address === 'object') {
        ctx.listening('mqtt', address);
        log.info({ port: address.port, host: address.address }, 'MQTT is listening');
      }
    });

    ctx.onShutdown(async () => {
      server?.close();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      // Closing the broker closes every MQTT client; the hub is still up, so their wills go out.
      await bridge.close();
      for (const socket of sockets) socket.destroy();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
  },
};

/** Bytes the broker writes to one client: counted at the stream, whatever aedes writes. */
function countBytesOut(stream: Duplex, counters: DoorCounters): void {
  const write = stream.write;
  stream.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
    if (chunk instanceof Uint8Array || typeof chunk === 'string') counters.bytesOut += chunk.length;
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex['write'];
}
