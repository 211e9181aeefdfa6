// The demo page a person opens at `/`, its scripts and styles, the browser builds of the client
// libraries it uses, and the favicon. Everything is read once at start-up.
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Door } from '../transports/door.js';
import { vendorFiles } from './vendor.js';

// The folder sits beside this module in src/ and is copied to dist/ by the build.
const STATIC_DIR = new URL('./static/', import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function readStatic(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(STATIC_DIR)) {
    if (TYPES[extname(name)]) files.set(name, readFileSync(new URL(name, STATIC_DIR)));
  }
  return files;
}

export const webDoor: Door = {
  name: 'web',
  register({ app, config }) {
    const files = readStatic();
    const vendor = vendorFiles();
    const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
      reply.type(TYPES[extname(name)]).header('cache-control', 'no-cache').send(files.get(name));

    app.get('/', send('index.html'));
    // Browsers ask for it on every page; an SVG icon answers (Chromium and Firefox accept it).
    app.get('/favicon.ico', send('favicon.svg'));
    app.get('/static/:file', async (req, reply) => {
      const { file } = req.params as { file: string };
      if (!files.has(file)) return reply.callNotFound();
      return send(file)(req, reply);
    });
    app.get('/vendor/:file', async (req, reply) => {
      const found = vendor.get((req.params as { file: string }).file);
      if (!found) return reply.callNotFound();
      if (!found.body) return reply.code(503).type('text/plain').send(`${found.problem}\n`);
      return reply.type(TYPES['.js']).header('cache-control', 'max-age=3600').send(found.body);
    });
    // What the page needs to know about this server; channel names stay configurable.
    app.get('/demo/config.json', async () => ({
      room: 'chat',
      onlineChannel: config.demoOnlineChannel,
      explorerChannel: config.demoChannel,
    }));
  },
};
