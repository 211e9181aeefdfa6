// The MQTT wire format, pure: bytes in -> packets (mqtt-packet's parser behind a size cap read from
// each fixed header, so an oversize packet is refused before any of its body is buffered), packets
// -> bytes per protocol level, and the mapping of MQTT 5 PUBLISH properties to the message
// properties every door carries.
//
// Parsers are lent, not owned: an idle connection holds none. A chunk is parsed by a pooled parser
// per protocol family; only when a chunk ends inside a packet does the connection keep that parser
// (and the pool makes a new one), until the packet is complete.
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { MessageProperties } from '../../model/index.js';
import { PacketSizeWatch } from '../../protocol/mqtt-size.js';

/** mqtt-packet's parser, with the state its typings leave out. */
// mqtt-packet pre-builds 65,536 two-byte Buffers for packet ids the first time it writes one (6 MB
// of heap); the broker builds few packets with it (PUBLISH goes through templates), so it allocates.
mqttPacket.writeToStream.cacheNumbers = false;

type Parser = ReturnType<typeof mqttPacket.parser> & {
  settings: { protocolVersion?: number };
  error: Error | null;
};

export type ProtocolLevel = 3 | 4 | 5;

/** What the framer hands on: a packet, or why the stream must be closed. */
export interface FrameSink {
  onPacket(packet: Packet): void;
  onFrameError(reason: string, tooLarge: boolean): void;
}

interface PooledParser {
  parser: Parser;
  sink: FrameSink | undefined;
}

const pools = new Map<number, PooledParser>();

function makeParser(level: ProtocolLevel): PooledParser {
  const pooled: PooledParser = {
    parser: mqttPacket.parser({ protocolVersion: level }) as Parser,
    sink: undefined,
  };
  pooled.parser.on('packet', (packet: Packet) => {
    // A CONNECT says which level the rest of the stream speaks; the parser must know at once,
    // since more packets may follow in the same chunk.
    if (packet.cmd === 'connect') pooled.parser.settings.protocolVersion = packet.protocolVersion ?? 4;
    pooled.sink?.onPacket(packet);
  });
  pooled.parser.on('error', (err: Error) =>
    pooled.sink?.onFrameError(`malformed packet: ${err.message}`, false),
  );
  return pooled;
}

function idle(parser: Parser): boolean {
  const p = parser as unknown as { _list: { length: number }; _stateCounter: number; error: unknown };
  return p._list.length === 0 && p._stateCounter === 0;
}

/** One connection's inbound side (the size watch is its base: one object per connection, not two). */
export class Framer extends PacketSizeWatch {
  private own: PooledParser | undefined;
  level: ProtocolLevel = 4;
  private failed = false;

  constructor(
    maxRemainingLength: number,
    private readonly sink: FrameSink,
  ) {
    super(maxRemainingLength);
  }

  feed(chunk: Buffer): void {
    if (this.failed) return;
    const problem = super.push(chunk);
    if (problem) {
      this.failed = true;
      this.sink.onFrameError(problem, !problem.startsWith('malformed'));
      return;
    }
    const family = this.level === 5 ? 5 : 4;
    let pooled = this.own;
    if (!pooled) {
      pooled = pools.get(family);
      if (!pooled) {
        pooled = makeParser(family);
        pools.set(family, pooled);
      }
    }
    pooled.sink = this;
    pooled.parser.settings.protocolVersion = this.level;
    pooled.parser.parse(chunk);
    if (pooled.parser.error) {
      // The stream is closed by the sink. The parser does not fully reset after an error: it is
      // dropped, and the pool makes a fresh one.
      this.own = undefined;
      pooled.sink = undefined;
      if (pools.get(family) === pooled) pools.delete(family);
      return;
    }
    if (idle(pooled.parser)) {
      pooled.sink = undefined;
      if (this.own) this.own = undefined;
      pooled.parser.settings.protocolVersion = family;
    } else if (!this.own) {
      // A packet continues in the next chunk: this parser holds its first part.
      this.own = pooled;
      pools.delete(family);
    }
  }

