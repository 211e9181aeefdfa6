// A bare ws server whose sockets are IdleWebSocket, for the idle-memory tests: it echoes text as
// "echo <text>", answers pings, records close codes, and lets the parser and sender go after every
// piece of work, as Herald's doors do. Clients are raw sockets (test/helpers/raw.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type WebSocket, WebSocketServer } from 'ws';
import { IdleWebSocket, releaseReceiverSoon } from '../../src/transports/ws/idle-receiver.js';
import { parseServerFrames, rawUpgrade, type ServerFrame } from './raw.js';
import { until } from './until.js';

export interface IdleClient {
  socket: Socket;
  /** The server's side of the connection. */
  server: IdleWebSocket;
  /** Every frame the client has received so far. */
  frames(): ServerFrame[];
}

export interface IdleEchoServer {
  port: number;
  /** Close codes the server saw, in order. */
  closes: number[];
  /** Upgrades a raw client and resolves once the server side exists. */
  connect(): Promise<IdleClient>;
  close(): void;
}

export async function startIdleEchoServer(
  opts: { maxPayload?: number; onConnection?: (ws: WebSocket) => void } = {},
): Promise<IdleEchoServer> {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    autoPong: false,
    maxPayload: opts.maxPayload,
    WebSocket: IdleWebSocket,
  });
  const accepted: IdleWebSocket[] = [];
  const closes: number[] = [];
  wss.on('connection', (ws: WebSocket) => {
    opts.onConnection?.(ws);
    accepted.push(ws as IdleWebSocket);
    ws.on('message', (data: Buffer) => {
      ws.send(`echo ${data}`);
      releaseReceiverSoon(ws);
    });
    ws.on('ping', (data: Buffer) => {
      ws.pong(data);
      releaseReceiverSoon(ws);
    });
    ws.on('close', (code: number) => closes.push(code));
    ws.on('error', () => {}); // an oversized message's error, answered with 1009 by ws
    releaseReceiverSoon(ws);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return {
    port,
    closes,
    async connect() {
      const { socket, status, rest } = await rawUpgrade(port, '/');
      assert.equal(status, 101);
      let buf = rest;
      socket.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
      });
      socket.on('error', () => {});
      const server = await until(() => accepted.shift(), { what: 'the server side' });
      return { socket, server, frames: () => parseServerFrames(buf) };
    },
    close() {
      wss.close();
      http.close();
    },
  };
}

/** A full garbage collection, to see a dropped object collected. */
export function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
