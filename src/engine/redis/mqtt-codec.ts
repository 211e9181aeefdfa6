// How the Redis MQTT store writes messages and subscriptions into Redis values. Pure: no Redis here.
//
// A message is `<header JSON>\n<payload bytes>`: the payload goes in raw (any bytes round-trip; the
// JSON header cannot contain a raw newline), the header holds topic, QoS, retain, properties and
// origin. A queued message is `<qos>|<subscription ids, comma separated>|<message>`: the enqueue
// script writes one per session by prefixing the same message bytes, so it never re-encodes JSON.
// Subscriptions, as the scripts match them, are a compact JSON array of [filter, qos, noLocal, id].
import type { Qos, StoredMessage, StoredSubscription, StoredWill } from '../../model/index.js';

interface Header {
  t: string;
  q: Qos;
  r?: 1;
  p?: StoredMessage['props'];
  o?: string;
  /** Will publish time (ms). */
  a?: number;
  /** The publication's key (StoredMessage.key). */
  k?: string;
}

const NL = 0x0a;
const BAR = 0x7c;

export function encodeMessage(m: StoredMessage | StoredWill): Buffer {
  const h: Header = { t: m.topic, q: m.qos };
  if (m.retain) h.r = 1;
  if (m.props) h.p = m.props;
  if (m.origin !== undefined) h.o = m.origin;
  if ('publishAt' in m && m.publishAt !== undefined) h.a = m.publishAt;
  if (m.key !== undefined) h.k = m.key;
  return Buffer.concat([Buffer.from(`${JSON.stringify(h)}\n`), m.payload]);
}

/** The message, or undefined when the bytes are not one (corrupt or foreign data). */
export function decodeMessage(b: Buffer): StoredWill | undefined {
  const nl = b.indexOf(NL);
  if (nl < 0) return undefined;
  let h: Header;
  try {
    h = JSON.parse(b.subarray(0, nl).toString('utf8')) as Header;
  } catch {
    return undefined;
  }
  if (!h || typeof h !== 'object' || typeof h.t !== 'string' || (h.q !== 0 && h.q !== 1 && h.q !== 2))
    return undefined;
  const m: StoredWill = { topic: h.t, payload: Buffer.from(b.subarray(nl + 1)), qos: h.q, retain: h.r === 1 };
  if (h.p && typeof h.p === 'object') m.props = h.p;
  if (typeof h.o === 'string') m.origin = h.o;
  if (typeof h.a === 'number') m.publishAt = h.a;
  if (typeof h.k === 'string') m.key = h.k;
  return m;
}

export function encodeQueued(m: StoredMessage): Buffer {
  const ids = (m.subscriptionIds ?? []).join(',');
  return Buffer.concat([
    Buffer.from(`${m.qos}|${ids}|`),
    encodeMessage({ ...m, subscriptionIds: undefined }),
  ]);
}

export function decodeQueued(b: Buffer): StoredMessage | undefined {
  const first = b.indexOf(BAR);
  const second = first < 0 ? -1 : b.indexOf(BAR, first + 1);
  if (second < 0) return undefined;
  const qos = Number(b.subarray(0, first).toString('latin1'));
  if (qos !== 1 && qos !== 2) return undefined;
  const idText = b.subarray(first + 1, second).toString('latin1');
  const ids = idText === '' ? [] : idText.split(',').map(Number);
  if (ids.some((id) => !Number.isInteger(id) || id < 0)) return undefined;
  const m = decodeMessage(b.subarray(second + 1));
  if (!m) return undefined;
  delete m.publishAt;
  m.qos = qos;
  if (ids.length > 0) m.subscriptionIds = ids;
  return m;
}

/** The subscriptions the enqueue script matches: everything but shared-group ones. */
export function compactSubscriptions(subs: StoredSubscription[]): string {
  return JSON.stringify(
    subs.filter((s) => s.group === undefined).map((s) => [s.filter, s.qos, s.noLocal ? 1 : 0, s.id ?? -1]),
  );
}

/** The session state as stored (and given back on claim). */
export interface SessionState {
  subscriptions: StoredSubscription[];
  expiryInterval: number;
  incomingQos2: number[];
}

export function decodeState(text: string): SessionState | undefined {
  try {
    const s = JSON.parse(text) as SessionState;
    if (
      s &&
      Array.isArray(s.subscriptions) &&
      s.subscriptions.every((x) => x && typeof x.filter === 'string' && [0, 1, 2].includes(x.qos)) &&
      typeof s.expiryInterval === 'number' &&
      Array.isArray(s.incomingQos2)
    )
      return s;
  } catch {
    // corrupt: the caller treats it as no session
  }
  return undefined;
}
