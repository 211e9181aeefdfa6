// The server API's common request - a backend POSTing JSON to /api/<method> with nothing unusual
// about it - answered straight from node:http, without fastify's request lifecycle (Request and
// Reply objects, routing, hooks, the content-type parser, serialisation hooks). Those cost about as
// much as the publish itself (see docs/performance.md). Every check the fastify routes make is made
// here first, from the headers alone; any request this path is not sure about (an Origin header,
// chunked or oversized bodies, other media types, a refused caller, a proxy's X-Forwarded-For)
// goes to fastify untouched, so every error and every CORS answer still comes from one place.
// The answer is byte-for-byte what the fastify route sends (headers, status, body). The price: a
// check added to the API's fastify hook (door.ts) must be added to directMethod below as well.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { HeraldError, toHeraldError } from '../errors.js';
import type { Logger } from '../model/index.js';
import { checkAccess } from './auth.js';
import { type ApiRunner, known, parseBody } from './request.js';

export interface FastPathOptions {
  config: Pick<Config, 'apiKey' | 'maxRequestBody' | 'trustProxy'>;
  run: ApiRunner;
  log: Logger;
}

type RequestListener = (this: Server, req: IncomingMessage, res: ServerResponse) => void;

const PREFIX = '/api/';
/** The types fastify's parser and checkMediaType both take without a second look. */
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
// As the fastify route answers: the CORS hook's Vary (the API's origin list is static, but the
// doors' is not, and one hook serves both), the route's no-store, fastify's JSON content type.
const VARY = 'Origin';
const CACHE_CONTROL = 'no-store';
const CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Puts the direct path in front of fastify's own request listener. Does nothing (every request
 * keeps going through fastify) if that listener is not the single one this relies on.
 */
export function installFastPath(app: FastifyInstance, o: FastPathOptions): void {
  const server = app.server as Server;
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) {
    o.log.warn({ listeners: listeners.length }, 'server API fast path off: unexpected request listeners');
    return;
  }
  const fastify = listeners[0];
  // Once fastify is closing it answers 503 and closes connections: leave every request to it.
  let open = true;
  app.addHook('preClose', (done) => {
    open = false;
    done();
  });
  server.removeListener('request', fastify);
  server.on('request', function route(this: Server, req: IncomingMessage, res: ServerResponse) {
    const name = open ? directMethod(req, o.config) : undefined;
    if (name === undefined) fastify.call(this, req, res);
    else serve(req, res, name, o);
  });
}

/** The method name when the request can take the direct path, from its headers alone. */
function directMethod(req: IncomingMessage, config: FastPathOptions['config']): string | undefined {
  if (req.method !== 'POST') return undefined;
  const url = req.url;
  if (url === undefined || !url.startsWith(PREFIX)) return undefined;
  // A query string, a trailing slash or percent-encoding make it no known name: fastify decides.
  const name = url.slice(PREFIX.length);
  if (!known(name)) return undefined;
  const h = req.headers;
  // Browsers (Origin) get the CORS hook and the origin check; chunked bodies fastify's limits.
  if (h.origin !== undefined || h['transfer-encoding'] !== undefined) return undefined;
  const type = h['content-type'];
  if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return undefined;
  const length = Number(h['content-length']);
  if (!(length > 0 && length <= config.maxRequestBody)) return undefined;
  // Without a proxy header, fastify's req.ip is the socket address whatever trustProxy says.
  if (config.trustProxy !== false && h['x-forwarded-for'] !== undefined) return undefined;
  try {
    checkAccess(config.apiKey, req.socket.remoteAddress, h);
  } catch {
    return undefined; // fastify answers with the catalogue's 401
  }
  return name;
}

function serve(req: IncomingMessage, res: ServerResponse, name: string, o: FastPathOptions): void {
  // directMethod checked it: a whole number within maxRequestBody, and the parser hands over
  // exactly that many bytes. The body is complete with its last byte: no wait for 'end'.
  const length = Number(req.headers['content-length']);
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  req.on('error', ignore); // the client went away: there is no one to answer
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (first === undefined) first = chunk;
    else if (chunks === undefined) chunks = [first, chunk];
    else chunks.push(chunk);
    if (received >= length) run(res, name, chunks === undefined ? first : Buffer.concat(chunks), o);
  });
}

const ignore = () => {};

function run(res: ServerResponse, name: string, body: Buffer, o: FastPathOptions): void {
  let params: unknown;
  try {
    params = parseBody(body);
  } catch (err) {
    const e = toHeraldError(err);
    answer(res, e.status, { error: e.toJSON() });
    return;
  }
  const out = o.run(name, params);
  if (!(out instanceof Promise)) {
    answer(res, 200, out);
    return;
  }
  out.then(
    (done) => answer(res, 200, done),
    (err) => {
      // run() answers a method's own failures itself; this is the route's error handler case.
      o.log.error({ err }, 'request failed');
      answer(res, 500, { error: new HeraldError('INTERNAL').toJSON() });
    },
  );
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, [
    'vary',
    VARY,
    'cache-control',
    CACHE_CONTROL,
    'content-type',
    CONTENT_TYPE,
    'content-length',
    String(Buffer.byteLength(json)),
  ]);
  res.end(json);
}
