// Hostile input over real sockets to one real server process: raw WebSocket frames to every
// WebSocket door, random bytes to MQTT over TCP and /mqtt, random HTTP requests to /api, /sse and
// /poll. Each case checks what the client sees: a clear refusal (a close code or an HTTP 4xx that
// is not "internal"), or a normal answer, within a deadline; never a 5xx, never a hang.
import net from 'node:net';
import { parseServerFrames, rawUpgrade } from '../../helpers/raw.js';
import { mutateBytes, mutateText, randomJsonText, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';
import { mqttStream } from '../targets/mqtt-packets.js';
import { wsFrame, wsStream } from '../targets/ws-frames.js';
import type { FuzzServer } from './server.js';

/**
 * Close codes a door may send. Any valid code qualifies, since a door echoes the code of a close
 * frame the client sent; an internal error on the server's side shows up in its error log instead.
 */
function allowedClose(code: number): boolean {
  return (
    [1000, 1001, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 1011].includes(code) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Resolves when the socket closes or `ms` pass, with everything it received. */
function collect(
  socket: net.Socket,
  initial: Buffer,
  ms: number,
): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const parts = [initial];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ data: Buffer.concat(parts), closed });
    };
    const onData = (d: Buffer) => parts.push(d);
    const timer = setTimeout(() => done(false), ms);
    socket.on('data', onData);
    socket.once('close', () => done(true));
  });
}

function writeChunks(rng: Rng, socket: net.Socket, bytes: Buffer): void {
  let at = 0;
  while (at < bytes.length && !socket.destroyed) {
    const n = rng.chance(0.7) ? bytes.length - at : rng.int(1, bytes.length - at);
    socket.write(bytes.subarray(at, at + n));
    at += n;
  }
}

const CLOSE_FRAME = wsFrameOf(8, Buffer.from([0x03, 0xe8]));
function wsFrameOf(opcode: number, payload: Buffer): Buffer {
  const key = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), key, body]);
}

export function wsRaw(s: FuzzServer): Target {
  return {
    name: 'socket-ws-frames',
    weight: 40,
    concurrency: 16,
    async run(rng) {
      const path = rng.pick(['/echo', '/chat', '/connection/websocket', '/mqtt']);
      const headers: Record<string, string> = path === '/mqtt' ? { 'Sec-WebSocket-Protocol': 'mqtt' } : {};
      const { socket, status, rest } = await rawUpgrade(s.port, path, headers);
      socket.on('error', () => {});
      try {
        if (status !== 101) throw new Defect(`upgrade to ${path} answered ${status}`);
        let bytes: Buffer;
        if (path === '/mqtt' && rng.chance(0.7)) {
          // MQTT bytes in binary frames: the broker's parser behind the WebSocket.
          bytes = Buffer.concat(chunksAsFrames(rng, mqttStream(rng)));
        } else if (path === '/connection/websocket' && rng.chance(0.5)) {
          bytes = wsFrameOf(
            1,
            Buffer.from(rng.chance(0.5) ? '{"id":1,"connect":{}}' : randomJsonText(rng)).subarray(0, 125),
          );
          bytes = Buffer.concat([bytes, wsStream(rng, 2000)]);
        } else bytes = wsStream(rng, 70_000);
        writeChunks(rng, socket, bytes);
        // A valid close ends what was well-formed; after a malformed frame it is more garbage.
        if (!socket.destroyed) socket.write(CLOSE_FRAME);
        const { data } = await collect(socket, rest, 500);
        for (const f of parseServerFrames(data)) {
          if (f.opcode !== 8 || f.payload.length < 2) continue;
          const code = f.payload.readUInt16BE(0);
          if (!allowedClose(code))
            throw new Defect(`${path} closed with ${code} ${f.payload.subarray(2)}`, bytes);
        }
      } finally {
        socket.destroy();
      }
    },
  };
}

function chunksAsFrames(rng: Rng, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(125, rng.int(1, bytes.length - at));
    out.push(wsFrameOf(2, bytes.subarray(at, at + n)));
    at += n;
  }
  if (rng.chance(0.1)) out.push(wsFrame(rng, 1000));
  return out;
}

