// Publication formats for subscriptions that negotiated `delta: "fossil"`. Each publication is
// encoded once per format, as the hub requires, into two shared frames: the publication whole, and
// a Fossil delta against the channel's previous publication. Which one a subscriber gets depends on
// what its client holds (see transports/centrifuge/delta-subscription.ts), not on the frame.
//
// With delta negotiated the SDK reads JSON `data` as a string holding the payload's text (it must
// apply deltas to that text), so every publication of these subscriptions carries it that way, full
// ones and those in a subscribe result alike. Protobuf carries bytes either way.
import type { FrameFormat, Publication } from '../../model/index.js';
import { createDelta } from '../fossil.js';
import { toBytes } from '../payload.js';
import { OPCODE_BINARY, prefixedFrame, textFrame } from '../ws-frame.js';
import type { CodecName } from './codec.js';
import {
  centrifugeProtobufFormat,
  centrifugeProtobufStreamFormat,
  protobufPublication,
  protobufPublicationPush,
} from './protobuf-codec.js';
import { centrifugeJsonFormat, wirePublication } from './replies.js';
import { centrifugeJsonStreamFormat, centrifugeSseFormat, sseFrame, streamFrame } from './stream-formats.js';

export interface DeltaFrame {
  /** The publication whole: for a client that does not hold the channel's previous publication. */
  readonly full: Buffer;
  /**
   * A delta against the channel's previous publication (same epoch, offset one less); absent when
   * that one is unknown here or the delta would not be smaller.
   */
  readonly delta: Buffer | undefined;
}

// Previous payloads kept per format, across all channels. Past it the oldest channel's is dropped,
// which costs that channel's next publication a full payload, nothing more.
const BASE_BUDGET_BYTES = 64 * 1024 * 1024;

interface Base {
  epoch: string;
  offset: number;
  bytes: Uint8Array;
}

/** Each channel's last encoded payload, the least recently published dropped first. */
class Bases {
  private readonly map = new Map<string, Base>();
  private total = 0;

  get(channel: string): Base | undefined {
    return this.map.get(channel);
  }

  set(channel: string, base: Base): void {
    const old = this.map.get(channel);
    if (old) {
      this.total -= old.bytes.length;
      this.map.delete(channel);
    }
    this.map.set(channel, base);
    this.total += base.bytes.length;
    for (const [name, b] of this.map) {
      if (this.total <= BASE_BUDGET_BYTES) break;
      this.map.delete(name);
      this.total -= b.bytes.length;
    }
  }
}

/**
 * The payload as the JSON text a delta client decodes: non-ASCII escaped, so the text is ASCII and
 * any slice of it (a delta's literal inserts) is still valid text inside a JSON string.
 */
export function deltaJsonText(pub: Publication): string {
  return (JSON.stringify(pub.data ?? null) ?? 'null').replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A publication inside a subscribe result for a delta subscription: always whole. */
export function deltaWirePublication(codec: CodecName, pub: Publication): object {
  if (codec === 'protobuf') return protobufPublication(pub);
  return { ...wirePublication(pub), data: deltaJsonText(pub) };
}

function fossilFormat(
  name: string,
  payload: (pub: Publication) => Uint8Array,
  push: (pub: Publication, data: Uint8Array, delta: boolean) => Buffer,
): FrameFormat<DeltaFrame> {
  const bases = new Bases();
  return {
    name,
    encode(pub) {
      const bytes = payload(pub);
      const full = push(pub, bytes, false);
      let delta: Buffer | undefined;
      const prev = bases.get(pub.channel);
      if (prev && pub.offset > 0 && prev.epoch === pub.epoch && prev.offset === pub.offset - 1) {
        const d = createDelta(prev.bytes, bytes);
        if (d.length < bytes.length) delta = push(pub, d, true);
      }
      // A late encode of an older publication (one held while a subscriber was set up) must not
      // move the base back.
      if (!prev || prev.epoch !== pub.epoch || pub.offset > prev.offset) {
        bases.set(pub.channel, { epoch: pub.epoch, offset: pub.offset, bytes });
      }
      return { full, delta };
    },
  };
}

function jsonFormat(name: string, frame: (text: string) => Buffer): FrameFormat<DeltaFrame> {
  return fossilFormat(
    name,
    (pub) => Buffer.from(deltaJsonText(pub), 'latin1'),
    (pub, data, delta) => {
      // ASCII both ways: the payload text is, and so is a delta of it.
      const wire = { ...wirePublication(pub), data: Buffer.from(data).toString('latin1') };
      const body = delta ? { ...wire, delta: true } : wire;
      return frame(JSON.stringify({ push: { channel: pub.channel, pub: body } }));
    },
  );
}

function protobufFormat(name: string, frame: (bytes: Uint8Array) => Buffer): FrameFormat<DeltaFrame> {
  return fossilFormat(name, toBytes, (pub, data, delta) => {
    const wire = { ...protobufPublication(pub), data, ...(delta ? { delta: true } : {}) };
    return frame(protobufPublicationPush(pub.channel, wire));
  });
}

const EMPTY = Buffer.alloc(0);

// One delta format per transport format: subscribers on the same wire share its frames.
const DELTA_OF = new Map<FrameFormat<Buffer>, FrameFormat<DeltaFrame>>([
  [centrifugeJsonFormat, jsonFormat('centrifuge-json-fossil', textFrame)],
  [centrifugeJsonStreamFormat, jsonFormat('centrifuge-json-stream-fossil', streamFrame)],
  [centrifugeSseFormat, jsonFormat('centrifuge-sse-fossil', sseFrame)],
  [
    centrifugeProtobufFormat,
    protobufFormat('centrifuge-protobuf-fossil', (b) => prefixedFrame(OPCODE_BINARY, EMPTY, b)),
  ],
  [
    centrifugeProtobufStreamFormat,
    protobufFormat('centrifuge-protobuf-stream-fossil', (b) => Buffer.from(b)),
  ],
]);

/** The delta format that goes with a transport's publication format, if it has one. */
export function deltaFormatOf(format: FrameFormat<Buffer>): FrameFormat<DeltaFrame> | undefined {
  return DELTA_OF.get(format);
}
