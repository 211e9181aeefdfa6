// Routes every deployment has: health, and plain-HTTP answers on the WebSocket-only paths.
import type { Door } from './door.js';

export const httpBasicsDoor: Door = {
  name: 'http-basics',
  register({ app }) {
    app.get('/healthz', async () => ({ status: 'ok' }));
    for (const path of ['/echo', '/chat']) {
      app.get(path, async (_req, reply) => {
        reply
          .code(426)
          .header('Upgrade', 'websocket')
          .header('Connection', 'Upgrade')
          .type('text/plain')
          .send(`Upgrade Required: ${path} is a WebSocket endpoint; connect with ws://host:port${path}\n`);
      });
    }
  },
};
