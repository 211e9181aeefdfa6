// The yardstick of the server API: a bare fastify route with fastify's own JSON body parser that
// answers every POST /api/publish with {"result":{}}. Herald's API publish is read against it.
import Fastify from 'fastify';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const app = Fastify({ logger: false });
app.post('/api/publish', async () => ({ result: {} }));
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => process.exit(0));
