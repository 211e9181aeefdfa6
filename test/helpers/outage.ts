// A network outage between Herald and every client, made on the server's side: the listener goes
// away (new connections are refused) and every open connection is cut without a goodbye (no close
// frame, no end of stream), as when a link or a proxy in front of the server dies. Herald itself,
// its hub and its history, keep running, so what is published meanwhile is there to be recovered;
// a restart on the memory engine would lose exactly that.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface Outage {
  /** Refuses new connections and cuts every open one. */
  begin(): Promise<void>;
  /** Listens again on the same port and host. */
  end(): Promise<void>;
  /** Stops watching the server's connections. */
  dispose(): void;
}

/** Call before the clients connect: only connections seen from here on can be cut. */
export function outageOf(server: Server): Outage {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  let where: { port: number; host: string } | undefined;
  return {
    async begin() {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('the server is not listening');
      where = { port: address.port, host: address.address };
      // close() only stops accepting; its callback would wait for connections we cut right after.
      server.close();
      // Upgraded sockets (WebSockets) are no longer the HTTP server's to close: cut them all here.
      for (const socket of sockets) socket.destroy();
    },
    async end() {
      if (!where) throw new Error('no outage to end');
      const { port, host } = where;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      where = undefined;
    },
    dispose() {
      server.off('connection', track);
    },
  };
}
