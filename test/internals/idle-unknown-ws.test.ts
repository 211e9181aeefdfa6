// When ws's receiver or sender does not look as idle-receiver.ts / idle-sender.ts were written for
// (another ws version: here simulated by a field they do not know), both are kept for every
// connection, the connection works as before, and the process says so once with a warning an
// operator can see. Its own file: what ws looks like is learned once per process.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  hasLiveReceiver,
  hasLiveSender,
  IdleWebSocket,
  releaseReceiverSoon,
} from '../../src/transports/ws/idle-receiver.js';
import { clientFrame, parseServerFrames, rawUpgrade } from '../helpers/raw.js';
import { until } from '../helpers/until.js';

const TEXT = 0x1;

describe('IdleWebSocket with a ws it does not know', () => {
  let http: Server;
  let wss: WebSocketServer;
  let port = 0;
  const accepted: IdleWebSocket[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'HERALD_WS_IDLE_KEPT') warnings.push(w.message);
  };

  before(async () => {
    process.on('warning', onWarning);
    http = createServer();
    wss = new WebSocketServer({ server: http, perMessageDeflate: false, WebSocket: IdleWebSocket });
    wss.on('connection', (ws: WebSocket) => {
      // What a newer ws might carry: a field the idle code has not checked.
      const w = ws as unknown as { _receiver: Record<string, unknown>; _sender: Record<string, unknown> };
      w._receiver._fieldOfANewerWs = 0;
      w._sender._fieldOfANewerWs = 0;
      accepted.push(ws as IdleWebSocket);
      ws.on('message', (data: Buffer) => {
        ws.send(`echo ${data}`);
        releaseReceiverSoon(ws);
      });
      ws.on('error', () => {});
      releaseReceiverSoon(ws);
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    port = (http.address() as AddressInfo).port;
  });
  after(() => {
    process.off('warning', onWarning);
    wss.close();
    http.close();
  });

  test('receiver and sender are kept, the connection works, and the process warns once for each', async () => {
    const { socket, status, rest } = await rawUpgrade(port, '/');
    assert.equal(status, 101);
    let buf = rest;
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
    });
    const server = await until(() => accepted[0], { what: 'the server side' });
    await until(() => warnings.length === 2, { what: 'a warning for the receiver and one for the sender' });
    assert.match(warnings.join('\n'), /receiver/);
    assert.match(warnings.join('\n'), /sender/);
    assert.equal(hasLiveReceiver(server), true, 'the receiver is kept');
    assert.equal(hasLiveSender(server), true, 'the sender is kept');
    assert.equal(server.releaseReceiver(), false);

    socket.write(clientFrame(TEXT, Buffer.from('still here')));
    await until(() => parseServerFrames(buf).length === 1, { what: 'the echo' });
    assert.equal(parseServerFrames(buf)[0].payload.toString(), 'echo still here');

    // A second connection: kept as well, and no second warning.
    const second = await rawUpgrade(port, '/');
    const other = await until(() => accepted[1], { what: 'the second server side' });
    assert.equal(other.releaseReceiver(), false);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    assert.equal(warnings.length, 2);
    socket.destroy();
    second.socket.destroy();
  });
});
