// MQTT sessions through the broker's own connection state machine: a CONNECT the broker accepts
// (3.1, 3.1.1 or 5, random options, client ids from a small pool so sessions resume, collide and
// take each other over), then a random sequence of packets that are mostly well-formed for that
// level - PUBLISH at every QoS (topic aliases, DUP, ids reused), SUBSCRIBE (shared, wildcards,
// v5 options), acknowledgements of ids the broker did or did not use, PUBREL, PINGREQ, a second
// CONNECT, AUTH, DISCONNECT with random reasons and expiry - some mutated, in random chunks and at
// a random pace. The client answers the broker's PUBLISH packets (or does not). The case ends by
// DISCONNECT, a close, or a destroyed socket.
//
// Per case: whatever the broker sent parses as MQTT at the client's level, starting with CONNACK,
// and DISCONNECT only ever goes to MQTT 5. Over the run (pass.ts): the process survives, the
// watchers get every publication in order, clients are released and the heap stays bounded.
import * as net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { mutateBytes, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';
import type { FuzzServer } from './server.js';

type Level = 3 | 4 | 5;

const TOPICS = ['fzs/a', 'fzs/b/c', 'fzs/q', 'fzs/r', 'fzs/漢', '$SYS/x', 'fzs//d', 'chat'];
const FILTERS = ['fzs/#', 'fzs/+', 'fzs/+/c', '#', '+/+', '$share/g/fzs/#', '$share/h/+', '$SYS/#', 'fzs/a'];
const MUTATED = Number(process.env.FUZZ_MQTT_MUTATED ?? 0.3);
/** Few client ids: sessions are resumed, taken over and expired by later cases. */
const CLIENT_IDS = 8;

function connect(rng: Rng, level: Level): Packet {
  const id = rng.chance(0.9) ? `fzs-${rng.int(0, CLIENT_IDS - 1)}` : level === 5 ? '' : 'fzs-x';
  const p: Packet = {
    cmd: 'connect',
    protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: level,
    clean: id === '' || rng.chance(0.4),
    clientId: id,
    keepalive: rng.pick([0, 1, 2, 60]),
  };
  if (rng.chance(0.2))
    p.will = {
      topic: rng.pick(TOPICS),
      payload: rng.bytes(rng.size(64)),
      qos: rng.int(0, 2) as 0,
      retain: rng.chance(0.3),
      properties: level === 5 && rng.chance(0.5) ? { willDelayInterval: rng.pick([0, 1, 3]) } : undefined,
    };
  if (level === 5) {
    p.properties = {
      sessionExpiryInterval: rng.pick([0, 0, 1, 2, 60]),
      receiveMaximum: rng.chance(0.5) ? rng.int(1, 5) : undefined,
      topicAliasMaximum: rng.chance(0.5) ? rng.int(0, 4) : undefined,
      maximumPacketSize: rng.chance(0.2) ? rng.pick([20, 100, 1000]) : undefined,
    };
  }
  return p;
}

function step(rng: Rng, level: Level): Packet {
  const v5 = level === 5;
  const messageId = rng.chance(0.8) ? rng.int(1, 6) : rng.int(0, 65535);
  switch (rng.int(0, 12)) {
    case 0:
    case 1:
    case 2: {
      const qos = rng.int(0, 2) as 0 | 1 | 2;
      const p: Packet = {
        cmd: 'publish',
        topic: rng.chance(0.9) ? rng.pick(TOPICS) : randomString(rng, TOPICS),
        payload: rng.bytes(rng.size(200)),
        qos,
        retain: rng.chance(0.2),
        dup: rng.chance(0.2),
        messageId: qos > 0 ? messageId : undefined,
      };
      if (v5 && rng.chance(0.3)) {
        p.properties = { topicAlias: rng.int(0, 5) };
        if (rng.chance(0.5)) p.topic = '';
      }
      if (v5 && rng.chance(0.2)) p.properties = { ...p.properties, messageExpiryInterval: rng.int(1, 3) };
      return p;
    }
    case 3:
    case 4:
      return {
        cmd: 'subscribe',
        messageId,
        subscriptions: Array.from({ length: rng.int(1, 3) }, () => ({
          topic: rng.pick(FILTERS),
          qos: rng.int(0, 2) as 0,
          ...(v5 ? { nl: rng.chance(0.3), rap: rng.chance(0.3), rh: rng.int(0, 2) as 0 } : {}),
        })),
        properties: v5 && rng.chance(0.3) ? { subscriptionIdentifier: rng.int(1, 5) } : undefined,
      };
    case 5:
      return { cmd: 'unsubscribe', messageId, unsubscriptions: [rng.pick(FILTERS)] };
    case 6:
      return { cmd: 'puback', messageId };
    case 7:
      return { cmd: 'pubrec', messageId, reasonCode: v5 && rng.chance(0.2) ? 0x80 : undefined };
    case 8:
      return { cmd: 'pubrel', messageId };
    case 9:
      return { cmd: 'pubcomp', messageId };
    case 10:
      return { cmd: 'pingreq' };
    case 11:
      if (rng.chance(0.3)) return connect(rng, level);
      if (v5 && rng.chance(0.5)) return { cmd: 'auth', reasonCode: 0x18 };
      return { cmd: 'pingreq' };
    default:
      return {
        cmd: 'disconnect',
        reasonCode: v5 ? rng.pick([0, 4, 0x80]) : undefined,
        properties: v5 && rng.chance(0.3) ? { sessionExpiryInterval: rng.pick([0, 5]) } : undefined,
      };
  }
}

function bytesOf(rng: Rng, p: Packet, level: Level): Buffer {
  try {
    return mqttPacket.generate(p, { protocolVersion: level });
  } catch {
    return rng.bytes(rng.size(32)); // a packet mqtt-packet will not even build: noise instead
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function mqttSessions(s: FuzzServer): Target {
  const seen = { accepted: 0, resumed: 0, refused: 0, delivered: 0, disconnects: new Map<number, number>() };
  return {
    name: 'socket-mqtt-sessions',
    weight: 30,
    concurrency: 16,
    summary() {
      const d = [...seen.disconnects].sort((a, b) => b[1] - a[1]);
      return (
        `sessions accepted ${seen.accepted} (resumed ${seen.resumed}), refused ${seen.refused}, ` +
        `PUBLISH received ${seen.delivered}; DISCONNECT reasons ` +
        d.map(([rc, n]) => `0x${rc.toString(16)}:${n}`).join(' ')
      );
    },
    async run(rng) {
      const level = rng.pick([3, 4, 5, 5] as const);
      const hello = bytesOf(rng, connect(rng, level), level);
      const steps = Array.from({ length: rng.int(1, 25) }, () => bytesOf(rng, step(rng, level), level));
      // A third of the cases has one mutated packet somewhere: most sessions run their whole script.
      if (rng.chance(MUTATED)) {
        const at = rng.int(0, steps.length - 1);
        steps[at] = mutateBytes(rng, steps[at]);
      }
      // Decided now, so that the broker's timing does not change what the case draws.
      const answers = Array.from({ length: 32 }, () => rng.chance(0.7));
      const pace = steps.map(() => (rng.chance(0.3) ? rng.int(0, 15) : -1));
      const ending = rng.int(0, 3);

      const socket = net.connect(s.mqttPort, '127.0.0.1');
      socket.setNoDelay(true);
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));

      const got: Packet[] = [];
      let malformed: string | undefined;
      let answered = 0;
      const parser = mqttPacket.parser({ protocolVersion: level });
      parser.on('packet', (p: Packet) => {
        got.push(p);
        // A client that answers what it is sent - or, now and then, does not.
        if (socket.destroyed || !answers[answered++ % answers.length]) return;
        let reply: Packet | undefined;
        if (p.cmd === 'publish' && p.qos === 1) reply = { cmd: 'puback', messageId: p.messageId };
        else if (p.cmd === 'publish' && p.qos === 2) reply = { cmd: 'pubrec', messageId: p.messageId };
        else if (p.cmd === 'pubrec') reply = { cmd: 'pubrel', messageId: p.messageId };
        else if (p.cmd === 'pubrel') reply = { cmd: 'pubcomp', messageId: p.messageId };
        if (reply) socket.write(mqttPacket.generate(reply, { protocolVersion: level }));
      });
      parser.on('error', (err: Error) => {
        malformed ??= err.message;
      });
      socket.on('data', (d: Buffer) => parser.parse(d));

      try {
        socket.write(hello);
        for (let i = 0; i < steps.length && !socket.destroyed; i++) {
          if (pace[i] >= 0) await pause(pace[i]);
          socket.write(steps[i]);
        }
        if (ending === 0 && !socket.destroyed)
          socket.write(bytesOf(rng, { cmd: 'disconnect', reasonCode: 0 } as Packet, level));
        if (ending <= 1) socket.end();
        // Bounded: the broker closes a finished client at once; an open one is left after 150 ms.
        await Promise.race([closed, pause(ending === 3 ? 400 : 150)]);
      } finally {
        socket.destroy();
      }

      for (const p of got) {
        if (p.cmd === 'connack') {
          const rc = level === 5 ? p.reasonCode : p.returnCode;
          if (rc === 0) seen.accepted++;
          else seen.refused++;
          if (p.sessionPresent) seen.resumed++;
        } else if (p.cmd === 'publish') seen.delivered++;
        else if (p.cmd === 'disconnect') {
          const rc = p.reasonCode ?? 0;
          seen.disconnects.set(rc, (seen.disconnects.get(rc) ?? 0) + 1);
        }
      }
      if (malformed)
        throw new Defect(`the broker sent bytes that do not parse at level ${level}: ${malformed}`);
      if (got.length > 0 && got[0].cmd !== 'connack')
        throw new Defect(`the broker's first packet was ${got[0].cmd}, not CONNACK`);
      if (level !== 5 && got.some((p) => p.cmd === 'disconnect'))
        throw new Defect(`DISCONNECT sent to an MQTT ${level === 3 ? '3.1' : '3.1.1'} client`);
    },
  };
}
