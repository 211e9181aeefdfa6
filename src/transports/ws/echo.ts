// The seed's /echo: text M is answered "Echo: M", binary is answered with the same bytes.
import { randomUUID } from 'node:crypto';
import { echoText } from '../../protocol/chat.js';
import type { Door } from '../door.js';
import { createPlainServer, sendBounded } from './plain-server.js';

export const echoDoor: Door = {
  name: 'echo',
  register(ctx) {
    const { log, config } = ctx;
    createPlainServer(ctx, '/echo', (ws) => {
      const id = randomUUID();
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary) {
          sendBounded(ws, data, true, config);
          return;
        }
        const text = data.toString('utf8');
        log.info({ session: id, path: '/echo' }, `Received: ${text}`);
        sendBounded(ws, echoText(text), false, config);
      });
      ws.on('error', (err) =>
        log.warn({ session: id, path: '/echo', err: err.message }, 'echo session error'),
      );
    });
  },
};
