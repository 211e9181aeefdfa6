// MQTT at QoS 0 over TCP (mqtt.js): subscribers subscribe to the channel as a topic, the publisher is
// an MQTT client too. `base` is mqtt://127.0.0.1:PORT (Herald's MQTT listener, or mosquitto as the
// MQTT baseline). The stream is built here so each client binds its load process's source address.
import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
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
  async subscribe(opts: SubscribeOptions): Promise<Connection> {
    const client = await open(opts);
    client.on('message', (_topic, message: Buffer) => opts.onPayload(message.toString('latin1')));
    await client.subscribeAsync(opts.channel, { qos: 0 });
    client.on('error', () => {});
    client.once('close', () => opts.onClose());
    return { close: () => client.end(true) };
  },
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
