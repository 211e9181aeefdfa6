// Presence of this node's clients: marked in the engine on join, removed on leave, and refreshed on
// every beat so that entries of a crashed node expire instead of staying forever. With an engine in
// this process (Engine.localPresence) the engine's index is the only one and a beat renews it in one
// step; otherwise this node keeps its own index to refresh its entries from, in one batched call.
import type { ClientInfo, Engine, LocalPresence, Logger } from '../model/index.js';

export class PresenceTracker {
  private readonly local = new Map<string, Map<string, ClientInfo>>();
  private readonly group: LocalPresence | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly ttlSeconds: number,
    private readonly log?: Logger,
  ) {
    this.group = engine.localPresence?.(ttlSeconds);
  }

  /** Marks a client present in a channel; announces the join when `announce` is set. */
  async join(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    if (this.group) {
      this.group.add(channel, info);
    } else {
      let entries = this.local.get(channel);
      if (!entries) {
        entries = new Map();
        this.local.set(channel, entries);
      }
      entries.set(info.client, info);
      await this.engine.addPresence(channel, info, this.ttlSeconds);
    }
    if (announce) await this.engine.publishJoin(channel, info);
  }

  async leave(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    if (this.group) {
      this.group.remove(channel, info.client);
    } else {
      const entries = this.local.get(channel);
      if (entries) {
        entries.delete(info.client);
        if (entries.size === 0) this.local.delete(channel);
      }
      await this.engine.removePresence(channel, info.client);
    }
    if (announce) await this.engine.publishLeave(channel, info);
  }

  /** Keeps this node's clients present: one batched engine call, not one call per client. */
  async refresh(): Promise<void> {
    if (this.group) {
      this.group.refresh();
      return;
    }
    const entries: [string, ClientInfo][] = [];
    for (const [channel, local] of this.local) {
      for (const info of local.values()) entries.push([channel, info]);
    }
    if (entries.length === 0) return;
    await this.engine.refreshPresence(entries, this.ttlSeconds).catch((err) => {
      this.log?.warn(
        { err, entries: entries.length },
        'refreshing presence failed; retrying on the next beat',
      );
    });
  }
}
