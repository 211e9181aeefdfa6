// MQTT bytes as the broker reads them: mqtt-packet's parser (as the broker's wire.ts uses it) fed
// random and mutated packets in random chunks, and the size watch in front of it, which must give
// the same verdict however the stream is chunked.
import mqttPacket, { type Packet } from 'mqtt-packet';
import { PacketSizeWatch } from '../../../src/protocol/mqtt-size.js';
import { mutateBytes, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';

const TOPICS = ['news', 'a/b', 'a/+/c', '#', '+', '', '$SYS/x', 'a//b', '\u0000', '漢/😀'];

function packet(rng: Rng): Packet {
  const cmd = rng.pick([
    'connect',
    'publish',
    'subscribe',
    'unsubscribe',
    'puback',
    'pubrec',
    'pubrel',
    'pubcomp',
    'pingreq',
    'disconnect',
  ]);
  const messageId = rng.int(0, 65535);
  switch (cmd) {
    case 'connect':
      return {
        cmd,
        protocolId: rng.chance(0.9) ? 'MQTT' : 'MQIsdp',
        protocolVersion: rng.pick([3, 4, 5, 4, 4]) as 4,
        clean: rng.chance(0.5),
        clientId: randomString(rng, ['fz', '']),
        keepalive: rng.int(0, 65535),
        username: rng.chance(0.3) ? randomString(rng) : undefined,
        password: rng.chance(0.3) ? rng.bytes(rng.size(40)) : undefined,
        will: rng.chance(0.2)
          ? {
              topic: randomString(rng, TOPICS),
              payload: rng.bytes(rng.size(64)),
              qos: rng.int(0, 2) as 0,
              retain: rng.chance(0.5),
            }
          : undefined,
      };
    case 'publish': {
      const qos = rng.int(0, 2) as 0 | 1 | 2;
      return {
        cmd,
        topic: randomString(rng, TOPICS),
        payload: rng.bytes(rng.size(2000)),
        qos,
        retain: rng.chance(0.2),
        dup: rng.chance(0.1),
        messageId: qos > 0 ? messageId : undefined,
      };
    }
    case 'subscribe':
      return {
        cmd,
        messageId,
        subscriptions: Array.from({ length: rng.int(1, 4) }, () => ({
          topic: randomString(rng, TOPICS),
          qos: rng.int(0, 2) as 0,
        })),
      };
    case 'unsubscribe':
      return {
        cmd,
        messageId,
        unsubscriptions: Array.from({ length: rng.int(1, 4) }, () => randomString(rng, TOPICS)),
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd, messageId };
    default:
      return { cmd } as Packet;
  }
}

/** A byte stream of a few packets, each maybe mutated, or plain random bytes. */
export function mqttStream(rng: Rng): Buffer {
  if (rng.chance(0.1)) return rng.bytes(rng.size(300));
  const parts: Buffer[] = [];
  for (let n = rng.int(1, 3); n > 0; n--) {
    let b: Buffer;
    try {
      b = mqttPacket.generate(packet(rng), { protocolVersion: 4 });
    } catch {
      b = rng.bytes(rng.size(64));
    }
    parts.push(rng.chance(0.6) ? mutateBytes(rng, b, parts[0]) : b);
  }
  return Buffer.concat(parts);
}

export function chunks(rng: Rng, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const n = rng.chance(0.5) ? b.length - i : rng.int(1, Math.max(1, b.length - i));
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

export const mqttPackets: Target = {
  name: 'mqtt-packets',
  weight: 15,
  run(rng) {
    const stream = mqttStream(rng);
    const parser = mqttPacket.parser();
    let errors = 0;
    parser.on('packet', (p: Packet) => {
      if (typeof p.cmd !== 'string') throw new Defect('parsed a packet without a command', stream);
    });
    parser.on('error', (err: unknown) => {
      errors++;
      if (!(err instanceof Error)) throw new Defect('parser error is not an Error', stream);
    });
    for (const c of chunks(rng, stream)) {
      try {
        parser.parse(c);
      } catch (err) {
        if (err instanceof Defect) throw err;
        throw new Defect(`parser threw ${(err as Error).name}: ${(err as Error).message}`, stream);
      }
      if (errors > 0) break; // the broker closes the client on the first error
    }

    // The watch's verdict must not depend on how TCP happened to chunk the bytes.
    const max = rng.pick([0, 10, 100, 2000, 1 << 20]);
    const whole = new PacketSizeWatch(max).push(stream);
    const watch = new PacketSizeWatch(max);
    let chunked: string | undefined;
    for (const c of chunks(rng, stream)) {
      chunked = watch.push(c);
      if (chunked) break;
    }
    if (whole !== chunked) throw new Defect(`size watch: "${whole}" whole, "${chunked}" chunked`, stream);
  },
};
