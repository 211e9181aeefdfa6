// A publisher through the server HTTP API (POST /api/publish) for doors that have no publish of
// their own (SSE, polling, the protocol door fed by a backend). Raw keep-alive sockets bound to the
// load process's source address, one request in flight per socket, answers read and dropped; what
// finds every socket busy waits in a bounded queue, so a slow server makes the publisher fall behind
// (which the delivered share shows) instead of piling up requests. Raw rather than node:http's
// client: its agent hands a request to a socket a tick or more later, and the publisher's stamp is
// taken before, so that time would count as the server's latency.
import { connect, type Socket } from 'node:net';
import type { ConnectOptions, PublisherConnection } from '../adapters/types.js';

const SOCKETS = 8;
const MAX_QUEUED = 100_000;

interface Lane {
  socket: Socket;
  busy: boolean;
  buf: Buffer;
}

export async function apiPublisher(opts: ConnectOptions): Promise<PublisherConnection> {
  const url = new URL(opts.base);
  const head = `POST /api/publish HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: `;
  const queue: string[] = [];
  const idle: Lane[] = [];
  const lanes: Lane[] = [];
  const send = (lane: Lane, body: string) => {
    lane.busy = true;
    // Benchmark bodies are ASCII: length in characters is length in bytes.
    lane.socket.write(`${head}${body.length}\r\n\r\n${body}`, 'latin1');
  };
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        localAddress: opts.localAddress,
        noDelay: true,
      });
      const lane: Lane = { socket, busy: false, buf: Buffer.alloc(0) };
      lanes.push(lane);
      socket.once('connect', () => {
        idle.push(lane);
        resolve();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        lane.buf = lane.buf.length === 0 ? chunk : Buffer.concat([lane.buf, chunk]);
        const headEnd = lane.buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(lane.buf.toString('latin1', 0, headEnd));
        const total = headEnd + 4 + (m ? Number(m[1]) : 0);
        if (lane.buf.length < total) return;
        lane.buf = lane.buf.subarray(total);
        lane.busy = false;
        const next = queue.shift();
        if (next !== undefined) send(lane, next);
        else idle.push(lane);
      });
    });
  await Promise.all(Array.from({ length: SOCKETS }, open));
  return {
    publish(payload: string, channel = opts.channel) {
      // Benchmark payloads and channel names are ASCII without quotes: no JSON.stringify needed.
      const body = `{"channel":"${channel}","data":"${payload}"}`;
      const lane = idle.pop();
      if (lane) send(lane, body);
      else if (queue.length < MAX_QUEUED) queue.push(body);
    },
    close() {
      queue.length = 0;
      for (const l of lanes) l.socket.destroy();
    },
  };
}
