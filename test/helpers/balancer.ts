// A TCP load balancer in front of Herald nodes, as clients meet one in production: they know one
// address, and where a new connection lands is the balancer's choice. Tests point it at a node,
// kill that node, and point it at another; clients then reconnect by their own logic.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class Balancer {
  /** Port of the node new connections go to; undefined = refuse them (no node available). */
  target: number | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target?: number): Promise<Balancer> {
    let self: Balancer | undefined;
    const server = createServer((client) => self?.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new Balancer(server, (server.address() as { port: number }).port);
    self.target = target;
    return self;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    if (this.target === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    // A dead node resets its connections: the client sees its connection drop, as behind a real one.
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
