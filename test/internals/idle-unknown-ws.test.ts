// When ws's receiver or sender does not look as idle-receiver.ts / idle-sender.ts were written for
// (another ws version: here simulated by a field they do not know), both are kept for every
// connection, the connection works as before, and the process says so once with a warning an
// operator can see. Its own file: what ws looks like is learned once per process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasLiveReceiver, hasLiveSender } from '../../src/transports/ws/idle-receiver.js';
import { type IdleEchoServer, startIdleEchoServer } from '../helpers/idle-ws.js';
import { clientFrame } from '../helpers/raw.js';
import { until } from '../helpers/until.js';

const TEXT = 0x1;

describe('IdleWebSocket with a ws it does not know', () => {
  let srv: IdleEchoServer;
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'HERALD_WS_IDLE_KEPT') warnings.push(w.message);
  };

  before(async () => {
    process.on('warning', onWarning);
    srv = await startIdleEchoServer({
      onConnection(ws) {
        // What a newer ws might carry: a field the idle code has not checked.
        const w = ws as unknown as { _receiver: Record<string, unknown>; _sender: Record<string, unknown> };
        w._receiver._fieldOfANewerWs = 0;
        w._sender._fieldOfANewerWs = 0;
      },
    });
  });
  after(() => {
    process.off('warning', onWarning);
    srv.close();
  });

  test('receiver and sender are kept, the connection works, and the process warns once for each', async () => {
    const c = await srv.connect();
    await until(() => warnings.length === 2, { what: 'a warning for the receiver and one for the sender' });
    assert.match(warnings.join('\n'), /receiver/);
    assert.match(warnings.join('\n'), /sender/);
    assert.equal(hasLiveReceiver(c.server), true, 'the receiver is kept');
    assert.equal(hasLiveSender(c.server), true, 'the sender is kept');
    assert.equal(c.server.releaseReceiver(), false);

    c.socket.write(clientFrame(TEXT, Buffer.from('still here')));
    await until(() => c.frames().length === 1, { what: 'the echo' });
    assert.equal(c.frames()[0].payload.toString(), 'echo still here');

    // A second connection: kept as well, and no second warning.
    const other = await srv.connect();
    assert.equal(other.server.releaseReceiver(), false);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    assert.equal(warnings.length, 2);
    c.socket.destroy();
    other.socket.destroy();
  });
});
