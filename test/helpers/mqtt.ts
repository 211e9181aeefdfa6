// MQTT test clients: mqtt.js with a message queue, the mosquitto command-line clients, and a raw TCP
// socket for packets no well-behaved client would send.
import { execFile, spawn } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { onPath, requireTool } from './requires.js';
import { until } from './until.js';

/** The `skip` option of a test that runs mosquitto_pub or mosquitto_sub (see requires.ts). */
export function needsMosquittoClients(): false | string {
  return requireTool('mosquitto_pub/mosquitto_sub (Debian: mosquitto-clients)', () =>
    ['mosquitto_pub', 'mosquitto_sub'].every((c) => onPath(c, ['--help'])),
  );
}

export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

/** An mqtt.js client whose messages queue up until a test asks for them. */
export class MqttTestClient {
  private readonly queue: MqttMessage[] = [];
  private waiters: ((m: MqttMessage) => void)[] = [];
  readonly closed: Promise<void>;
  /** PINGRESPs received: each is a keep-alive round trip the broker answered. */
  pingResponses = 0;

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m = { topic, payload, qos: packet.qos, retain: packet.retain };
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'pingresp') this.pingResponses++;
    });
    client.on('error', () => {});
    this.closed = new Promise((resolve) => client.once('close', () => resolve()));
  }

  /**
   * Connects; the message listener is in place before CONNACK, since a resumed session's messages
   * may arrive in the same read as CONNACK.
   */
  static async connect(url: string, options: IClientOptions = {}): Promise<MqttTestClient> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const c = new MqttTestClient(client);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed before CONNACK')));
      });
    } catch (err) {
      client.end(true);
      throw err;
    }
    return c;
  }

  next(ms = 3000): Promise<MqttMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no MQTT message for client ${this.client.options.clientId} within ${ms} ms`));
      }, ms);
      const done = (msg: MqttMessage) => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.waiters.push(done);
    });
  }

  /**
   * The messages received before the one `isMarker` picks (which is taken too, not returned).
   * A marker published after what a test checks for, on a path that keeps order, proves that
   * nothing more of it is on its way: this is how tests assert "nothing else arrived".
   */
  async upTo(isMarker: (m: MqttMessage) => boolean, ms = 3000): Promise<MqttMessage[]> {
    const before: MqttMessage[] = [];
    for (;;) {
      const m = await this.next(ms);
      if (isMarker(m)) return before;
      before.push(m);
    }
  }

  /**
   * Everything received during `ms`, queued or new. A fixed window, so only for what no marker can
   * be ordered after: retained messages, which the broker sends after SUBACK from a store lookup with
   * no end the client can see.
   */
  async drain(ms: number): Promise<MqttMessage[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  async subscribe(filter: string | string[], qos: 0 | 1 | 2 = 0): Promise<void> {
    const granted = await this.client.subscribeAsync(filter, { qos });
    for (const g of granted) if (g.qos === 128) throw new Error(`subscription to ${g.topic} refused`);
  }

  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1 | 2; retain?: boolean } = {}) {
    return this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  async end(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Runs mosquitto_pub to completion. */
export function mosquittoPub(port: number, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/** Runs mosquitto_sub until it has `count` messages (-C) or `seconds` pass (-W); resolves its lines. */
export function mosquittoSub(
  port: number,
  args: string[],
  count: number,
  seconds = 5,
): { ready: Promise<void>; lines: Promise<string[]> } {
  // stdbuf: piped stdout is block-buffered, and the SUBACK line must arrive when it happens.
  const child = spawn('stdbuf', [
    '-oL',
    'mosquitto_sub',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-C',
    String(count),
    '-W',
    String(seconds),
    '-d',
    ...args,
  ]);
  let out = '';
  let log = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout.on('data', (d) => {
    out += d.toString();
    // -d prints the protocol exchange; SUBACK means the subscription is in place.
    if (/SUBACK/.test(out)) onReady();
  });
  child.stderr.on('data', (d) => {
    log += d.toString();
  });
  const lines = new Promise<string[]>((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0 && code !== 27) return reject(new Error(`mosquitto_sub exited ${code}: ${log}`));
      resolve(
        out.split('\n').filter((l) => l !== '' && !l.startsWith('Client ') && !l.startsWith('Subscribed')),
      );
    });
  });
  return { ready, lines };
}

/** A raw TCP connection to the broker, for malformed and abusive input. */
export class RawMqtt {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  received = Buffer.alloc(0);

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(port: number): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect(port, '127.0.0.1', () => resolve(new RawMqtt(s)));
      s.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits until the broker has sent at least `n` bytes (`what` names them in a failure). */
  async receivedAtLeast(n: number, what: string): Promise<void> {
    await until(() => this.received.length >= n, {
      what,
      timeoutMs: 3000,
      detail: () => `bytes ${[...this.received].join(',')}`,
    });
  }

  /** Resolves true when the server closed the connection within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.closed.then(() => true), t]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Sends a packet built by mqtt-packet at a protocol level (3, 4 or 5). */
  send(packet: Packet, level: 3 | 4 | 5 = 5): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: level }));
  }

  /** Every packet the broker sent so far, parsed at a protocol level. */
  packets(level: 3 | 4 | 5 = 5): Packet[] {
    const out: Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: level });
    parser.on('packet', (p: Packet) => out.push(p));
    parser.on('error', () => {});
    parser.parse(this.received);
    return out;
  }

  /** Waits for the broker's next packet of a kind (after `skip` earlier ones of that kind). */
  async packet<C extends Packet['cmd']>(
    cmd: C,
    level: 3 | 4 | 5 = 5,
    skip = 0,
  ): Promise<Extract<Packet, { cmd: C }>> {
    const find = () => this.packets(level).filter((p) => p.cmd === cmd)[skip];
    await until(() => find() !== undefined, {
      what: `${cmd} from the broker`,
      timeoutMs: 3000,
      detail: () => JSON.stringify(this.packets(level).map((p) => p.cmd)),
    });
    return find() as Extract<Packet, { cmd: C }>;
  }

  /** Opens a connection and completes CONNECT; resolves once CONNACK is in. */
  static async connected(
    port: number,
    connect: Partial<Packet> = {},
    level: 3 | 4 | 5 = 5,
  ): Promise<RawMqtt> {
    const raw = await RawMqtt.open(port);
    raw.send(
      {
        cmd: 'connect',
        protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: level,
        clean: true,
        clientId: `raw-${Math.random().toString(36).slice(2)}`,
        keepalive: 60,
        ...connect,
      } as Packet,
      level,
    );
    await raw.packet('connack', level);
    return raw;
  }
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** An MQTT 3.1.1 CONNECT, clean session. */
export function connectPacket(clientId: string, keepalive = 60): Buffer {
  const ka = Buffer.alloc(2);
  ka.writeUInt16BE(keepalive);
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02]), ka, str(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** A QoS 0 PUBLISH with any topic, valid or not. */
export function publishPacket(topic: string, payload: Buffer): Buffer {
  const body = Buffer.concat([str(topic), payload]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}

/** A QoS 2 PUBLISH with a packet id, optionally flagged as a retransmission (DUP). */
export function publishQos2Packet(topic: string, id: number, payload: Buffer, dup = false): Buffer {
  const mid = Buffer.alloc(2);
  mid.writeUInt16BE(id);
  const body = Buffer.concat([str(topic), mid, payload]);
  return Buffer.concat([Buffer.from([dup ? 0x3c : 0x34]), remainingLength(body.length), body]);
}

/** PUBREL for a QoS 2 packet id. */
export function pubrelPacket(id: number): Buffer {
  return Buffer.from([0x62, 0x02, id >> 8, id & 0xff]);
}

/** The fixed header of a PUBLISH that declares `length` bytes of body. */
export function publishHeader(length: number): Buffer {
  return Buffer.concat([Buffer.from([0x30]), remainingLength(length)]);
}

export const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

/**
 * A subscriber that is not part of the misbehaviour under test: after each bad input, `goesOn()`
 * checks that the server still serves it (a publication reaches it, its connection is up).
 */
export class Bystander {
  private n = 0;

  private constructor(
    private readonly client: MqttTestClient,
    private readonly publish: (topic: string, text: string) => Promise<unknown>,
  ) {}

  static async on(
    port: number,
    publish: (topic: string, text: string) => Promise<unknown>,
  ): Promise<Bystander> {
    const client = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`);
    await client.subscribe(BYSTANDER_TOPIC, 1);
    return new Bystander(client, publish);
  }

  async goesOn(): Promise<void> {
    const text = `still here ${++this.n}`;
    await this.publish(BYSTANDER_TOPIC, text);
    const m = await this.client.next();
    if (m.payload.toString() !== text) throw new Error(`bystander got ${m.payload.toString()}, not ${text}`);
    if (!this.client.client.connected) throw new Error('bystander was disconnected');
  }

  end(): Promise<void> {
    return this.client.end();
  }
}

const BYSTANDER_TOPIC = 'by/t';
