// The /chat door: every text sent is broadcast to every other /chat client as "Broadcast: <text>".
// The room is always channel `chat`, so `channel` is ignored. The bare `ws` baseline speaks the same.
import { WebSocket } from 'ws';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

const PREFIX = 'Broadcast: ';

function open(opts: ConnectOptions): Promise<WebSocket> {
  const ws = new WebSocket(`${opts.base.replace(/^http/, 'ws')}/chat`, {
    localAddress: opts.localAddress,
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    // The welcome text is the door's "you are in the room" (the subscription is live right after).
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('closed before the welcome')));
  });
}

const chat: DoorAdapter = {
  name: 'chat',
  available: true,
  async subscribe(opts: SubscribeOptions): Promise<Connection> {
    const ws = await open(opts);
    ws.on('message', (data: Buffer) => {
      const text = data.toString('latin1'); // the benchmark payload is ASCII
      if (text.startsWith(PREFIX)) opts.onPayload(text.slice(PREFIX.length));
    });
    ws.on('error', () => {});
    ws.once('close', () => opts.onClose());
    return { close: () => ws.terminate() };
  },
  async publisher(opts: ConnectOptions): Promise<PublisherConnection> {
    const ws = await open(opts);
    ws.on('error', () => {});
    return { publish: (payload) => ws.send(payload), close: () => ws.terminate() };
  },
};

export default chat;
