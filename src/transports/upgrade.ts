// Routes HTTP upgrade requests to the door that owns the path, after the origin check and the
// connection limits. Paths with no door, origins not on the allow-list and connections over a limit
// are refused with a plain HTTP answer before any WebSocket exists.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HeraldError } from '../errors.js';
import type { ConnectionLimits, Ticket } from '../limits/connections.js';
import { dropHalfOpenEndListener, forgetPeerName } from './idle-socket.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(
    private readonly originAllowed: (origin: string | undefined) => boolean,
    private readonly limits?: ConnectionLimits,
  ) {}

  add(path: string, handler: UpgradeHandler): void {
    if (this.routes.has(path)) throw new Error(`upgrade path ${path} registered twice`);
    this.routes.set(path, handler);
  }

  has(path: string): boolean {
    return this.routes.has(path);
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySelf);
    const path = (req.url ?? '/').split('?', 1)[0];
    const handler = this.routes.get(path);
    if (!handler) refuse(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}`);
    else if (!this.originAllowed(req.headers.origin)) refuse(socket, 403, 'Forbidden', 'origin not allowed');
    else if (this.admitted(req, socket)) handler(req, socket, head);
  }

  /** Counts the connection until its socket closes; false (and answered) when over a limit. */
  private admitted(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.limits) return true;
    let ticket: Ticket;
    try {
      ticket = this.limits.admit(req.socket.remoteAddress);
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      const text = err.status === 429 ? 'Too Many Requests' : 'Service Unavailable';
      refuse(socket, err.status, text, JSON.stringify({ error: err.toJSON() }), 'application/json');
      return false;
    }
    tickets.set(socket, ticket);
    socket.on('close', releaseTicket);
    return true;
  }
}

// One function for every socket rather than a closure per connection.
function destroySelf(this: Duplex): void {
  this.destroy();
}

/**
 * Each counted socket's ticket, for the one 'close' listener every socket shares: a `once` closure
 * per connection cost ~190 bytes of an idle connection (wrapper, bound function, closure, context).
 */
const tickets = new WeakMap<Duplex, Ticket>();

function releaseTicket(this: Duplex): void {
  tickets.get(this)?.release();
  tickets.delete(this);
}

/**
 * For a door that has made its WebSocket over `socket`: the router's two listeners come off (the
 * WebSocket has its own 'error' listener and its own 'close'), and the door gets the connection's
 * ticket to release when its WebSocket closes. Each listener beside `ws`'s own on the same event
 * made EventEmitter keep an array: ~130 bytes per idle connection. Undefined without limits.
 */
export function takeUpgradedSocket(socket: Duplex): Ticket | undefined {
  socket.removeListener('error', destroySelf);
  forgetPeerName(socket);
  dropHalfOpenEndListener(socket);
  const ticket = tickets.get(socket);
  if (ticket === undefined) return undefined;
  socket.removeListener('close', releaseTicket);
  tickets.delete(socket);
  return ticket;
}

export function refuse(
  socket: Duplex,
  status: number,
  statusText: string,
  body: string,
  contentType = 'text/plain',
): void {
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: ${contentType}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** An allow-list check: empty list = every origin; requests without Origin (non-browsers) pass. */
export function originChecker(allowed: string[]): (origin: string | undefined) => boolean {
  if (allowed.length === 0 || allowed.includes('*')) return () => true;
  const set = new Set(allowed.map((o) => o.toLowerCase().replace(/\/$/, '')));
  return (origin) => origin === undefined || set.has(origin.toLowerCase());
}
