// CORS for every HTTP door, and separately for the server API. No answer ever allows credentials:
// Herald reads no cookies, and a reflected origin with credentials would let any page act with
// whatever the browser holds. The doors' allow-all default is `*`; the server API is closed to
// browsers unless apiAllowedOrigins names them (its Origin check is in api/auth.ts).
import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { Config } from '../config.js';

export const API_PREFIX = '/api';

export function isApiPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?', 1)[0];
  return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);
}

export function corsDelegator(config: Config): FastifyCorsOptionsDelegateCallback {
  const doors: FastifyCorsOptions = {
    origin: config.allowedOrigins.length === 0 ? '*' : config.allowedOrigins,
    credentials: false,
  };
  const api: FastifyCorsOptions = {
    origin: config.apiAllowedOrigins.length === 0 ? false : config.apiAllowedOrigins,
    credentials: false,
    methods: 'POST',
    allowedHeaders: 'content-type, x-api-key, authorization',
  };
  return (req, cb) => cb(null, isApiPath(req.url) ? api : doors);
}
