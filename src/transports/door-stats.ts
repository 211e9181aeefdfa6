// What each door did, counted in plain integers on the hot path and read only when /metrics is
// scraped. Labels stay bounded: a door name from a fixed list, a close code from the known
// catalogue or "other" (a client may close with any of thousands of codes), an engine operation.

/** The doors that count; the label values of `door`. */
export const DOOR_LABELS = ['echo', 'chat', 'websocket', 'sse', 'poll', 'mqtt', 'api'] as const;
export type DoorLabel = (typeof DOOR_LABELS)[number];

/** Codes worth a label of their own: RFC 6455 ones and the errors.ts disconnect catalogue. */
const KNOWN_CODES = new Set([
  1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1013, 3000, 3001, 3004, 3005, 3006, 3008, 3009,
  3010, 3011, 3012, 3013, 3500, 3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508, 3509,
]);

/** The `code` label of a disconnect: a close code, or an HTTP door's reason word. */
export function codeLabel(code: number | string): string {
  if (typeof code === 'string') return code;
  return KNOWN_CODES.has(code) ? String(code) : 'other';
}

export class DoorCounters {
  connections = 0;
  connectionsTotal = 0;
  subscriptions = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  slowConsumers = 0;
  /** Messages dropped from a full per-client queue (mqtt: a session's queue, live or offline). */
  queueDrops = 0;
  readonly disconnects = new Map<string, number>();

  opened(): void {
    this.connections++;
    this.connectionsTotal++;
  }

  closed(code: number | string): void {
    this.connections--;
    const label = codeLabel(code);
    this.disconnects.set(label, (this.disconnects.get(label) ?? 0) + 1);
  }

  sent(bytes: number): void {
    this.messagesOut++;
    this.bytesOut += bytes;
  }
}

/** Cumulative buckets, Prometheus style, filled with integer increments. */
export class LatencyBuckets {
  /** Upper bounds in seconds. */
  readonly bounds: readonly number[];
  readonly counts: number[];
  count = 0;
  sum = 0;
  errors = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const { bounds, counts } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        counts[i]++;
        return;
      }
    }
  }
}

/** Hub dispatch runs in microseconds; engine calls (a Redis round trip) in milliseconds. */
export const DISPATCH_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];
export const ENGINE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** One Herald's figures: per door, hub dispatch time, engine operations. */
export class HeraldStats {
  readonly doors = new Map<DoorLabel, DoorCounters>(DOOR_LABELS.map((d) => [d, new DoorCounters()]));
  readonly dispatch = new LatencyBuckets(DISPATCH_BUCKETS);
  readonly engineOps = new Map<string, LatencyBuckets>();
  /** Publications the hub dispatched on this node; for rates on the admin page. */
  publications = 0;

  door(name: DoorLabel): DoorCounters {
    return this.doors.get(name) as DoorCounters;
  }

  engineOp(name: string): LatencyBuckets {
    let b = this.engineOps.get(name);
    if (!b) {
      b = new LatencyBuckets(ENGINE_BUCKETS);
      this.engineOps.set(name, b);
    }
    return b;
  }
}
