// The SSE door (/sse?channel=...): a raw HTTP GET read by a small streaming parser (no EventSource
// library, to keep the load side light), one payload per `data:` line; the publisher goes through
// POST /api/publish.
import { request } from 'node:http';
import { apiPublisher } from '../lib/api-publisher.js';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

const DATA = '"data":"';

const sse: DoorAdapter = {
  name: 'sse',
  available: true,
  subscribe(opts: SubscribeOptions): Promise<Connection> {
    const url = new URL(`/sse?channel=${encodeURIComponent(opts.channel)}`, opts.base);
    return new Promise((resolve, reject) => {
      const req = request(url, {
        localAddress: opts.localAddress,
        agent: false,
        headers: { accept: 'text/event-stream' },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /sse answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('latin1');
        let rest = '';
        res.on('data', (chunk: string) => {
          const text = rest + chunk;
          let from = 0;
          for (;;) {
            const nl = text.indexOf('\n', from);
            if (nl < 0) break;
            // `data: {"channel":..,"data":"<payload>",...}`: id and comment lines are skipped.
            if (text.startsWith('data: ', from)) {
              const at = text.indexOf(DATA, from);
              if (at >= 0 && at < nl) {
                const p = at + DATA.length;
                opts.onPayload(text.slice(p, text.indexOf('"', p)));
              }
            }
            from = nl + 1;
          }
          rest = text.slice(from);
        });
        res.once('close', () => opts.onClose());
        res.on('error', () => {});
        // The stream is subscribed once the headers are out (the door subscribes before answering).
        resolve({ close: () => req.destroy() });
      });
      req.end();
    });
  },
  publisher: (opts: ConnectOptions): Promise<PublisherConnection> => apiPublisher(opts),
};

export default sse;
