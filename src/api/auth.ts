// Who may call the server API. With a key configured, everyone must present it; without one, only
// processes on this machine (loopback) may call, so a fresh install is never an open publisher.
// Browsers are refused unless their origin is listed: a web page runs on the visitor's machine,
// so "loopback" would otherwise include every site the visitor has open.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HeraldError } from '../errors.js';

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The key from `X-API-Key: K` or `Authorization: apikey K` (the Centrifugo forms). */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^apikey\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1];
  }
  return undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Throws UNAUTHORIZED unless the caller may use the API. */
export function checkAccess(
  apiKey: string,
  remoteAddress: string | undefined,
  headers: IncomingHttpHeaders,
): void {
  if (apiKey === '') {
    if (!isLoopback(remoteAddress)) {
      throw new HeraldError(
        'UNAUTHORIZED',
        'no API key is configured, so the API answers loopback clients only',
      );
    }
    return;
  }
  const key = presentedKey(headers);
  if (key === undefined) throw new HeraldError('UNAUTHORIZED', 'send the API key as "X-API-Key: KEY"');
  // Compare digests so the comparison time says nothing about the key.
  if (!timingSafeEqual(digest(key), digest(apiKey))) throw new HeraldError('UNAUTHORIZED', 'wrong API key');
}

/**
 * Throws PERMISSION_DENIED when the request comes from a web page whose origin is not listed.
 * Only browsers send Origin (and a page cannot remove it), so backends are unaffected. No
 * same-origin exemption: the Host header it would compare with is the attacker's under DNS
 * rebinding.
 */
export function checkOrigin(allowed: readonly string[], origin: string | undefined): void {
  // Browsers serialize origins in lower case without a path, as the option is normalized: exact.
  if (origin === undefined || allowed.includes(origin)) return;
  throw new HeraldError(
    'PERMISSION_DENIED',
    `origin ${JSON.stringify(origin.slice(0, 200))} may not call the server API (see apiAllowedOrigins)`,
  );
}
