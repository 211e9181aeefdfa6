// aedes keeps every QoS 1/2 message for a persistent session until it is acknowledged, without a
// bound: a session that subscribed to `#` and never came back would hold every message forever.
// This caps each session's queue (offline messages plus unacknowledged ones). Past the cap new
// messages are not queued for it; an online client that far behind is disconnected by aedes (its
// delivery finds no queued packet), like any slow consumer.
import memory from 'aedes-persistence';

// A CommonJS module whose types describe an ES default export: at run time the default is the
// factory itself (aedes imports it the same way).
const createMemoryPersistence = memory as unknown as () => unknown;

interface Sub {
  clientId: string;
}
interface Queued {
  messageId?: number;
}
interface OutgoingPersistence {
  outgoingEnqueueCombi(subs: Sub[], packet: object): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: Queued): Promise<Queued | undefined>;
}

/** In-memory aedes persistence whose per-session outgoing queue holds at most `limit` messages. */
export function boundedMemoryPersistence(limit: number, onFull: (clientId: string) => void): unknown {
  const persistence = createMemoryPersistence() as OutgoingPersistence;
  const counts = new Map<string, number>();
  const full = new Set<string>(); // reported once until the queue drains below the cap
  const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);

  const admit = (sub: Sub) => {
    const n = counts.get(sub.clientId) ?? 0;
    if (n < limit) {
      counts.set(sub.clientId, n + 1);
      return true;
    }
    if (!full.has(sub.clientId)) {
      full.add(sub.clientId);
      onFull(sub.clientId);
    }
    return false;
  };
  persistence.outgoingEnqueueCombi = (subs, packet) => enqueueCombi(subs.filter(admit), packet);
  persistence.outgoingClearMessageId = async (client, packet) => {
    const found = await clear(client, packet);
    if (found) {
      const n = (counts.get(client.id) ?? 1) - 1;
      if (n > 0) counts.set(client.id, n);
      else counts.delete(client.id);
      if (n < limit) full.delete(client.id);
    }
    return found;
  };
  return persistence;
}
