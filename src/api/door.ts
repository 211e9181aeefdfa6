// `POST /api/<method>`: the server API for backends. Transport-level problems (access, body, JSON,
// unknown method) get an HTTP 4xx; a method's own failures are HTTP 200 with `{"error": ...}`, as in
// Centrifugo, so its server libraries read them unchanged.
import { HeraldError } from '../errors.js';
import type { Door } from '../transports/door.js';
import { checkAccess, checkOrigin } from './auth.js';
import { installFastPath } from './fast-path.js';
import { apiRunner, checkMediaType, known, parseBody } from './request.js';

export const apiDoor: Door = {
  name: 'api',
  async register({ app, hub, config, log, stats }) {
    const run = apiRunner({ hub, config }, stats.door('api'), log);
    await app.register(async (api) => {
      // JSON only, declared as such. A browser sends text/plain, form and multipart bodies across
      // origins without asking first (no CORS preflight); refusing them means a web page cannot
      // publish through a loopback-only API by posting "JSON" under another type.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser(
        'application/json',
        { parseAs: 'buffer', bodyLimit: config.maxRequestBody },
        (_req, body, done) => done(null, body),
      );
      // Before the body is read: a caller without access cannot make us buffer anything. The direct
      // path (fast-path.ts) makes these checks itself: a new one here must go there too.
      api.addHook('onRequest', async (req) => {
        checkOrigin(config.apiAllowedOrigins, req.headers.origin);
        // req.ip is the socket address, or X-Forwarded-For's client when it came through a
        // trusted proxy (trustProxy): a proxy on this host must not make every caller loopback.
        checkAccess(config.apiKey, req.ip, req.headers);
        const name = (req.params as { method?: string }).method;
        if (name !== undefined && !known(name)) throw new HeraldError('METHOD_NOT_FOUND', name);
        checkMediaType(req.headers);
      });
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
          // Only a string names a method: String() of other JSON can throw ({"toString": 1}).
          const name = typeof body.method === 'string' ? body.method : '';
          return { error: new HeraldError('METHOD_NOT_FOUND', name).toJSON() };
        }
        return run(body.method, body.params);
      });
    });
    installFastPath(app, { config, run, log });
  },
};
