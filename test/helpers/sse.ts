// A real EventSource client (the `eventsource` package, as a browser would behave) with an event
// queue, so tests can await the next event of a type.
import { EventSource } from 'eventsource';

export interface SseEvent {
  type: string;
  data: string;
  id: string;
}

export class SseClient {
  readonly es: EventSource;
  readonly events: SseEvent[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  errors = 0;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.es = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
    });
    this.opened = new Promise((resolve, reject) => {
      this.es.onopen = () => resolve();
      this.es.onerror = (e) => {
        this.errors++;
        if (this.es.readyState === EventSource.CLOSED)
          reject(new Error(`SSE failed: ${e.message ?? e.code}`));
      };
    });
    this.opened.catch(() => {});
    for (const type of ['message', 'gap', 'ready']) {
      this.es.addEventListener(type, (e) => {
        const m = e as MessageEvent;
        this.events.push({ type, data: m.data, id: m.lastEventId });
        for (const w of this.waiters.splice(0)) w();
      });
    }
  }

  /** The next event not yet taken, optionally of one type (others are skipped). */
  async next(type?: string, ms = 3000): Promise<SseEvent> {
    const end = Date.now() + ms;
    for (;;) {
      while (this.cursor < this.events.length) {
        const e = this.events[this.cursor++];
        if (!type || e.type === type) return e;
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? ''} SSE event within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The data of the next n `message` events, parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: publications are arbitrary JSON
  async messages(n: number, ms = 3000): Promise<any[]> {
    const out = [];
    for (let i = 0; i < n; i++) out.push(JSON.parse((await this.next('message', ms)).data));
    return out;
  }

  /** The id of the last event received: what a browser would send as Last-Event-ID. */
  lastId(): string {
    return this.events.at(-1)?.id ?? '';
  }

  close(): void {
    this.es.close();
  }
}
