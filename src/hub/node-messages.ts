// Messages from one node to another by name, through the engine, told apart by a kind so several
// doors can share the one node channel: `<kind>\n<body>`.
import type { Engine, Logger } from '../model/index.js';

export type NodeMessageHandler = (body: Buffer) => void;

export class NodeMessages {
  private readonly handlers = new Map<string, NodeMessageHandler>();

  constructor(
    private readonly engine: Engine,
    private readonly log?: Logger,
  ) {}

  /** Whether messages can reach other nodes at all (a single-node engine cannot). */
  get available(): boolean {
    return this.engine.sendToNode !== undefined;
  }

  on(kind: string, handler: NodeMessageHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Resolves false when no node of that name listens (or the engine has no nodes to talk to). */
  async send(node: string, kind: string, body: Buffer): Promise<boolean> {
    if (!this.engine.sendToNode) return false;
    return this.engine.sendToNode(node, Buffer.concat([Buffer.from(`${kind}\n`, 'utf8'), body]));
  }

  receive(message: Buffer): void {
    const nl = message.indexOf(0x0a);
    const kind = nl < 0 ? '' : message.subarray(0, nl).toString('utf8');
    const handler = this.handlers.get(kind);
    if (!handler) {
      this.log?.warn({ kind }, 'a node message of an unknown kind was dropped');
      return;
    }
    try {
      handler(message.subarray(nl + 1));
    } catch (err) {
      this.log?.error({ err, kind }, 'a node message failed');
    }
  }
}
