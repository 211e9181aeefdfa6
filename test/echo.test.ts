import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { TestClient } from './helpers/ws.js';

describe('/echo', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('answers a text message with "Echo: " and the text', async () => {
    const c = await TestClient.open(`${server.ws}/echo`);
    c.send('hello, herald');
    assert.equal(await c.nextText(), 'Echo: hello, herald');
    c.send('ünïcødé ✓');
    assert.equal(await c.nextText(), 'Echo: ünïcødé ✓');
    await c.close();
  });

  test('answers a binary message with the same bytes, as binary', async () => {
    const c = await TestClient.open(`${server.ws}/echo`);
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
    c.send(bytes, true);
    const m = await c.next();
    assert.equal(m.binary, true);
    assert.deepEqual(m.data, bytes);
    await c.close();
  });
});
