// The backend's control over a user's connections (the server API's subscribe, unsubscribe,
// disconnect and refresh). A user's connections may be on any node, so a command runs here and is
// sent to every other node of the cluster as a node message; each node applies it to the
// connections it holds. Doors register what they hold; the hub knows nothing of sessions.
import type { Logger } from '../model/index.js';
import type { NodeMessages } from './node-messages.js';

interface Target {
  user: string;
  /** Only this connection of the user; otherwise all of them. */
  client?: string;
}

export type UserCommand =
  | (Target & { op: 'subscribe'; channel: string })
  | (Target & { op: 'unsubscribe'; channel: string })
  | (Target & { op: 'disconnect'; code: number; reason: string; reconnect: boolean; except?: string[] })
  /** A new expiry (ms since the Unix epoch, 0 = never), or `expired`: end it now. */
  | (Target & { op: 'refresh'; expired: boolean; expiresAt: number });

/** Something that holds connections (a door) and applies commands to those of the user. */
export type UserControlTarget = (cmd: UserCommand) => void;

const KIND = 'user-control';

export class UserControl {
  private readonly targets = new Set<UserControlTarget>();

  constructor(
    private readonly messages: NodeMessages,
    private readonly nodeName: string,
    /** The names of the nodes in the cluster now (this one included). */
    private readonly nodes: () => Promise<string[]>,
    private readonly log?: Logger,
  ) {
    messages.on(KIND, (body) => this.local(JSON.parse(body.toString('utf8')) as UserCommand));
  }

  register(target: UserControlTarget): void {
    this.targets.add(target);
  }

  /**
   * Applies the command on this node and sends it to every other one. Resolves once it is handed
   * over, not when remote nodes have applied it (as Centrifugo's own broadcast of these commands).
   */
  async apply(cmd: UserCommand): Promise<void> {
    this.local(cmd);
    if (!this.messages.available) return;
    const body = Buffer.from(JSON.stringify(cmd), 'utf8');
    const others = (await this.nodes()).filter((n) => n !== this.nodeName);
    await Promise.all(others.map((n) => this.messages.send(n, KIND, body)));
  }

  private local(cmd: UserCommand): void {
    for (const t of this.targets) {
      try {
        t(cmd);
      } catch (err) {
        this.log?.error({ err, op: cmd.op }, 'a user control command failed');
      }
    }
  }
}
