// A closed-loop HTTP/1.1 load: C keep-alive sockets, each with one request in flight, sending the
// next one as soon as the answer is complete. Raw sockets and a minimal response reader (status
// line, content-length, body skipped) so the load side costs little next to the server.
import { connect, type Socket } from 'node:net';
import { Histogram } from './hist.js';
import { takeResponse } from './http-response.js';

export interface HttpRunOptions {
  base: string;
  path: string;
  body: string;
  connections: number;
  durationMs: number;
  localAddress?: string;
}

export interface HttpRunResult {
  requests: number;
  /** Answers whose status was not 200. */
  errors: number;
  counts: number[];
}

export async function httpRun(opts: HttpRunOptions): Promise<HttpRunResult> {
  const url = new URL(opts.base);
  const body = Buffer.from(opts.body);
  const request = Buffer.concat([
    Buffer.from(
      `POST ${opts.path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
  const hist = new Histogram();
  let requests = 0;
  let errors = 0;
  let running = true;
  const sockets: Socket[] = [];
  const lane = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        localAddress: opts.localAddress,
        noDelay: true,
      });
      sockets.push(socket);
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        sentAt = performance.now();
        socket.write(request);
      };
      socket.once('connect', () => {
        resolve();
        send();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const res = takeResponse(buf);
        if (res === undefined) return;
        buf = res.rest;
        if (res.status !== 200) errors++;
        requests++;
        hist.add(performance.now() - sentAt);
        if (running) send();
      });
    });
  await Promise.all(Array.from({ length: opts.connections }, lane));
  // Counted from here: every lane is connected and has its first request out.
  const t0 = performance.now();
  requests = 0;
  errors = 0;
  hist.counts.fill(0);
  hist.total = 0;
  await new Promise((r) => setTimeout(r, opts.durationMs));
  running = false;
  const done = { requests, errors, counts: hist.counts.slice() };
  const elapsed = performance.now() - t0;
  for (const s of sockets) s.destroy();
  return { ...done, requests: Math.round((done.requests * opts.durationMs) / elapsed) };
}
