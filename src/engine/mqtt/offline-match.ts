// What an offline session gets from a publication: the one rule both stores apply (the Redis store
// applies it again in Lua, in lua/mqtt-enqueue.ts, and the shared contract suite holds them equal).
import { matchesFilter, type Qos, type StoredMessage, type StoredSubscription } from '../../model/index.js';

/**
 * The copy of `message` to queue for a session with these subscriptions, or undefined when none
 * applies: one copy however many filters match, at min(message, highest matching subscription) QoS,
 * with the ids of every matching subscription. Shared-group subscriptions never queue (MQTT 5 sends
 * shared messages to online members), no-local skips the session's own publications, QoS 0 is not
 * queued.
 */
export function offlineCopy(
  clientId: string,
  subscriptions: StoredSubscription[],
  message: StoredMessage,
): StoredMessage | undefined {
  if (message.qos === 0) return undefined;
  let best = -1;
  const ids: number[] = [];
  for (const sub of subscriptions) {
    if (sub.group !== undefined) continue;
    if (sub.noLocal && message.origin === clientId) continue;
    if (!matchesFilter(sub.filter, message.topic)) continue;
    if (sub.qos > best) best = sub.qos;
    if (sub.id !== undefined && !ids.includes(sub.id)) ids.push(sub.id);
  }
  if (best < 1) return undefined;
  const copy: StoredMessage = { ...message, qos: Math.min(best, message.qos) as Qos };
  if (ids.length > 0) copy.subscriptionIds = ids;
  else delete copy.subscriptionIds;
  return copy;
}

/** Whether a subscription can ever make a session's offline queue grow (see offlineCopy). */
export function queues(sub: StoredSubscription): boolean {
  return sub.group === undefined && sub.qos > 0;
}

/** A message past its message expiry interval is no longer delivered. */
export function expired(message: StoredMessage, now: number): boolean {
  const at = message.props?.expiresAt;
  return typeof at === 'number' && at <= now;
}

/** An independent copy, so neither the caller nor the store sees the other's later changes. */
export function copyMessage<M extends StoredMessage>(message: M): M {
  const copy: M = { ...message, payload: Buffer.from(message.payload) };
  if (message.props) copy.props = structuredClone(message.props);
  if (message.subscriptionIds) copy.subscriptionIds = [...message.subscriptionIds];
  return copy;
}
