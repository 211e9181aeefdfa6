// MQTT over WebSocket at /mqtt (MQTT 3.1.1 section 6): subprotocol `mqtt` (or `mqttv3.1`, what MQTT
// 3.1 clients offer), binary frames only. A
// text frame closes the connection with 1003 before any of it reaches the broker.
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { CloseCodes } from '../../errors.js';
import { packetLimit } from '../../protocol/mqtt-size.js';
import type { DoorContext } from '../door.js';
import { refuse } from '../upgrade.js';

export const MQTT_WS_PATH = '/mqtt';

export function mqttWebSocket(
  ctx: DoorContext,
  handle: (stream: Duplex, ws: WebSocket) => void,
): WebSocketServer {
  const { config, log } = ctx;
  const wss = new WebSocketServer({
    noServer: true,
    // One frame usually carries one packet; a packet is at most this long.
    maxPayload: packetLimit(config.mqttMaxPayload) + 5,
    perMessageDeflate: false,
    clientTracking: true,
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  ctx.upgrades.add(MQTT_WS_PATH, (req, socket, head) => {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('mqtt') && !offered.includes('mqttv3.1')) {
      refuse(socket, 400, 'Bad Request', 'MQTT over WebSocket needs the "mqtt" (or "mqttv3.1") subprotocol');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      // The packet writer corks the stream and writes a packet in pieces; without _writev each
      // piece would be a frame of its own. One packet (or more) per frame instead.
      (stream as Duplex & { _writev: unknown })._writev = (
        chunks: { chunk: Buffer }[],
        cb: (err?: Error | null) => void,
      ) => {
        ws.send(Buffer.concat(chunks.map((c) => c.chunk)), { binary: true }, cb);
      };
      gateTextFrames(ws, () => log.warn({ transport: 'mqtt-ws' }, 'MQTT client sent a text frame; closed'));
      stream.on('error', () => stream.destroy());
      handle(stream, ws);
    });
  });
  return wss;
}

/**
 * createWebSocketStream forwards every frame; put a check in front of its listener so a text frame
 * closes the socket (1003) instead of being parsed as MQTT.
 */
function gateTextFrames(ws: WebSocket, onText: () => void): void {
  const forwarders = ws.listeners('message') as ((data: Buffer, isBinary: boolean) => void)[];
  for (const f of forwarders) ws.removeListener('message', f);
  let refused = false;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (refused) return;
    if (!isBinary) {
      refused = true;
      onText();
      ws.close(CloseCodes.UNSUPPORTED_DATA, 'MQTT over WebSocket needs binary frames');
      return;
    }
    for (const f of forwarders) f.call(ws, data, isBinary);
  });
}
