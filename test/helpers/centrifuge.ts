// Helpers for tests that drive /connection/websocket with the real `centrifuge` SDK or raw frames.
import { Centrifuge, type Options, type Subscription } from 'centrifuge';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { TestClient } from './ws.js';

/** The SDK in Node, with `ws` as its WebSocket and short reconnect delays for tests. */
export function sdkClient(base: string, options: Partial<Options> = {}): Centrifuge {
  return new Centrifuge(`${base}/connection/websocket`, {
    websocket: WebSocket,
    minReconnectDelay: 50,
    maxReconnectDelay: 300,
    timeout: 5000,
    ...options,
  });
}

/**
 * The SDK with WebSocket out of reach: only the given fallback transport (http_stream or sse), its
 * later commands posted to `emulationBase`/emulation (by default the same server).
 */
export function sdkFallbackClient(
  base: string,
  transport: 'http_stream' | 'sse',
  options: Partial<Options> = {},
  emulationBase = base,
): Centrifuge {
  return new Centrifuge([{ transport, endpoint: `${base}/connection/${transport}` }], {
    eventsource: EventSource as unknown as Options['eventsource'],
    emulationEndpoint: `${emulationBase}/emulation`,
    minReconnectDelay: 50,
    maxReconnectDelay: 300,
    timeout: 5000,
    ...options,
  });
}

/** Resolves with the first event `name` emitted by `emitter` (optionally matching), or fails. */
export function once<T = unknown>(
  emitter: {
    once(n: string, f: (ctx: T) => void): unknown;
    on(n: string, f: (ctx: T) => void): unknown;
    removeListener(n: string, f: (ctx: T) => void): unknown;
  },
  name: string,
  ms = 5000,
  match: (ctx: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(name, handler);
      reject(new Error(`no "${name}" event within ${ms} ms`));
    }, ms);
    const handler = (ctx: T) => {
      if (!match(ctx)) return;
      clearTimeout(timer);
      emitter.removeListener(name, handler);
      resolve(ctx);
    };
    emitter.on(name, handler);
  });
}

export async function subscribed(sub: Subscription): Promise<void> {
  if (sub.state === 'subscribed') return;
  await once(sub, 'subscribed');
}

/** A raw-frame client: sends JSON commands, reads replies while skipping server pings. */
export class RawClient {
  private readonly lines: string[] = [];
  private constructor(
    readonly t: TestClient,
    autoPong: boolean,
  ) {
    // Answer pings as they arrive, not when the test reads, as the SDK does.
    if (autoPong) {
      t.ws.on('message', (data: Buffer) => {
        if (data.toString() === '{}') t.send('{}');
      });
    }
  }

  /** `autoPong: false` makes a client that never answers pings. */
  static async open(base: string, protocols?: string | string[], autoPong = true): Promise<RawClient> {
    return new RawClient(
      await TestClient.open(`${base}/connection/websocket`, undefined, protocols),
      autoPong,
    );
  }

  send(cmd: object | string): void {
    this.t.send(typeof cmd === 'string' ? cmd : JSON.stringify(cmd));
  }

  /** The next reply or push, skipping pings. */
  async next(ms = 3000): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    for (;;) {
      const line = this.lines.shift();
      if (line === undefined) {
        this.lines.push(...(await this.t.nextText(Math.max(1, end - Date.now()))).split('\n'));
      } else if (line !== '{}') {
        return JSON.parse(line);
      }
    }
  }

  async connect(): Promise<Record<string, unknown>> {
    this.send({ id: 1, connect: {} });
    const reply = await this.next();
    if (!reply.connect) throw new Error(`connect failed: ${JSON.stringify(reply)}`);
    return reply.connect as Record<string, unknown>;
  }

  get closed(): Promise<{ code: number; reason: string }> {
    return this.t.closed;
  }

  close(): Promise<unknown> {
    return this.t.close();
  }
}
