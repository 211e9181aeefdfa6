// A door's client side for the benchmark. Adding a door's scenario is one file in this folder that
// default-exports a DoorAdapter; the runner finds it by listing the folder. The load processes only
// ever talk to a door through this interface, so every scenario works for every door.

/** What a benchmark publication carries: the step it belongs to and when it was sent. */
export interface Stamp {
  step: number;
  /** Wall-clock milliseconds (performance.timeOrigin + performance.now()) when it was sent. */
  sentAt: number;
}

export interface ConnectOptions {
  /** http://127.0.0.1:PORT of the server under test (mqtt://127.0.0.1:PORT for the MQTT door). */
  base: string;
  /** Source address to bind, one of 127.0.0.2 ... 127.0.0.9, so one address's ports are not the limit. */
  localAddress: string;
  /** The channel the benchmark publishes on. */
  channel: string;
}

export interface SubscribeOptions extends ConnectOptions {
  /** Called for every publication received, with the payload text the publisher sent. */
  onPayload(payload: string): void;
  /** Called once when the connection ends, expectedly or not. */
  onClose(): void;
}

export interface Connection {
  close(): void;
}

export interface PublisherConnection extends Connection {
  /** Publishes one payload on the channel (or on `channel`); must not wait for an answer. */
  publish(payload: string, channel?: string): void;
}

export interface DoorAdapter {
  /** Short name shown in tables, e.g. "chat", "ws-protocol", "sse". */
  readonly name: string;
  /** False for a door this build does not have yet: the runner lists it as "not available". */
  readonly available: boolean;
  /** Largest subscriber count worth running (long polling costs one request per delivery batch). */
  readonly maxSubscribers?: number;
  /** False for a variant of another door (same connections, other publisher): no idle row of its own. */
  readonly idle?: boolean;
  /** Opens one connection and subscribes it; resolves once publications will reach it. */
  subscribe(opts: SubscribeOptions): Promise<Connection>;
  /** Opens one publishing connection. */
  publisher(opts: ConnectOptions): Promise<PublisherConnection>;
}

/** Builds the payload: "<step> <sentAt> " padded with 'x' to exactly `size` bytes. */
export function makePayload(step: number, sentAt: number, size: number): string {
  const head = `${step} ${sentAt.toFixed(3)} `;
  return head.length >= size ? head : head + 'x'.repeat(size - head.length);
}

/** Reads a payload made by makePayload; undefined when it is not one. */
export function parsePayload(payload: string): Stamp | undefined {
  const a = payload.indexOf(' ');
  const b = payload.indexOf(' ', a + 1);
  if (a <= 0 || b <= a) return undefined;
  const step = Number(payload.slice(0, a));
  const sentAt = Number(payload.slice(a + 1, b));
  return Number.isFinite(step) && Number.isFinite(sentAt) ? { step, sentAt } : undefined;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** A door not merged yet: its scenario rows are printed as not available. */
export function notYet(name: string): DoorAdapter {
  const missing = () => Promise.reject(new Error(`door ${name} is not in this build yet`));
  return { name, available: false, subscribe: missing, publisher: missing };
}
