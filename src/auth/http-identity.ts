// The identity of an HTTP request (SSE, polling, the upgrade of /chat and /echo): a token from the
// `Authorization: Bearer` header, else the `herald_token` cookie, else - where allowed - the `token`
// query parameter. No token = anonymous; a token that does not verify is refused (401), never
// quietly taken as anonymous.
//
// A browser sends the cookie with requests any site makes (cross-site EventSource, fetch, and
// WebSocket - which CORS does not cover at all), so the cookie counts only when the request comes
// from this origin or from one listed in allowedOrigins; otherwise any page could read a logged-in
// user's channels.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { HeraldError } from '../errors.js';
import { ANONYMOUS, type Identity, identityFromClaims } from './identity.js';
import { TokenError, type TokenVerifier, tokenReplyError } from './tokens.js';

export const TOKEN_COOKIE = 'herald_token';

export interface TokenSources {
  headers: IncomingHttpHeaders;
  /** The `token` query parameter, when this door accepts it. */
  query?: unknown;
  /** The configured allowedOrigins: an origin listed there may use the cookie. */
  allowedOrigins: readonly string[];
}

/** The token the request presents, or undefined. */
export function presentedToken({ headers, query, allowedOrigins }: TokenSources): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new HeraldError('UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
    return m[1];
  }
  const cookie = cookieValue(headers.cookie, TOKEN_COOKIE);
  if (cookie && cookieTrusted(headers, allowedOrigins)) return cookie;
  if (Array.isArray(query)) throw new HeraldError('BAD_REQUEST', 'give one token, not several');
  if (typeof query === 'string' && query !== '') return query;
  return undefined;
}

/**
 * Resolves who the request is. Without a verifier (no token key configured) tokens cannot mean
 * anything, so every request is anonymous and the channel policy decides.
 */
export async function identify(
  verifier: TokenVerifier | undefined,
  sources: TokenSources,
  required = false,
): Promise<Identity> {
  const token = verifier ? presentedToken(sources) : undefined;
  if (token === undefined || !verifier) {
    if (required) throw new HeraldError('UNAUTHORIZED', 'a token is required');
    return ANONYMOUS;
  }
  try {
    return identityFromClaims(await verifier.verify(token));
  } catch (err) {
    if (err instanceof TokenError) throw tokenReplyError(err);
    throw err;
  }
}

/**
 * The identity of a WebSocket upgrade. Browsers cannot set headers on a WebSocket, so the token
 * may come in ?token= (or the cookie).
 */
export function identifyUpgrade(
  verifier: TokenVerifier | undefined,
  req: IncomingMessage,
  allowedOrigins: readonly string[],
  required: boolean,
): Promise<Identity> {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('token');
  return identify(
    verifier,
    { headers: req.headers, query: query.length > 1 ? query : query[0], allowedOrigins },
    required,
  );
}

/** No Origin (not a browser's cross-site request), the same origin, or an explicitly listed one. */
function cookieTrusted(headers: IncomingHttpHeaders, allowedOrigins: readonly string[]): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  try {
    if (new URL(origin).host === headers.host) return true;
  } catch {
    return false;
  }
  const o = origin.toLowerCase();
  return allowedOrigins.some((a) => a !== '*' && a.toLowerCase().replace(/\/$/, '') === o);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}
