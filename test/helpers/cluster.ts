// One Redis and several Herald nodes on it, started and stopped together: the set-up every cluster
// test shares.
import { HeraldNode } from './node.js';
import { TestRedis } from './redis.js';

/** The flags that put a node on a Redis. */
export const redisEngineArgs = (redis: TestRedis, ...extra: string[]) => [
  '--engine',
  'redis',
  '--redis-url',
  redis.url,
  ...extra,
];

export class TestCluster {
  private constructor(
    readonly redis: TestRedis,
    readonly nodes: HeraldNode[],
  ) {}

  /** Starts Redis, then one node per entry of `perNode` (extra flags for that node), in parallel. */
  static async start(perNode: string[][], common: string[] = []): Promise<TestCluster> {
    const redis = await TestRedis.start();
    try {
      const nodes = await Promise.all(
        perNode.map((extra) => HeraldNode.start(redisEngineArgs(redis, ...common, ...extra))),
      );
      return new TestCluster(redis, nodes);
    } catch (err) {
      await redis.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
    await this.redis.stop();
  }
}
