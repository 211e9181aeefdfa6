// What the nodes of a cluster tell each other through Redis: each node's report (clients,
// subscriptions, uptime), its subscriptions per channel, and the channels that have subscribers.
// Reports expire unless refreshed, so a killed node drops out by itself; a node that stops cleanly
// withdraws its report at once.
import type { Redis } from 'ioredis';
import type { NodeInfo } from '../../model/index.js';
import { globEscape } from './bus.js';

const COUNTS_BATCH = 1000;

export interface ClusterInfoScripts {
  heraldNodeReport(...args: (string | number)[]): Promise<string[]>;
  heraldChannelCounts(...args: string[]): Promise<number[]>;
}

export class RedisClusterInfo {
  constructor(
    private readonly cmd: Redis & ClusterInfoScripts,
    private readonly prefix: string,
    private readonly busPrefix: string,
    /** Seconds a node's report stays listed without refresh. */
    private readonly nodeTtl: number,
  ) {}

  private nodesKey = () => `${this.prefix}:nodes`;
  private nodeKey = (node: string) => `${this.prefix}:node:${node}`;
  private nodeChannelsKey = (node: string) => `${this.prefix}:node-channels:${node}`;

  async channels(): Promise<string[]> {
    const prefix = this.busPrefix;
    const names = (await this.cmd.pubsub('CHANNELS', `${globEscape(prefix)}*`)) as string[];
    return names.map((n) => n.slice(prefix.length));
  }

  async reportChannelCounts(node: string, counts: [string, number][], replace: boolean): Promise<void> {
    const key = this.nodeChannelsKey(node);
    const tx = this.cmd.multi();
    if (replace) tx.del(key);
    const set: (string | number)[] = [];
    const gone: string[] = [];
    for (const [channel, n] of counts) {
      if (n > 0) set.push(channel, n);
      else if (!replace) gone.push(channel);
    }
    if (set.length > 0) tx.hset(key, ...set);
    if (gone.length > 0) tx.hdel(key, ...gone);
    // Lives as long as the node's report: a node that died stops counting (and its hash goes).
    tx.pexpire(key, this.nodeTtl * 1000);
    await tx.exec();
  }

  async channelCounts(channels: string[]): Promise<number[]> {
    const out: number[] = [];
    // Batches keep each script's argument list well inside Lua's unpack() limit.
    for (let i = 0; i < channels.length; i += COUNTS_BATCH) {
      const counts = await this.cmd.heraldChannelCounts(
        this.nodesKey(),
        `${this.prefix}:node-channels:`,
        ...channels.slice(i, i + COUNTS_BATCH),
      );
      for (const n of counts) out.push(Number(n));
    }
    return out;
  }

  async reportNode(info: NodeInfo): Promise<NodeInfo[]> {
    const list = await this.cmd.heraldNodeReport(
      this.nodesKey(),
      this.nodeKey(info.name),
      info.name,
      JSON.stringify(info),
      this.nodeTtl * 1000,
      `${this.prefix}:node:`,
    );
    return list.map((s) => JSON.parse(s) as NodeInfo);
  }

  async withdrawNode(name: string): Promise<void> {
    await this.cmd
      .multi()
      .zrem(this.nodesKey(), name)
      .del(this.nodeKey(name), this.nodeChannelsKey(name))
      .exec();
  }
}
