// MQTT at QoS 0 over TCP: subscribers subscribe to the channel as a topic, the publisher is an MQTT
// client too. `base` is mqtt://127.0.0.1:PORT (Herald's MQTT listener, or mosquitto as the MQTT
// baseline). Subscribers are raw sockets read by mqtt-packet's parser, as the other doors' readers
// are raw: mqtt.js's client costs the load side half again as much per message as a `ws` client,
// and the load side's time is in every latency figure. The publisher (one connection) is mqtt.js.
import { createConnection, type Socket } from 'node:net';
import { MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

function open(opts: ConnectOptions): Promise<MqttClient> {
  const url = new URL(opts.base);
  const client = new MqttClient(
    () => createConnection({ host: url.hostname, port: Number(url.port), localAddress: opts.localAddress }),
    { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, clean: true, connectTimeout: 30_000 },
  );
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const mqtt: DoorAdapter = {
  name: 'mqtt',
  available: true,
  subscribe: (opts: SubscribeOptions): Promise<Connection> => rawSubscriber(opts),
  async publisher(opts: ConnectOptions): Promise<PublisherConnection> {
    const client = await open(opts);
    client.on('error', () => {});
    return {
      publish: (payload, channel = opts.channel) => client.publish(channel, payload, { qos: 0 }),
      close: () => client.end(true),
    };
  },
};

export default mqtt;

let clientSeq = 0;
const PINGREQ = Buffer.from([0xc0, 0]);

/**
 * One subscriber on a raw socket: CONNECT (3.1.1, clean), SUBSCRIBE at QoS 0, then every PUBLISH's
 * payload to `onPayload`. Resolves at SUBACK, when publications will reach it.
 */
function rawSubscriber(opts: SubscribeOptions): Promise<Connection> {
  const url = new URL(opts.base);
  const socket: Socket = createConnection({
    host: url.hostname,
    port: Number(url.port),
    localAddress: opts.localAddress,
  });
  socket.setNoDelay(true);
  const clientId = `bench-${process.pid}-${++clientSeq}`;
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId,
    }),
  );
  // Keep-alive 60 s: one PINGREQ every 30 s keeps a long run's subscriber connected.
  const ping = setInterval(() => socket.write(PINGREQ), 30_000).unref();
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'publish') opts.onPayload((packet.payload as Buffer).toString('latin1'));
      else if (packet.cmd === 'connack')
        socket.write(
          mqttPacket.generate({
            cmd: 'subscribe',
            messageId: 1,
            subscriptions: [{ topic: opts.channel, qos: 0 }],
          }),
        );
      else if (packet.cmd === 'suback' && !subscribed) {
        subscribed = true;
        resolve({ close: () => socket.destroy() });
      }
    });
    parser.on('error', (err: Error) => socket.destroy(err));
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.once('error', (err) => reject(err));
    socket.once('close', () => {
      clearInterval(ping);
      if (!subscribed) reject(new Error('closed before SUBACK'));
      opts.onClose();
    });
  });
}