  onPacket(packet: Packet): void {
    if (this.failed) return;
    if (packet.cmd === 'connect') this.level = (packet.protocolVersion ?? 4) as ProtocolLevel;
    this.sink.onPacket(packet);
  }

  onFrameError(reason: string, tooLarge: boolean): void {
    if (this.failed) return;
    this.failed = true;
    this.sink.onFrameError(reason, tooLarge);
  }
}

export function encode(packet: Packet, level: ProtocolLevel): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: level });
}

/** Length of the fixed header of a packet whose remaining length is `n`. */
export function fixedHeaderLength(n: number): number {
  return n < 128 ? 2 : n < 16_384 ? 3 : n < 2_097_152 ? 4 : 5;
}

/**
 * A PUBLISH built once for many receivers; `idOffset` is where the packet id sits (QoS > 0), so a
 * receiver's copy differs only in those two bytes.
 */
export interface PublishTemplate {
  bytes: Buffer;
  idOffset: number;
}

export function publishTemplate(packet: IPublishPacket, level: ProtocolLevel): PublishTemplate {
  const bytes = encode({ ...packet, messageId: packet.qos > 0 ? 1 : undefined } as Packet, level);
  let i = 1;
  while (bytes[i] & 0x80) i++;
  const topicLength = bytes.readUInt16BE(i + 1);
  return { bytes, idOffset: i + 3 + topicLength };
}

/** A receiver's copy of a template with its packet id (and DUP when it is a retransmission). */
export function withPacketId(t: PublishTemplate, id: number, dup = false): Buffer {
  const out = Buffer.allocUnsafe(t.bytes.length);
  t.bytes.copy(out);
  out[t.idOffset] = id >> 8;
  out[t.idOffset + 1] = id & 0xff;
  if (dup) out[0] |= 0x08;
  return out;
}

type V5PublishProps = NonNullable<IPublishPacket['properties']>;

/** MQTT 5 PUBLISH properties of a message -> the props every door carries. */
export function toMessageProps(p: V5PublishProps | undefined, now: number): MessageProperties | undefined {
  if (!p) return undefined;
  const out: MessageProperties = {};
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined)
    out.correlationData = Buffer.from(p.correlationData).toString('base64');
  if (p.payloadFormatIndicator) out.utf8 = true;
  if (p.messageExpiryInterval !== undefined) out.expiresAt = now + p.messageExpiryInterval * 1000;
  if (p.userProperties) {
    const list: [string, string][] = [];
    for (const [name, value] of Object.entries(p.userProperties)) {
      if (Array.isArray(value)) for (const v of value) list.push([name, String(v)]);
      else list.push([name, String(value)]);
    }
    out.userProperties = list;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Message props -> MQTT 5 PUBLISH properties; undefined when the message has none. */
export function toPublishProps(
  props: MessageProperties | undefined,
  now: number,
): V5PublishProps | undefined {
  if (!props) return undefined;
  const out: V5PublishProps = {};
  if (props.contentType !== undefined) out.contentType = props.contentType;
  if (props.responseTopic !== undefined) out.responseTopic = props.responseTopic;
  if (props.correlationData !== undefined) out.correlationData = Buffer.from(props.correlationData, 'base64');
  if (props.utf8) out.payloadFormatIndicator = true;
  if (props.expiresAt !== undefined)
    out.messageExpiryInterval = Math.max(1, Math.ceil((props.expiresAt - now) / 1000));
  if (props.userProperties && props.userProperties.length > 0) {
    const map: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of props.userProperties) {
      const had = map[name];
      map[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    out.userProperties = map;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** How many user properties a parsed packet carries (a cap against a packet of 100k of them). */
export function userPropertyCount(
  properties: { userProperties?: Record<string, unknown> } | undefined,
): number {
  const up = properties?.userProperties;
  if (!up) return 0;
  let n = 0;
  for (const v of Object.values(up)) n += Array.isArray(v) ? v.length : 1;
  return n;
}
