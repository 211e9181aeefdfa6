// What both ways into the server API share (the fastify routes in door.ts and the direct path in
// fast-path.ts): which methods exist, the media-type and body checks, and running a method.
import type { IncomingHttpHeaders } from 'node:http';
import { HeraldError, toHeraldError } from '../errors.js';
import type { Logger } from '../model/index.js';
import type { DoorCounters } from '../transports/door-stats.js';
import { runBatch } from './batch.js';
import { type ApiContext, callMethod, methods } from './methods.js';

export const known = (name: string) => name === 'batch' || Object.hasOwn(methods, name);

/**
 * Runs one method by name; its own failures become `{error}` (answered with HTTP 200). The answer
 * itself when it was ready at once (a publish on the memory engine), else a promise of it.
 */
export type ApiRunner = (name: string, params: unknown) => object | Promise<object>;

export function apiRunner(ctx: ApiContext, counters: DoorCounters, log: Logger): ApiRunner {
  const failed = (name: string) => (err: unknown) => {
    const e = toHeraldError(err);
    if (e.kind === 'INTERNAL') log.error({ err, method: name }, 'API method failed');
    return { error: e.toJSON() };
  };
  const publishFailed = failed('publish');
  return (name, params) => {
    if (name === 'publish' || name === 'broadcast') counters.messagesIn++;
    if (name === 'batch')
      return runBatch(ctx, params).catch((err) => ({ error: toHeraldError(err).toJSON() }));
    // The backend's everyday call, {channel, data}, straight to the hub: the same answer as the
    // schema path below, without its parse and three more promises per request.
    if (name === 'publish' && isPlainPublish(params)) {
      let done: ReturnType<typeof ctx.hub.publishEager>;
      try {
        done = ctx.hub.publishEager(params.channel, { data: params.data });
      } catch (err) {
        return publishFailed(err);
      }
      return done instanceof Promise ? done.then(publishAnswer, publishFailed) : publishAnswer(done);
    }
    return callMethod(ctx, name, params).then((result) => ({ result }), failed(name));
  };
}

const publishAnswer = (pub: { offset: number; epoch: string }) => ({
  result: { offset: pub.offset, epoch: pub.epoch },
});

/**
 * `publish` params the schema would take as they are: a string channel, JSON `data`, no `b64data`
 * (other keys the schema drops are ignored here too). Anything else goes through the schema.
 */
function isPlainPublish(params: unknown): params is { channel: string; data: unknown } {
  if (typeof params !== 'object' || params === null) return false;
  const p = params as Record<string, unknown>;
  return typeof p.channel === 'string' && p.data !== undefined && p.b64data === undefined;
}

/** A request with a body must call it application/json (a charset parameter is fine). */
export function checkMediaType(headers: IncomingHttpHeaders): void {
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (!hasBody) return;
  const type = headers['content-type'];
  const essence = type?.split(';', 1)[0].trim().toLowerCase();
  if (essence !== 'application/json') {
    throw new HeraldError(
      'UNSUPPORTED_MEDIA_TYPE',
      `send the body as Content-Type: application/json${type === undefined ? '' : ` (got ${JSON.stringify(type.slice(0, 100))})`}`,
    );
  }
}

export function parseBody(body: Buffer | undefined): unknown {
  if (body === undefined || body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HeraldError('BAD_REQUEST', `body is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HeraldError('BAD_REQUEST', 'body must be a JSON object of the method parameters');
  }
  return value;
}
