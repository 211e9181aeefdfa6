// `herald publish|subscribe|history|presence|channels|info`: a terminal client of a running server.
// Everything but subscribe is one server API call; subscribe reads the SSE door, printing each
// publication as one JSON line, and resumes from `--since offset:epoch`.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { encodeCursor } from './protocol/cursor.js';

export const CLIENT_COMMANDS = ['publish', 'subscribe', 'history', 'presence', 'channels', 'info'];

export const CLIENT_USAGE = `Client commands (against a running server):
  herald publish <channel> [data]         data as JSON, else as text; without it, stdin line by line
  herald subscribe <channel>... [--since offset:epoch]   one JSON line per publication; Ctrl-C ends
  herald history <channel> [--limit N]
  herald presence <channel>
  herald channels [--pattern GLOB]
  herald info
Options: --server URL (HERALD_SERVER, default http://127.0.0.1:8080; --api-url and HERALD_API_URL
also), --api-key KEY (HERALD_API_KEY). \`herald <command> --help\` shows one command.
`;

/** Wrong usage: the command exits 2 with this message. */
export class UsageError extends Error {}

const ARITY: Record<string, [number, number]> = {
  publish: [1, 2],
  subscribe: [1, Number.POSITIVE_INFINITY],
  history: [1, 1],
  presence: [1, 1],
  channels: [0, 0],
  info: [0, 0],
};

export async function runClient(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let parsed: ReturnType<typeof parseClientArgs>;
  try {
    parsed = parseClientArgs(argv);
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\s+/g, ' ')} (see herald ${command} --help)`);
  }
  const { values, positionals } = parsed;
  const [min, max] = ARITY[command];
  if (positionals.length < min || positionals.length > max) {
    throw new UsageError(`herald ${command}: wrong number of arguments (see herald ${command} --help)`);
  }
  const server = (
    values.server ??
    values['api-url'] ??
    env.HERALD_SERVER ??
    env.HERALD_API_URL ??
    'http://127.0.0.1:8080'
  ).replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]/.test(server)) {
    throw new UsageError(
      `--server must be an http:// or https:// URL, e.g. http://127.0.0.1:8080 (got "${server}")`,
    );
  }
  const apiKey = values['api-key'] ?? env.HERALD_API_KEY;
  const call = (method: string, params: object) => apiCall(server, apiKey, method, params);
  const print = (v: unknown): void => {
    process.stdout.write(`${JSON.stringify(v)}\n`);
  };
  const [channel] = positionals;
  switch (command) {
    case 'publish':
      if (positionals[1] !== undefined && positionals[1] !== '-') {
        return print(await call('publish', { channel, data: dataOf(positionals[1]) }));
      }
      // One publication per line, in order, each as it is typed or piped; end of input ends it.
      for await (const line of createInterface({
        input: process.stdin,
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        if (line.trim() !== '') print(await call('publish', { channel, data: dataOf(line) }));
      }
      return;
    case 'history': {
      const limit = values.limit === undefined ? -1 : Number(values.limit);
      if (!Number.isInteger(limit)) throw new UsageError('--limit must be a whole number');
      return print(await call('history', { channel, limit }));
    }
    case 'presence':
      return print(await call('presence', { channel }));
    case 'channels':
      return print(await call('channels', values.pattern ? { pattern: values.pattern } : {}));
    case 'info':
      return print(await call('info', {}));
    case 'subscribe':
      return subscribe(server, positionals, values.since);
  }
}

function parseClientArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      server: { type: 'string' },
      'api-url': { type: 'string' },
      'api-key': { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      pattern: { type: 'string' },
    },
  });
}

function dataOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function apiCall(server: string, apiKey: string | undefined, method: string, params: object) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers['x-api-key'] = apiKey;
  const res = await reach(server, () =>
    fetch(`${server}/api/${method}`, { method: 'POST', headers, body: JSON.stringify(params) }),
  );
  const body = (await res.json().catch(() => ({}))) as { result?: unknown; error?: { message?: string } };
  if (!res.ok || body.error)
    throw new Error(`${method} failed: ${body.error?.message ?? `HTTP ${res.status}`}`);
  return body.result;
}

/** fetch says only "fetch failed"; the cause (ECONNREFUSED, ENOTFOUND) says what to fix. */
async function reach(server: string, request: () => Promise<Response>): Promise<Response> {
  try {
    return await request();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if ((err as Error).name === 'AbortError' || cause === undefined) throw err;
    throw new Error(
      `cannot reach the server at ${server} (${cause.code ?? cause.message}); is it running? (--server URL)`,
    );
  }
}

/** `offset:epoch` -> the SSE cursor that resumes every named channel after that position. */
function sinceCursor(channels: string[], since: string): string {
  const m = /^(\d+):(\S+)$/.exec(since);
  if (!m) throw new UsageError('--since must be offset:epoch, e.g. --since 12:3f9a61c2');
  const position = { offset: Number(m[1]), epoch: m[2] };
  return encodeCursor(new Map(channels.map((c) => [c, position])));
}

async function subscribe(server: string, channels: string[], since: string | undefined): Promise<void> {
  const query = channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&');
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (since) headers['last-event-id'] = sinceCursor(channels, since);
  const ctrl = new AbortController();
  process.once('SIGINT', () => ctrl.abort());
  let res: Response;
  try {
    res = await reach(server, () => fetch(`${server}/sse?${query}`, { headers, signal: ctrl.signal }));
  } catch (err) {
    if (ctrl.signal.aborted) return;
    throw err;
  }
  if (!res.ok || !res.body) throw new Error(`subscribe failed: HTTP ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        printEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (err) {
    if (!ctrl.signal.aborted) throw err;
  }
}

function printEvent(block: string): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length === 0) return;
  if (event === 'message') process.stdout.write(`${data.join('\n')}\n`);
  else if (event === 'gap')
    process.stderr.write(`herald: gap: publications were lost on ${data.join('\n')}\n`);
}
