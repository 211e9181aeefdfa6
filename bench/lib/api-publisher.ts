// A publisher through the server HTTP API (POST /api/publish) for doors that have no publish of
// their own (SSE, polling, the protocol door fed by a backend). Raw keep-alive sockets bound to the
// load process's source address, opened as needed up to SOCKETS (as an HTTP agent does: a socket
// opened and left without a request is closed by the server's headersTimeout), one request in
// flight on each, answers read and dropped; what finds every socket busy waits in a bounded queue,
// so a slow server makes the publisher fall behind (which the delivered share shows) instead of
// piling up requests. Raw rather than node:http's client: its agent hands a request to a socket a
// tick or more later, and the publisher's stamp is taken before, so that time would count as the
// server's latency.
import { connect, type Socket } from 'node:net';
import type { ConnectOptions, PublisherConnection } from '../adapters/types.js';
import { takeResponse } from './http-response.js';

const SOCKETS = 8;
const MAX_QUEUED = 100_000;

interface Lane {
  socket: Socket;
  connected: boolean;
  /** The body of the request in flight, to send again if the socket closes before its answer. */
  inFlight: string | undefined;
  buf: Buffer;
}

export async function apiPublisher(opts: ConnectOptions): Promise<PublisherConnection> {
  const url = new URL(opts.base);
  const head = `POST /api/publish HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: `;
  // A ring of waiting bodies: Array#shift on a long queue copies the rest each time.
  const queue: string[] = [];
  let queueHead = 0;
  const idle: Lane[] = [];
  const lanes = new Set<Lane>();
  let closed = false;
  /** Requests already sent a second time (at most once each; answered ones leave the set). */
  const resent = new Set<string>();

  const send = (lane: Lane, body: string) => {
    lane.inFlight = body;
    // Benchmark bodies are ASCII: length in characters is length in bytes.
    lane.socket.write(`${head}${body.length}\r\n\r\n${body}`, 'latin1');
  };
  const nextQueued = (): string | undefined => {
    if (queueHead >= queue.length) return undefined;
    const body = queue[queueHead++];
    if (queueHead === queue.length) {
      queue.length = 0;
      queueHead = 0;
    }
    return body;
  };
  const free = (lane: Lane) => {
    const next = nextQueued();
    if (next !== undefined) send(lane, next);
    else idle.push(lane);
  };
  const open = (first: string) => {
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      localAddress: opts.localAddress,
      noDelay: true,
    });
    const lane: Lane = { socket, connected: false, inFlight: undefined, buf: Buffer.alloc(0) };
    lanes.add(lane);
    socket.once('connect', () => {
      lane.connected = true;
      send(lane, first);
    });
    socket.on('error', () => {}); // followed by 'close'
    socket.once('close', () => {
      lanes.delete(lane);
      const at = idle.indexOf(lane);
      if (at >= 0) idle.splice(at, 1);
      // Unanswered on a socket that was open: sent again once on another (a server closes a
      // keep-alive socket between requests, so it was not handled). A socket that never
      // connected (the server is gone) drops its request: no reconnect loop.
      const lost = lane.inFlight;
      if (closed || lost === undefined || resent.has(lost)) return;
      resent.add(lost);
      dispatch(lost);
    });
    socket.on('data', (chunk: Buffer) => {
      lane.buf = lane.buf.length === 0 ? chunk : Buffer.concat([lane.buf, chunk]);
      const res = takeResponse(lane.buf);
      if (res === undefined) return;
      lane.buf = res.rest;
      if (lane.inFlight !== undefined) resent.delete(lane.inFlight);
      lane.inFlight = undefined;
      free(lane);
    });
  };
  const dispatch = (body: string) => {
    const lane = idle.pop();
    if (lane) send(lane, body);
    else if (lanes.size < SOCKETS) open(body);
    else if (queue.length - queueHead < MAX_QUEUED) queue.push(body);
  };
  return {
    publish(payload: string, channel = opts.channel) {
      // Benchmark payloads and channel names are ASCII without quotes: no JSON.stringify needed.
      dispatch(`{"channel":"${channel}","data":"${payload}"}`);
    },
    close() {
      closed = true;
      queue.length = 0;
      for (const l of lanes) l.socket.destroy();
    },
  };
}
