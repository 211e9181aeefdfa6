// The seed's /echo: text M is answered "Echo: M", binary is answered with the same bytes.
// The answer is built as one ready frame from the received bytes (ws has already checked that text
// is valid UTF-8), so an echo costs one allocation and one socket write, and no string decoding.

import type { IncomingMessage } from 'node:http';
import { identifyUpgrade } from '../../auth/http-identity.js';
import { echoFrame } from '../../protocol/chat.js';
import { binaryFrame } from '../../protocol/ws-frame.js';
import { connectionId } from '../connection-id.js';
import type { Door } from '../door.js';
import { FrameTarget, writeFrame } from './frame-writer.js';
import { releaseReceiverSoon } from './idle-receiver.js';
import { createPlainServer } from './plain-server.js';

export const echoDoor: Door = {
  name: 'echo',
  register(ctx) {
    const { log, config } = ctx;
    const logInfo = log.isLevelEnabled('info');
    const max = config.maxBufferedBytes;
    // Echo touches no channel: it is open unless echoRequireToken asks for a valid token.
    const admit = config.echoRequireToken
      ? (req: IncomingMessage) => identifyUpgrade(ctx.tokens, req, config.allowedOrigins, true)
      : undefined;
    const counters = ctx.stats.door('echo');
    const answer = (target: FrameTarget, frame: Buffer, binary: boolean) => {
      if (writeFrame(target, frame, binary, max)) counters.sent(frame.length);
    };
    createPlainServer(
      ctx,
      counters,
      '/echo',
      (ws) => {
        const id = connectionId();
        const target = new FrameTarget(ws);
        ws.on('message', (data: Buffer, isBinary) => {
          counters.messagesIn++;
          releaseReceiverSoon(ws);
          if (isBinary) {
            answer(target, binaryFrame(data), true);
            return;
          }
          if (logInfo) log.info({ session: id, path: '/echo' }, `Received: ${data.toString('utf8')}`);
          answer(target, echoFrame(data), false);
        });
        ws.on('error', (err) =>
          log.warn({ session: id, path: '/echo', err: err.message }, 'echo session error'),
        );
      },
      undefined,
      admit,
    );
  },
};
