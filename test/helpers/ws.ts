// A real `ws` client with a message queue, so tests can await the next message or the close.
import { WebSocket } from 'ws';

export interface Received {
  data: string | Buffer;
  binary: boolean;
}

export class TestClient {
  readonly ws: WebSocket;
  private readonly queue: Received[] = [];
  private waiters: ((m: Received) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(
    url: string,
    options?: ConstructorParameters<typeof WebSocket>[2],
    protocols?: string | string[],
  ) {
    this.ws = new WebSocket(url, protocols, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary) => {
      const m: Received = { data: isBinary ? data : data.toString('utf8'), binary: isBinary };
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
  }

  static async open(
    url: string,
    options?: ConstructorParameters<typeof WebSocket>[2],
    protocols?: string | string[],
  ) {
    const c = new TestClient(url, options, protocols);
    await c.opened;
    return c;
  }

  /** The next message, failing after `ms`. */
  next(ms = 2000): Promise<Received> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no message within ${ms} ms`));
      }, ms);
      const done = (msg: Received) => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.waiters.push(done);
    });
  }

  async nextText(ms?: number): Promise<string> {
    const m = await this.next(ms);
    if (m.binary) throw new Error('expected a text message, got binary');
    return m.data as string;
  }

  /** The messages received and not yet taken; after `closed` that is all the rest. */
  takeQueued(): Received[] {
    return this.queue.splice(0);
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}
