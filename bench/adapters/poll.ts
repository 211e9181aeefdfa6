// Long polling (/poll): each subscriber first asks with timeout=0 for its starting cursor, then
// loops GET /poll?channel=..&cursor=C over one keep-alive socket; nothing is missed between polls
// because the cursor reads the rest from history. The publisher goes through POST /api/publish.
// One request per delivery batch per subscriber: 1,000 subscribers is the row this door runs.
import { Agent, get } from 'node:http';
import { apiPublisher } from '../lib/api-publisher.js';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

const DATA = '"data":"';
const CURSOR = '"cursor":"';

function poll(url: URL, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      res.setEncoding('latin1');
      let body = '';
      res.on('data', (c: string) => {
        body += c;
      });
      res.once('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /poll answered ${res.statusCode}`)),
      );
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

const longPoll: DoorAdapter = {
  name: 'poll',
  available: true,
  maxSubscribers: 1000,
  async subscribe(opts: SubscribeOptions): Promise<Connection> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: opts.localAddress });
    const at = (cursor: string, timeout: number) =>
      new URL(
        `/poll?channel=${encodeURIComponent(opts.channel)}&timeout=${timeout}${cursor ? `&cursor=${cursor}` : ''}`,
        opts.base,
      );
    const cursorOf = (body: string) => {
      const i = body.lastIndexOf(CURSOR);
      if (i < 0) throw new Error(`no cursor in ${body.slice(0, 200)}`);
      return body.slice(i + CURSOR.length, body.indexOf('"', i + CURSOR.length));
    };
    let cursor = cursorOf(await poll(at('', 0), agent));
    let closed = false;
    const loop = async () => {
      while (!closed) {
        const body = await poll(at(cursor, 25), agent);
        for (let i = body.indexOf(DATA); i >= 0; i = body.indexOf(DATA, i + 1)) {
          const p = i + DATA.length;
          opts.onPayload(body.slice(p, body.indexOf('"', p)));
        }
        cursor = cursorOf(body);
      }
    };
    loop().then(
      () => opts.onClose(),
      () => {
        closed = true;
        opts.onClose();
      },
    );
    return {
      close() {
        closed = true;
        agent.destroy();
      },
    };
  },
  publisher: (opts: ConnectOptions): Promise<PublisherConnection> => apiPublisher(opts),
};

export default longPoll;
