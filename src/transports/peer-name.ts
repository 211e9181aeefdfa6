// A socket caches its peer's address (`_peername`: an object and the address string, ~70 bytes)
// the first time anyone asks for `remoteAddress`, and keeps it for its whole life. The doors ask
// once, at admission (connection limits); a long-lived idle connection need not carry the answer.
// Asked again, the socket reads it again from the OS (Node clears the same cache on connect).
import type { Duplex } from 'node:stream';

export function forgetPeerName(socket: Duplex): void {
  const s = socket as Duplex & { _peername?: unknown };
  if (s._peername) s._peername = null;
}
