// Who may see /admin. With adminPassword set: whoever logged in with it holds a session cookie
// (HttpOnly, so page scripts cannot read it; SameSite=Strict, so other sites cannot ride on it).
// Without a password: callers on this machine only, so a fresh install shows nothing to the network.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from '../api/auth.js';

export const COOKIE = 'herald_admin';
const digest = (s: string) => createHash('sha256').update(s).digest();

export class AdminSessions {
  /** Session token -> when it expires (ms since the Unix epoch). */
  private readonly sessions = new Map<string, number>();
  private readonly password: Buffer | undefined;

  constructor(
    password: string,
    private readonly ttlSeconds: number,
  ) {
    this.password = password ? digest(password) : undefined;
  }

  get protectedByPassword(): boolean {
    return this.password !== undefined;
  }

  /** A new session when the password is right (compared in constant time); else undefined. */
  login(given: unknown): string | undefined {
    if (!this.password || typeof given !== 'string') return undefined;
    if (!timingSafeEqual(digest(given), this.password)) return undefined;
    const now = Date.now();
    for (const [t, exp] of this.sessions) if (exp <= now) this.sessions.delete(t);
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, now + this.ttlSeconds * 1000);
    return token;
  }

  logout(req: FastifyRequest): void {
    const token = cookieOf(req);
    if (token) this.sessions.delete(token);
  }

  allowed(req: FastifyRequest): boolean {
    if (!this.password) return isLoopback(req.socket.remoteAddress);
    const token = cookieOf(req);
    const exp = token ? this.sessions.get(token) : undefined;
    return exp !== undefined && exp > Date.now();
  }

  setCookie(reply: FastifyReply, token: string): void {
    reply.header(
      'set-cookie',
      `${COOKIE}=${token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${this.ttlSeconds}`,
    );
  }

  clearCookie(reply: FastifyReply): void {
    reply.header('set-cookie', `${COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`);
  }
}

function cookieOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}
