// The SSE door (/sse?channel=...): a raw socket sends the GET and reads the response with a small
// chunked-body decoder and line parser (no EventSource library, no node:http client: its parser and
// stream machinery cost the load side more per event than a `ws` client, and the load side's time is
// in every latency figure); one payload per `data:` line. The publisher goes through POST /api/publish.
import { connect } from 'node:net';
import { apiPublisher } from '../lib/api-publisher.js';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

const DATA = '"data":"';

/** Reads `data:` lines of an event stream and hands each benchmark payload to `onPayload`. */
class EventLines {
  private rest = '';
  constructor(private readonly onPayload: (payload: string) => void) {}

  push(text: string): void {
    if (this.rest) text = this.rest + text;
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      // `data: {"channel":..,"data":"<payload>",...}`: id and comment lines are skipped.
      if (text.startsWith('data: ', from)) {
        const at = text.indexOf(DATA, from);
        if (at >= 0 && at < nl) {
          const p = at + DATA.length;
          this.onPayload(text.slice(p, text.indexOf('"', p)));
        }
      }
      from = nl + 1;
    }
    this.rest = text.slice(from);
  }
}

/** Undoes `Transfer-Encoding: chunked` on latin1 text: `<hex size>\r\n<bytes>\r\n` ... */
class Dechunk {
  private buf = '';
  /** Bytes of the current chunk still to come; -1 while a size line is awaited. */
  private left = -1;
  constructor(private readonly out: (text: string) => void) {}

  push(text: string): void {
    const s = this.buf ? this.buf + text : text;
    this.buf = '';
    let at = 0;
    while (at < s.length) {
      if (this.left < 0) {
        const nl = s.indexOf('\r\n', at);
        if (nl < 0) break;
        this.left = Number.parseInt(s.slice(at, nl), 16);
        at = nl + 2;
        if (!(this.left >= 0)) throw new Error('bad chunk size');
        continue;
      }
      const take = Math.min(this.left, s.length - at);
      if (take > 0) this.out(s.slice(at, at + take));
      this.left -= take;
      at += take;
      if (this.left > 0) break;
      // the chunk's trailing CRLF
      if (s.length - at < 2) break;
      at += 2;
      this.left = -1;
    }
    this.buf = s.slice(at);
  }
}

const sse: DoorAdapter = {
  name: 'sse',
  available: true,
  subscribe(opts: SubscribeOptions): Promise<Connection> {
    const url = new URL(`/sse?channel=${encodeURIComponent(opts.channel)}`, opts.base);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: opts.localAddress });
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      const lines = new EventLines(opts.onPayload);
      let body: ((text: string) => void) | undefined;
      let head = '';
      let settled = false;
      socket.on('data', (text: string) => {
        if (body) {
          body(text);
          return;
        }
        head += text;
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = head.slice(0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 200 /.test(status)) {
          settled = true;
          reject(new Error(`GET /sse answered ${status}`));
          socket.destroy();
          return;
        }
        const chunked = /\r\ntransfer-encoding: *chunked\r\n/i.test(head.slice(0, end + 2));
        if (chunked) {
          const dechunk = new Dechunk((t) => lines.push(t));
          body = (t) => dechunk.push(t);
        } else body = (t) => lines.push(t);
        const rest = head.slice(end + 4);
        head = '';
        settled = true;
        // The stream is subscribed once the headers are out (the door subscribes before answering).
        resolve({ close: () => socket.destroy() });
        if (rest) body(rest);
      });
      socket.once('error', (err) => {
        if (!settled) reject(err);
      });
      socket.once('close', () => {
        if (!settled) reject(new Error('closed before the response head'));
        opts.onClose();
      });
    });
  },
  publisher: (opts: ConnectOptions): Promise<PublisherConnection> => apiPublisher(opts),
};

export default sse;
