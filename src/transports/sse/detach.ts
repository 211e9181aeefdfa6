// Once an SSE stream owns its response, the HTTP server's per-connection state has nothing left to
// do: the client sent its one request and only reads from now on. Node keeps it anyway for the
// stream's whole life: the HTTP parser (a C++ object of ~1.6 KiB with its header slots, plus its JS
// side), the request with its headers, the connection state, nine bound functions and three
// listener wrappers (~2 KiB of V8 heap and ~3.5 KiB of RSS per idle stream, see
// docs/performance.md). Node itself lets all of it go when a connection is upgraded; this does the
// same for a stream, leaving the socket, the response and the response's own 'close' (which is how
// the door sees the client leave).
//
// The server's listeners are private to Node's http module and found by their names; if any is not
// where this expects it (another Node version, a pipelined request already parsed behind this one)
// nothing is touched and the stream keeps the server's state, as before: slower, never wrong.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { forgetPeerName } from '../idle-socket.js';

interface HttpParser {
  incoming: IncomingMessage | null;
}

type ServerSocket = Socket & { parser?: HttpParser | null; _paused?: boolean };

type ReleasableResponse = ServerResponse & { _onPendingData?: (delta: number) => void };

/** Node's own parser release (the one an upgrade uses): back to the free list, off the connections list. */
const { freeParser } = createRequire(import.meta.url)('_http_common') as {
  freeParser?: (parser: HttpParser, req: IncomingMessage | null, socket: Socket) => void;
};

/** The server's per-connection listeners on the socket, by the names Node gives them. */
const SOCKET_LISTENERS = {
  data: 'bound socketOnData',
  end: 'bound socketOnEnd',
  close: 'bound socketOnClose',
  drain: 'bound socketOnDrain',
} as const;
/** Put there only while the parser reads the socket itself; unconsuming takes them off too. */
const CONSUME_LISTENERS = { pause: 'onSocketPause', resume: 'onSocketResume' } as const;

function named(emitter: Socket | ServerResponse, event: string, name: string): (() => void) | undefined {
  const found = emitter.listeners(event).filter((l) => l.name === name);
  return found.length === 1 ? (found[0] as () => void) : undefined;
}

/**
 * Detaches streams' connections from their HTTP server. One per door: it holds what every detached
 * stream shares (its listeners), so a stream costs no closure of its own.
 */
export class StreamDetacher {
  private readonly closeAfterResponse: (this: ServerResponse) => void;

  /** `finishGraceMs`: how long a finished stream's socket may take to send what is left. */
  constructor(finishGraceMs: number) {
    // What the server did after a `Connection: close` response, bounded like an idle keep-alive.
    this.closeAfterResponse = function (this: ServerResponse) {
      const socket = this.socket;
      if (socket === null || socket.destroyed) return;
      socket.destroySoon();
      if (!socket.destroyed) setTimeout(destroy, finishGraceMs, socket).unref();
    };
  }

  /**
   * Detaches the connection of a stream whose head is not written yet (the response then says
   * `Connection: close`: the connection carries this one response). Returns whether it did; false
   * leaves everything as it was.
   */
  detach(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = res.socket as ServerSocket | null;
    const r = res as ReleasableResponse;
    if (freeParser === undefined || socket === null || res.headersSent) return false;
    const parser = socket.parser;
    // Anything else the parser holds (a request pipelined behind this one) still needs the server.
    if (!parser || parser.incoming !== req || socket._paused === true) return false;
    const socketListeners: [string, () => void][] = [];
    for (const [event, name] of Object.entries({ ...SOCKET_LISTENERS, ...CONSUME_LISTENERS })) {
      const l = named(socket, event, name);
      if (l === undefined && event in SOCKET_LISTENERS) return false;
      if (l !== undefined) socketListeners.push([event, l]);
    }
    const finished = named(res, 'finish', 'bound resOnFinish');
    if (finished === undefined || r._onPendingData?.name !== 'bound updateOutgoingData') return false;

    freeParser(parser, req, socket);
    for (const [event, l] of socketListeners) socket.removeListener(event, l);
    res.removeListener('finish', finished);
    r._onPendingData = noop;
    // Read only for tracing once the head is out; without it the request and its headers can go.
    (res as unknown as { req: unknown }).req = null;
    // The first listener added after the parser is gone also drops the server's three per-socket
    // `on`/`addListener`/`prependListener` wrappers (Node's own doing, as after an upgrade).
    socket.on('data', discard);
    // What the server did on the client's FIN: end this side too, so the response closes. The
    // stream does it by itself when not half-open (no listener of ours needed).
    socket.allowHalfOpen = false;
    socket.resume();
    forgetPeerName(socket);
    res.shouldKeepAlive = false;
    res.on('finish', this.closeAfterResponse);
    return true;
  }
}

/**
 * Makes `server.closeAllConnections()` reach detached streams too (it walks the parsers, and a
 * detached stream has none): fastify's `forceCloseConnections` and anyone cutting every connection
 * at once expect SSE streams among them, as before they were detached.
 */
export function closeDetachedWith(server: Server, all: () => Iterable<ServerResponse>): void {
  const s = server as Server & { closeAllConnections?: () => void };
  const closeAll = s.closeAllConnections;
  if (typeof closeAll !== 'function') return;
  s.closeAllConnections = function closeAllConnections(this: Server) {
    closeAll.call(this);
    for (const res of all()) res.socket?.destroy();
  };
}

function noop(): void {}

/** A stream's client has nothing more to say; whatever it sends anyway is read and dropped. */
function discard(): void {}

function destroy(socket: Socket): void {
  socket.destroy();
}