export function mqttTcp(s: FuzzServer): Target {
  return {
    name: 'socket-mqtt-tcp',
    weight: 30,
    concurrency: 16,
    async run(rng) {
      const socket = net.connect(s.mqttPort, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      try {
        writeChunks(rng, socket, mqttStream(rng));
        await collect(socket, Buffer.alloc(0), rng.chance(0.9) ? 100 : 600);
      } finally {
        socket.destroy();
      }
    },
  };
}

const CHANNELS = ['fz-a', 'fz-b', 'fz:c', '', '$x', '+', 'a%00b', '%ff', '%E6%BC%A2', 'a'.repeat(300)];

/** Percent-encoded, with a lone surrogate (which encodeURIComponent refuses) as raw UTF-8 garbage. */
function uri(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function queryString(rng: Rng, pathName: string): string {
  const parts: string[] = [];
  for (let n = rng.int(0, 4); n > 0; n--) {
    const key = rng.pick([
      'channel',
      'channel',
      'cursor',
      'timeout',
      'last_event_id',
      randomString(rng, [], 6),
    ]);
    let value: string;
    if (key === 'timeout') value = rng.pick(['0', '0', '0.2', '-1', 'x', '1e9', '']);
    else if (key === 'cursor' || key === 'last_event_id') value = mutateText(rng, 'eyJmei1hIjpbIiIsMF19');
    else value = uri(rng.pick(CHANNELS)).replace(/%25/g, rng.chance(0.5) ? '%' : '%25');
    parts.push(`${rng.chance(0.95) ? key : uri(randomString(rng))}=${value}`);
  }
  // A valid poll held to its default would be a legitimate wait, not a hang.
  if (pathName === '/poll') parts.push('timeout=0');
  return parts.length ? `?${parts.join('&')}` : '';
}

function httpRequest(rng: Rng): Buffer {
  const path = rng.pick([
    '/api/publish',
    '/api/broadcast',
    '/api/history',
    '/api/batch',
    '/api/channels',
    '/api',
    `/api/${randomString(rng, [], 8).replace(/[\s?#/]/g, '')}`,
    '/sse',
    '/poll',
    '/poll',
  ]);
  const method = path.startsWith('/api')
    ? rng.chance(0.9)
      ? 'POST'
      : rng.pick(['GET', 'PUT', 'DELETE', 'OPTIONS'])
    : rng.chance(0.9)
      ? 'GET'
      : rng.pick(['POST', 'HEAD', 'OPTIONS']);
  const target = path.startsWith('/api') ? path : `${path}${queryString(rng, path)}`;
  let body: Buffer = Buffer.from(
    rng.chance(0.8)
      ? randomJsonText(rng, {
          keys: ['channel', 'channels', 'data', 'b64data', 'limit', 'since', 'commands', 'method', 'params'],
          words: CHANNELS,
        })
      : randomString(rng),
  );
  if (rng.chance(0.2)) body = mutateBytes(rng, body);
  const headers = [`Host: 127.0.0.1`, 'Connection: close'];
  const lengthMode = rng.float();
  if (method !== 'GET' || rng.chance(0.1)) {
    if (lengthMode < 0.8) headers.push(`Content-Length: ${body.length}`);
    else if (lengthMode < 0.9)
      headers.push(`Content-Length: ${rng.pick([-1, 0, body.length + 5, 2 ** 40, 'x'])}`);
    else headers.push('Transfer-Encoding: chunked');
  }
  if (rng.chance(0.5))
    headers.push(
      `Content-Type: ${rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/json; charset=latin1'])}`,
    );
  if (rng.chance(0.2)) headers.push(`Last-Event-ID: ${mutateText(rng, 'eyJmei1hIjpbIiIsMF19')}`);
  if (rng.chance(0.1)) headers.push(`${randomString(rng, [], 10)}: ${randomString(rng, [], 20)}`);
  let payload = body;
  if (headers.includes('Transfer-Encoding: chunked'))
    payload = Buffer.concat([
      Buffer.from(`${rng.chance(0.8) ? body.length.toString(16) : 'zz'}\r\n`),
      body,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
  if (
    method === 'GET' &&
    lengthMode >= 0.8 &&
    !headers.some((h) => h.startsWith('Content-Length') || h.startsWith('Transfer'))
  )
    payload = Buffer.alloc(0);
  let head = `${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  if (rng.chance(0.05)) head = mutateText(rng, head);
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

export function httpRaw(s: FuzzServer): Target {
  return {
    name: 'socket-http',
    weight: 30,
    concurrency: 16,
    async run(rng) {
      const request = httpRequest(rng);
      const socket = net.connect(s.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      try {
        writeChunks(rng, socket, request);
        // Half-close: a request whose body never comes is then over, and must be answered or cut.
        socket.end();
        const started = performance.now();
        let data = Buffer.alloc(0);
        let closed = false;
        // An SSE stream that opened is a success: stop at its headers.
        while (!closed && performance.now() - started < 3000) {
          const r = await collect(socket, Buffer.alloc(0), 3000 - (performance.now() - started));
          data = Buffer.concat([data, r.data]);
          closed = r.closed;
          if (data.includes('text/event-stream')) break;
        }
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'))?.[1] ?? 0);
        if (!closed && status === 0)
          throw new Defect('no answer and no close within 3 s', request.toString('latin1'));
        if (status >= 500) {
          const text = data.toString('utf8');
          throw new Defect(
            `answered ${status}: ${text.slice(text.indexOf('\r\n\r\n') + 4, 300)}`,
            request.toString('latin1'),
          );
        }
      } finally {
        socket.destroy();
      }
    },
  };
}
