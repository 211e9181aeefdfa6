// The page a person opens at `/`: the room and an SSE view of the same channel, side by side.
import { readFileSync } from 'node:fs';
import type { Door } from '../transports/door.js';

// Read once at start-up; the file sits beside this module in src/ and is copied to dist/ by build.
const INDEX = readFileSync(new URL('./index.html', import.meta.url));

export const webDoor: Door = {
  name: 'web',
  register({ app }) {
    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(INDEX));
  },
};
