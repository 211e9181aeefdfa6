// How the HTTP listener itself behaves, before any door sees a request: TLS, which proxies are
// believed about the client address, and how long a client may take to say what it wants.
import { readFileSync } from 'node:fs';
import { type ServerOptions as HttpServerOptions, STATUS_CODES } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { type Config, ConfigError, flagName } from './config.js';
import { type ErrorName, HeraldError } from './errors.js';

export interface ListenerOptions {
  http?: HttpServerOptions;
  https?: HttpsServerOptions;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
  trustProxy: false | string[];
  clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => void;
}

export function listenerOptions(config: Config): ListenerOptions {
  const timeouts: HttpServerOptions = {
    headersTimeout: config.headersTimeout,
    requestTimeout: config.requestTimeout,
    // Node looks for overdue requests only this often (30 s by default), so a 10 s headersTimeout
    // would really be up to 40 s; a quarter of the shortest limit keeps the overshoot small.
    connectionsCheckingInterval: Math.max(
      50,
      Math.min(1000, Math.floor(Math.min(config.headersTimeout, config.requestTimeout) / 4)),
    ),
  };
  const tls = tlsFiles(config);
  return {
    ...(tls
      ? { https: { ...timeouts, ...tls, handshakeTimeout: config.tlsHandshakeTimeout } }
      : { http: timeouts }),
    // fastify sets these on the server after creating it, so they must be given here too.
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    connectionTimeout: config.connectionTimeout,
    trustProxy: config.trustProxy,
    clientErrorHandler,
  };
}

/** The PEM pair, read once at start; a bad path or pair is a configuration error naming the option. */
function tlsFiles(config: Config): { cert: Buffer; key: Buffer } | undefined {
  if (config.tlsCert === '' || config.tlsKey === '') return undefined;
  const read = (name: 'tlsCert' | 'tlsKey') => {
    try {
      return readFileSync(config[name]);
    } catch (err) {
      throw new ConfigError(`${flagName(name)}: cannot read ${config[name]}: ${(err as Error).message}`);
    }
  };
  const pair = { cert: read('tlsCert'), key: read('tlsKey') };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(
      `${flagName('tlsCert')} / ${flagName('tlsKey')}: not a usable PEM certificate and matching key ` +
        `(${(err as Error).message})`,
    );
  }
  return pair;
}

/**
 * The answer to a request that never became one (headers too slow or too large, malformed HTTP),
 * with the catalogue's body like every other error, then the socket is closed.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const kind: ErrorName =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'REQUEST_TIMEOUT'
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? 'HEADERS_TOO_LARGE'
        : 'BAD_REQUEST';
  const e = new HeraldError(kind);
  const body = JSON.stringify({ error: e.toJSON() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
