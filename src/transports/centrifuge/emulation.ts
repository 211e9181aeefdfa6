// The SDK's fallback transports for networks that block WebSocket, as centrifuge-js speaks them:
//   POST /connection/http_stream  body: the connect command; answer: a stream of replies
//   GET  /connection/sse?cf_connect=<connect command>; answer: text/event-stream, one reply per event
//   POST /emulation {session, node, data}: the client's later commands; their replies go down the
//        stream, the request itself is answered 204 (404: no such node, so the SDK reconnects).
// A session lives on the node that holds its stream; an /emulation request reaching another node is
// relayed there through the engine.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../errors.js';
import { type ClientCodec, jsonCodec } from '../../protocol/centrifuge/codec.js';
import {
  centrifugeJsonStreamFormat,
  centrifugeSseFormat,
  type EmulationRequestBody,
  sseFrame,
  streamFrame,
} from '../../protocol/centrifuge/stream-formats.js';
import type { DoorContext } from '../door.js';
import { definedHeaders } from '../sse/door.js';
import { ClientSession, type SessionContext } from './session.js';
import { StreamTransport } from './stream-transport.js';

export const HTTP_STREAM_PATH = '/connection/http_stream';
export const SSE_PATH = '/connection/sse';
export const EMULATION_PATH = '/emulation';

export type EmulationRequest = EmulationRequestBody;

const RELAY_KIND = 'centrifuge-emulation';

/** The relayed form: `<session>\n<data>` (a session id holds no newline). */
function encodeRelayed(req: EmulationRequest): Buffer {
  return Buffer.concat([Buffer.from(`${req.session}\n`, 'utf8'), req.data]);
}

function decodeRelayed(body: Buffer, node: string): EmulationRequest {
  const nl = body.indexOf(0x0a);
  return { session: body.subarray(0, nl).toString('utf8'), node, data: body.subarray(nl + 1) };
}

/** What a codec's stream variant needs: the encoding, how replies and publications are framed. */
export interface StreamKind {
  codec: ClientCodec;
  format: StreamTransport['format'];
  frame(message: string | Uint8Array): Buffer;
  contentType: string;
}

const JSON_HTTP_STREAM: StreamKind = {
  codec: jsonCodec,
  format: centrifugeJsonStreamFormat,
  frame: streamFrame,
  contentType: 'application/json',
};

const SSE: StreamKind = {
  codec: jsonCodec,
  format: centrifugeSseFormat,
  frame: sseFrame,
  contentType: 'text/event-stream; charset=utf-8',
};

export interface FallbackOptions {
  /** The Protobuf variant of http_stream, when the encoding is served. */
  protobufStream?: StreamKind;
  /** Decodes a Protobuf /emulation body. */
  decodeProtobufRequest?(body: Buffer): EmulationRequest;
}

export function registerFallbackTransports(
  ctx: DoorContext,
  sctx: SessionContext,
  opts: FallbackOptions = {},
): void {
  const { app, config, hub } = ctx;
  const node = hub.options.nodeName;
  const streams = new Map<string, StreamTransport>();

  const deliverLocal = async (req: EmulationRequest): Promise<void> => {
    // A session gone from this node: its stream has ended, which the client learns from the stream.
    await streams.get(req.session)?.receive(req.data);
  };
  hub.nodeMessages.on(RELAY_KIND, (body) => {
    deliverLocal(decodeRelayed(body, node)).catch(() => {});
  });

  function start(name: 'http_stream' | 'sse', kind: StreamKind, reply: FastifyReply, connect: Buffer): void {
    reply.hijack();
    const res: ServerResponse = reply.raw;
    res.writeHead(200, {
      ...definedHeaders(reply.getHeaders()),
      'content-type': kind.contentType,
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // The SDK counts the transport open when the headers arrive; do not wait for the first reply.
    res.flushHeaders();
    const token = randomUUID();
    const transport = new StreamTransport(
      name,
      res,
      kind.codec,
      kind.format,
      kind.frame,
      config.maxBufferedBytes,
      config.maxEmulationPending,
      {
        session: token,
        node,
      },
    );
    const session = new ClientSession(transport, sctx);
    transport.attach(session);
    streams.set(token, transport);
    res.once('close', () => streams.delete(token));
    sctx.sessions.add(session);
    transport.receive(connect).catch(() => {});
  }

  app.register(async (scope: FastifyInstance) => {
    // Bodies are protocol bytes (JSON or Protobuf), read whole and bounded like a WebSocket frame.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: config.maxMessageSize },
      (_req, body, done) => done(null, body),
    );

    scope.post(HTTP_STREAM_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
      const body = bodyOf(req);
      const kind = isProtobuf(req) ? opts.protobufStream : JSON_HTTP_STREAM;
      if (!kind) throw new HeraldError('BAD_REQUEST', 'protobuf encoding is not served');
      start('http_stream', kind, reply, body);
    });

    scope.get(SSE_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
      const connect = (req.query as Record<string, unknown>).cf_connect;
      if (typeof connect !== 'string' || connect === '')
        throw new HeraldError('BAD_REQUEST', 'cf_connect is required');
      if (Buffer.byteLength(connect) > config.maxMessageSize) throw new HeraldError('PAYLOAD_TOO_LARGE');
      start('sse', SSE, reply, Buffer.from(connect, 'utf8'));
    });

    scope.post(EMULATION_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
      const body = bodyOf(req);
      let request: EmulationRequest;
      if (isProtobuf(req)) {
        if (!opts.decodeProtobufRequest)
          throw new HeraldError('BAD_REQUEST', 'protobuf encoding is not served');
        request = opts.decodeProtobufRequest(body);
      } else {
        request = jsonRequest(body);
      }
      if (request.node === node || request.node === '') {
        await deliverLocal(request);
      } else if (!(await hub.nodeMessages.send(request.node, RELAY_KIND, encodeRelayed(request)))) {
        reply.code(404).send({ error: new HeraldError('NOT_FOUND', 'no such node').toJSON() });
        return;
      }
      reply.code(204).send();
    });
  });
}

function bodyOf(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function isProtobuf(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/octet-stream');
}

function jsonRequest(body: Buffer): EmulationRequest {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HeraldError('BAD_REQUEST', 'malformed JSON');
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof o.session !== 'string' || typeof o.data !== 'string') {
    throw new HeraldError('BAD_REQUEST', 'session and data are required');
  }
  return {
    session: o.session,
    node: typeof o.node === 'string' ? o.node : '',
    data: Buffer.from(o.data, 'utf8'),
  };
}
