// Reads only the fixed headers of an MQTT byte stream, so a packet that declares a body larger than
// the limit is refused before the broker's parser buffers it (the parser has no limit of its own).
// Pure: fed chunks, answers with a problem or nothing.

/** Remaining-length bytes of a packet the watch lets through, for a payload limit. */
export function packetLimit(maxPayload: number): number {
  // PUBLISH: topic length (2) + topic (at most 65535) + packet id (2) + payload.
  return maxPayload + 2 + 65_535 + 2;
}

export class PacketSizeWatch {
  private state: 'header' | 'length' | 'body' = 'header';
  private remaining = 0;
  private value = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly max: number) {}

  /** Returns why the stream must be closed, or undefined while it stays within the limit. */
  push(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const n = Math.min(this.remaining, chunk.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'header';
      } else if (this.state === 'header') {
        i++;
        this.state = 'length';
        this.value = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const b = chunk[i++];
        this.value += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (b & 0x80) {
          if (this.lengthBytes === 4) return 'malformed packet: remaining length longer than 4 bytes';
          continue;
        }
        if (this.value > this.max) return `packet of ${this.value} bytes exceeds the limit of ${this.max}`;
        this.remaining = this.value;
        this.state = this.value === 0 ? 'header' : 'body';
      }
    }
    return undefined;
  }
}
