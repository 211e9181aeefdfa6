// Last wills. Kept in the store while their connection lives (so that if this node dies, a
// surviving node's reap publishes them), taken back on a clean DISCONNECT, published when the
// connection goes any other way - after the v5 Will Delay Interval, unless the session resumes
// first (the store's claim then discards the waiting will, and takeWill finds nothing).
import type { MqttBroker } from './broker.js';
import type { MqttConnection } from './connection.js';

export class WillTimers {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly broker: MqttBroker) {}

  async connectionEnded(conn: MqttConnection, graceful: boolean): Promise<void> {
    const { store } = this.broker;
    const will = conn.will;
    if (!will) return;
    if (graceful) {
      await store.takeWill(conn.clientId, conn.id);
      return;
    }
    const user = conn.identity?.user ?? '';
    const delay = Math.min(conn.willDelay, conn.expiryInterval);
    if (delay > 0) {
      // Stored with its time, so another node publishes it should this one die before then.
      await store.setWill(conn.clientId, conn.id, { ...will, publishAt: Date.now() + delay * 1000 });
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.publish(conn, user);
      }, delay * 1000);
      timer.unref();
      this.timers.add(timer);
      return;
    }
    await this.publish(conn, user);
  }

  private async publish(conn: MqttConnection, user: string): Promise<void> {
    try {
      const will = await this.broker.store.takeWill(conn.clientId, conn.id);
      if (!will) return;
      if (conn.willExpiry !== undefined)
        will.props = { ...will.props, expiresAt: Date.now() + conn.willExpiry * 1000 };
      await this.broker.publishWill(conn.clientId, will, user);
    } catch (err) {
      this.broker.log.warn({ err, client: conn.clientId }, 'MQTT will lookup failed');
    }
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
