// The yardstick: the plainest fast Node WebSocket server, a bare `ws` server on node:http. /chat
// answers a connection with a welcome and broadcasts each text message as "Broadcast: M" to every
// other socket by looping over them and calling send() with the same string; /echo answers
// "Echo: M". Every Herald figure in the benchmark is a ratio to this server measured in the same run.
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const host = '127.0.0.1';

const server = createServer((_req, res) => {
  res.writeHead(404).end();
});
const chat = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  const path = (req.url ?? '/').split('?', 1)[0];
  const wss = path === '/chat' ? chat : path === '/echo' ? echo : undefined;
  if (!wss) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

chat.on('connection', (ws) => {
  ws.send('Welcome to broadcast chat!');
  ws.on('message', (data: Buffer, isBinary) => {
    const out = isBinary ? data : `Broadcast: ${data.toString('utf8')}`;
    for (const other of chat.clients) {
      if (other !== ws && other.readyState === WebSocket.OPEN) other.send(out, { binary: isBinary });
    }
  });
  ws.on('error', () => {});
});

echo.on('connection', (ws) => {
  ws.on('message', (data: Buffer, isBinary) => {
    ws.send(isBinary ? data : `Echo: ${data.toString('utf8')}`, { binary: isBinary });
  });
  ws.on('error', () => {});
});

server.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
