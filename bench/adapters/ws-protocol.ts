// The WebSocket channel protocol (/connection/websocket, Centrifugo-compatible, JSON): raw `ws`
// clients send connect and subscribe in one frame, answer the server's `{}` ping with `{}`, and read
// the payload out of `{"push":{"channel":..,"pub":{"data":"<payload>",...}}}`. The publisher uses
// the protocol's `publish` command; commands due within one turn go out as one frame (the protocol
// takes newline-separated commands), so the publisher is not the first thing to saturate.
import { WebSocket } from 'ws';
import type {
  Connection,
  ConnectOptions,
  DoorAdapter,
  PublisherConnection,
  SubscribeOptions,
} from './types.js';

const DATA = '"data":"';

function open(opts: ConnectOptions, channel: string | undefined): Promise<WebSocket> {
  const ws = new WebSocket(`${opts.base.replace(/^http/, 'ws')}/connection/websocket`, {
    localAddress: opts.localAddress,
    perMessageDeflate: false,
  });
  const hello = channel
    ? `{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"${channel}"}}`
    : '{"id":1,"connect":{}}';
  const waitFor = channel ? 2 : 1;
  return new Promise((resolve, reject) => {
    ws.once('open', () => ws.send(hello));
    const onReply = (data: Buffer) => {
      const text = data.toString('latin1');
      if (text.includes('"error"')) {
        reject(new Error(`refused: ${text.slice(0, 200)}`));
        ws.terminate();
        return;
      }
      if (text.includes(`"id":${waitFor},`)) {
        ws.off('message', onReply);
        resolve(ws);
      }
    };
    ws.on('message', onReply);
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('closed before the subscribe reply')));
  });
}

/** Pulls `<payload>` out of a publication push; undefined for anything else (ping, replies). */
function payloadOf(text: string): string | undefined {
  if (!text.startsWith('{"push"')) return undefined;
  const at = text.indexOf(DATA);
  if (at < 0) return undefined;
  const from = at + DATA.length;
  return text.slice(from, text.indexOf('"', from)); // benchmark payloads are ASCII without quotes
}

const wsProtocol: DoorAdapter = {
  name: 'ws-protocol',
  available: true,
  async subscribe(opts: SubscribeOptions): Promise<Connection> {
    const ws = await open(opts, opts.channel);
    ws.on('message', (data: Buffer) => {
      const text = data.toString('latin1');
      if (text === '{}') {
        ws.send('{}');
        return;
      }
      // One frame may carry several pushes separated by newlines.
      if (text.indexOf('\n') < 0) {
        const p = payloadOf(text);
        if (p !== undefined) opts.onPayload(p);
        return;
      }
      for (const line of text.split('\n')) {
        const p = payloadOf(line);
        if (p !== undefined) opts.onPayload(p);
      }
    });
    ws.on('error', () => {});
    ws.once('close', () => opts.onClose());
    return { close: () => ws.terminate() };
  },
  async publisher(opts: ConnectOptions): Promise<PublisherConnection> {
    const COMMANDS_PER_FRAME = 200;
    // An overloaded server may cut the publisher off (its replies pile up): it reconnects, and what
    // it publishes meanwhile is dropped, so that step shows as under-delivered rather than stalling
    // every later step.
    let ws: WebSocket | undefined;
    let closed = false;
    const connect = async () => {
      const next = await open(opts, undefined);
      next.on('error', () => {});
      next.on('message', (data: Buffer) => {
        if (data.length === 2 && data.toString('latin1') === '{}') next.send('{}');
      });
      next.once('close', () => {
        ws = undefined;
        if (!closed) setTimeout(() => connect().catch(() => {}), 200);
      });
      if (closed) next.terminate();
      else ws = next;
    };
    await connect();
    let id = 10;
    let pending: string[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      ws?.send(pending.join('\n'));
      pending = [];
    };
    return {
      publish(payload: string, channel = opts.channel) {
        if (pending.length === 0) setImmediate(flush);
        pending.push(`{"id":${id++},"publish":{"channel":"${channel}","data":"${payload}"}}`);
        // A frame stays well under the server's maxMessageSize (64 KiB) when many are due at once.
        if (pending.length >= COMMANDS_PER_FRAME) flush();
      },
      close() {
        closed = true;
        ws?.terminate();
      },
    };
  },
};

export default wsProtocol;
