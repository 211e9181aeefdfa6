// The broker's subscription to every hub publication (pattern `#`), held only while this node has
// MQTT clients. Without it a node pays nothing per publication for MQTT: no MQTT encoding, no
// fan-out walk, and on Redis no copy of every publication of the cluster sent to this node.
//
// A connection acquires it during CONNECT, before CONNACK, so nothing published after CONNACK can
// be missed; it is let go a linger after the last holder closed, so a client that reconnects at
// once does not make the engine unsubscribe and subscribe again.
import type { Hub } from '../../hub/hub.js';
import type { Logger, Subscriber } from '../../model/index.js';

const ALL = '#';

export class HubPattern {
  private readonly holders = new Set<object>();
  /** The subscription, made or on its way; undefined while none is held. */
  private ready: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly hub: Hub,
    private readonly subscriber: Subscriber,
    private readonly lingerMs: number,
    private readonly log: Logger,
  ) {}

  /** Whether the hub delivers publications to the broker now (or is about to). */
  get held(): boolean {
    return this.ready !== undefined;
  }

  /**
   * Resolves once the hub delivers every publication to the broker; rejects when the engine could
   * not subscribe (the holder is then let go). The holder counts from this call, so a close during
   * the wait releases it.
   */
  async acquire(holder: object): Promise<void> {
    if (this.closed) throw new Error('the MQTT broker is closing');
    this.holders.add(holder);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (!this.ready) {
      const made = this.hub.subscribePattern(ALL, this.subscriber);
      this.ready = made;
      // A failed subscription is forgotten, so the next CONNECT asks the engine again.
      made.catch(() => {
        if (this.ready === made) this.ready = undefined;
      });
    }
    try {
      await this.ready;
    } catch (err) {
      this.release(holder);
      throw err;
    }
  }

  release(holder: object): void {
    if (!this.holders.delete(holder) || this.holders.size > 0 || this.closed) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => this.letGo(), this.lingerMs);
    this.lingerTimer.unref();
  }

  private letGo(): void {
    this.lingerTimer = undefined;
    if (this.holders.size > 0 || !this.ready) return;
    this.ready = undefined;
    this.hub.unsubscribePattern(ALL, this.subscriber);
    this.log.debug('no MQTT client on this node: hub publications no longer delivered to MQTT');
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    this.holders.clear();
    if (this.ready) this.hub.unsubscribePattern(ALL, this.subscriber);
    this.ready = undefined;
  }
}
