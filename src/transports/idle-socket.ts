// What a long-lived, mostly idle connection's socket need not carry (heap snapshots of idle
// connections, docs/performance.md). Both touch net.Socket's own fields and listeners; each checks
// that what it removes is what it expects and otherwise leaves the socket as it is.
import type { Duplex } from 'node:stream';

/**
 * A socket caches its peer's address (`_peername`: an object and the address string, ~70 bytes)
 * the first time anyone asks for `remoteAddress`, and keeps it for its whole life. The doors ask
 * once, at admission (connection limits); asked again, the socket reads it from the OS again (Node
 * clears the same cache on connect).
 */
export function forgetPeerName(socket: Duplex): void {
  const s = socket as Duplex & { _peername?: unknown };
  if (s._peername) s._peername = null;
}

/**
 * net.Socket listens to its own 'end' to refuse writes after the peer's FIN, which it does only
 * when the socket is not half-open; an HTTP server's sockets are. With the WebSocket's own 'end'
 * listener beside it, EventEmitter keeps an array (~64 bytes per connection) for a listener that
 * does nothing on this socket.
 */
export function dropHalfOpenEndListener(socket: Duplex): void {
  if (socket.allowHalfOpen !== true) return;
  const mine = socket.listeners('end').filter((l) => l.name === 'onReadableStreamEnd');
  if (mine.length === 1) socket.removeListener('end', mine[0] as () => void);
}
