// `GET /sse?channel=A&channel=B`: Server-Sent Events for browsers' plain EventSource. One stream
// carries many channels; its event ids are cursors over all of them, so the browser's automatic
// reconnect (Last-Event-ID) resumes every channel exactly where it stopped.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { identify } from '../../auth/http-identity.js';
import { HeraldError } from '../../errors.js';
import { eventFields, idLine, retryLine, type SseFrame } from '../../protocol/sse.js';
import { channelsFrom, cursorFrom, startingCursor, subscribeAll } from '../channel-request.js';
import { compactEvents } from '../compact-events.js';
import type { Door } from '../door.js';
import { closeDetachedWith, StreamDetacher } from './detach.js';
import { SharedHeartbeat } from './heartbeat.js';
import { type EndReason, SseStream } from './stream.js';

export const sseDoor: Door = {
  name: 'sse',
  register({ app, hub, clients, tokens, config, log, limits, onShutdown, stats }) {
    const counters = stats.door('sse');
    /** Every stream whose response has not closed yet (ended ones may still be sending). */
    const streams = new SharedHeartbeat<SseStream>(config.sseHeartbeat * 1000);
    const detacher = new StreamDetacher(config.keepAliveTimeout);
    closeDetachedWith(app.server, () => streams.all().map((s) => s.res));
    let channelsOf = new WeakMap<SseStream, string[]>();
    /** Each response's stream, for the 'close' listener every response shares (no closure each). */
    const streamOf = new WeakMap<ServerResponse, SseStream>();
    let closing = false;

    function onResponseClose(this: ServerResponse): void {
      const stream = streamOf.get(this);
      if (stream === undefined) return;
      streamOf.delete(this);
      streams.delete(stream);
      stream.ticket?.release();
      stream.gone = true;
      if (channelsOf.has(stream)) stream.end('client');
    }

    const ended = (stream: SseStream, reason: EndReason) => {
      const channels = channelsOf.get(stream) ?? [];
      for (const c of channels) hub.unsubscribe(c, stream);
      hub.clientDisconnected();
      if (channelsOf.has(stream)) {
        counters.subscriptions -= channels.length;
        counters.closed(reason);
        if (reason === 'slow') counters.slowConsumers++;
      }
      if (reason === 'slow')
        log.warn({ channels: channelsOf.get(stream) }, 'SSE client too slow; stream ended');
    };

    app.get('/sse', async (req: FastifyRequest, reply: FastifyReply) => {
      if (closing) throw new HeraldError('NOT_AVAILABLE', 'server is shutting down');
      const q = req.query as Record<string, unknown>;
      const identity = await identify(tokens, {
        headers: req.headers,
        query: config.allowTokenInQuery ? q.token : undefined,
        allowedOrigins: config.allowedOrigins,
      });
      const channels = channelsFrom(q.channel, hub, config.maxChannelsPerRequest);
      const res = reply.raw;
      const stream = new SseStream(res, config.maxBufferedBytes, ended, counters);
      // Counted until the response closes, however it ends: an error answer, or the stream's end.
      stream.ticket = limits.admit(req.socket.remoteAddress);
      streamOf.set(res, stream);
      res.on('close', onResponseClose);
      // The header is what the browser sends on its own reconnects, so it is newer than the URL's.
      const since = cursorFrom(req.headers['last-event-id'], q.last_event_id);
      // The shortest delay of its channels: no channel waits longer than it asked for.
      stream.writeDelay = Math.min(...channels.map((c) => hub.channelOptions(c).writeDelay));
      const sub = await subscribeAll(
        clients,
        identity,
        channels,
        stream,
        since,
        config.maxRecoveryPublications,
      );
      let frames: SseFrame[];
      try {
        // Encoded while a failure can still be answered as an error rather than a cut stream.
        frames = sub.publications.map((pub) => stream.format.encode(pub));
      } catch (err) {
        for (const c of channels) hub.unsubscribe(c, stream);
        throw err;
      }
      // Errors up to here are answered as JSON; from here on the answer is a stream.
      reply.hijack();
      releaseRequest(res);
      if (stream.gone || res.destroyed || closing) {
        for (const c of channels) hub.unsubscribe(c, stream);
        res.destroy();
        return;
      }
      channelsOf.set(stream, channels);
      hub.clientConnected();
      counters.opened();
      counters.subscriptions += channels.length;
      streams.add(stream);
      try {
        // The server's state for this connection is let go of: the stream is all it carries now.
        detacher.detach(req.raw, res);
        res.writeHead(200, {
          ...definedHeaders(reply.getHeaders()),
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
        });

        const id = idLine(stream.startAt(startingCursor(sub, channels, since)));
        let head = retryLine(config.sseRetry);
        // A resume that cannot be complete says so before anything else.
        if (sub.gaps.length > 0) head += eventFields('gap', JSON.stringify({ channels: sub.gaps })) + id;
        // `ready` carries the starting cursor, so even a stream that never got a publication resumes.
        head += eventFields('ready', JSON.stringify({ channels })) + id;
        stream.open = true;
        stream.write(head);
        forgetSentHeader(res);
        // Its listeners are all on: from a hash table to a plain object (see compact-events.ts).
        compactEvents(res);
        for (let i = 0; i < frames.length; i++) stream.deliver(sub.publications[i], frames[i]);
        // A resume longer than one read may give ends here, before live delivery could skip past
        // the rest: the browser reconnects from the last id it got and reads the next part, so a
        // long absence is caught up in steps rather than in one unbounded read.
        if (sub.truncated.length > 0) {
          stream.end('resync');
          return;
        }
        sub.start();
        if (stream.resyncPending) stream.end('resync');
      } catch (err) {
        // The status line is out: all that is left is to cut the stream and let go of it.
        log.error({ err, channels }, 'SSE stream failed; ended');
        stream.end('error');
      }
    });

    onShutdown(() => {
      closing = true;
      for (const s of streams.all()) s.end('shutdown');
      streams.stop();
      channelsOf = new WeakMap();
    });
  },
};

/**
 * Lets go of the framework's request and reply once the stream owns the response. Fastify keeps
 * them (with a child logger and the parsed request) through 'finish' and 'error' listeners until
 * the response ends, which for a stream is its whole life: ~1.5 KiB per idle stream (heap
 * snapshots, docs/performance.md). Request logging is off and no onResponse hook is registered,
 * so those listeners have nothing to do for a taken-over reply. A shared 'error' listener stays,
 * so an error on the response is never unhandled.
 */
function releaseRequest(res: ServerResponse): void {
  for (const event of ['finish', 'error'] as const) {
    for (const l of res.listeners(event)) if (l.name === 'onResFinished') res.off(event, l as () => void);
  }
  if (!res.listeners('error').includes(ignoreError)) res.on('error', ignoreError);
}

/**
 * The response keeps its status line and headers (`_header`) for its whole life, ~0.3 KiB per idle
 * stream, though once they are sent (`_headerSent`) Node only asks whether `_header` is set: for
 * `headersSent` and to refuse a second head. A one-character string (shared by V8) says the same.
 */
function forgetSentHeader(res: ServerResponse): void {
  const r = res as ServerResponse & { _header?: unknown; _headerSent?: boolean };
  if (r._headerSent === true && typeof r._header === 'string' && r._header !== '') r._header = SENT;
}

const SENT = '-';

/** Errors on a stream's response end it through 'close'; nothing more to do here. */
function ignoreError(): void {}

/** Headers set on the reply before it was taken over (CORS and the like), minus empty ones. */
export function definedHeaders(headers: Record<string, unknown>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v as string | number | string[];
  return out;
}
