// Plain HTTP calls for the server API and polling tests.
import { get as httpGet } from 'node:http';
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POST /api/<method> with a JSON body (or a raw string body when given one). */
export async function api(
  base: string,
  method: string,
  body: unknown = {},
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${base}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answer(res);
}

export async function get(url: string, init?: RequestInit): Promise<Answer> {
  return answer(await fetch(url, init));
}

/** GET /poll for these channels. */
export function poll(
  base: string,
  channels: string[],
  opts: { cursor?: string; timeout?: number | string; signal?: AbortSignal } = {},
): Promise<Answer> {
  const q = new URLSearchParams();
  for (const c of channels) q.append('channel', c);
  if (opts.cursor !== undefined) q.set('cursor', opts.cursor);
  if (opts.timeout !== undefined) q.set('timeout', String(opts.timeout));
  return get(`${base}/poll?${q}`, { signal: opts.signal });
}

/** A response whose body is still arriving (an SSE stream, a held poll), from a chosen address. */
export interface OpenResponse {
  status: number;
  /** Everything received so far. */
  body(): string;
  /** Resolves when the server ended or cut the response. */
  ended: Promise<void>;
  close(): void;
}

/**
 * GET from a given loopback address (127.0.0.2 ...), so per-address limits see "another client".
 * Resolves once the status line is in; the body keeps arriving into `body()`.
 */
export function getFrom(url: string, localAddress: string): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      const ended = new Promise<void>((done) => res.once('close', () => done()));
      resolve({ status: res.statusCode ?? 0, body: () => text, ended, close: () => req.destroy() });
    });
    req.once('error', reject);
  });
}
