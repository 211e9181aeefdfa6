// `POST /api/<method>`: the server API for backends. Transport-level problems (access, body, JSON,
// unknown method) get an HTTP 4xx; a method's own failures are HTTP 200 with `{"error": ...}`, as in
// Centrifugo, so its server libraries read them unchanged.
import { HeraldError, toHeraldError } from '../errors.js';
import type { Door } from '../transports/door.js';
import { checkAccess } from './auth.js';
import { runBatch } from './batch.js';
import { type ApiContext, callMethod, methods } from './methods.js';

export const apiDoor: Door = {
  name: 'api',
  async register({ app, hub, config, log, stats }) {
    const counters = stats.door('api');
    await app.register(async (api) => {
      // Any content type: curl's default form type and libraries' JSON both reach the JSON parser
      // below, which gives one clear error for anything that is not JSON.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: config.maxRequestBody },
        (_req, body, done) => done(null, body),
      );
      // Before the body is read: a caller without access cannot make us buffer anything.
      api.addHook('onRequest', async (req) => {
        checkAccess(config.apiKey, req.socket.remoteAddress, req.headers);
        const name = (req.params as { method?: string }).method;
        if (name !== undefined && !known(name)) throw new HeraldError('METHOD_NOT_FOUND', name);
      });
      const ctx: ApiContext = { hub, config };
      const run = async (name: string, params: unknown) => {
        if (name === 'publish' || name === 'broadcast') counters.messagesIn++;
        if (name === 'batch')
          return runBatch(ctx, params).catch((err) => ({ error: toHeraldError(err).toJSON() }));
        try {
          return { result: await callMethod(ctx, name, params) };
        } catch (err) {
          const e = toHeraldError(err);
          if (e.kind === 'INTERNAL') log.error({ err, method: name }, 'API method failed');
          return { error: e.toJSON() };
        }
      };
      api.post('/api/:method', async (req, reply) => {
        reply.header('cache-control', 'no-store');
        return run((req.params as { method: string }).method, parseBody(req.body as Buffer | undefined));
      });
      // The older single-endpoint form, `POST /api` with {"method": "...", "params": {...}}.
      api.post('/api', async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const body = parseBody(req.body as Buffer | undefined) as { method?: unknown; params?: unknown };
        if (typeof body.method !== 'string' || !known(body.method)) {
          reply.code(404);
          return { error: new HeraldError('METHOD_NOT_FOUND', String(body.method ?? '')).toJSON() };
        }
        return run(body.method, body.params);
      });
    });
  },
};

const known = (name: string) => name === 'batch' || Object.hasOwn(methods, name);

function parseBody(body: Buffer | undefined): unknown {
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
