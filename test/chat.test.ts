import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const WELCOME = 'Welcome to broadcast chat!';

async function joinChat(server: TestServer): Promise<TestClient> {
  const c = await TestClient.open(`${server.ws}/chat`);
  assert.equal(await c.nextText(), WELCOME);
  return c;
}

/** Waits until the hub counts this many subscribers of `chat` (subscribing is asynchronous). */
async function settled(server: TestServer, subs: number): Promise<void> {
  await until(() => server.herald.hub.localSubscribers('chat') === subs, {
    what: `${subs} subscriptions of chat`,
    timeoutMs: 2000,
    detail: () => `${server.herald.hub.localSubscribers('chat')} subscriptions`,
  });
}

describe('/chat broadcast room', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('greets a new client with the welcome message', async () => {
    const c = await TestClient.open(`${server.ws}/chat`);
    assert.equal(await c.nextText(), WELCOME);
    await c.close();
  });

  test('a text message reaches the two other clients as "Broadcast: M", never the sender', async () => {
    const [a, b, c] = [await joinChat(server), await joinChat(server), await joinChat(server)];
    await settled(server, 3);
    a.send('hello room');
    assert.equal(await b.nextText(), 'Broadcast: hello room');
    assert.equal(await c.nextText(), 'Broadcast: hello room');
    // The room is one ordered stream: an echo of a's message would reach a before b's later one.
    b.send('marker');
    assert.equal(await a.nextText(), 'Broadcast: marker', 'the sender must not get its own message back');
    assert.equal(await c.nextText(), 'Broadcast: marker');
    await Promise.all([a.close(), b.close(), c.close()]);
    await settled(server, 0);
  });

  test('binary messages are broadcast as binary, unchanged', async () => {
    const [a, b] = [await joinChat(server), await joinChat(server)];
    await settled(server, 2);
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0xff]);
    a.send(bytes, true);
    const m = await b.next();
    assert.equal(m.binary, true);
    assert.deepEqual(m.data, bytes);
    await Promise.all([a.close(), b.close()]);
    await settled(server, 0);
  });

  test('a client that left is no longer sent broadcasts', async () => {
    const [a, b, c] = [await joinChat(server), await joinChat(server), await joinChat(server)];
    await settled(server, 3);
    await c.close();
    await settled(server, 2);
    a.send('after c left');
    assert.equal(await b.nextText(), 'Broadcast: after c left');
    assert.equal(server.herald.hub.localStats().numClients, 2);
    await Promise.all([a.close(), b.close()]);
    await settled(server, 0);
  });

  test('a publication made through the hub reaches every /chat client', async () => {
    const [a, b] = [await joinChat(server), await joinChat(server)];
    await settled(server, 2);
    await server.herald.hub.publish('chat', { data: 'from the server' });
    assert.equal(await a.nextText(), 'Broadcast: from the server');
    assert.equal(await b.nextText(), 'Broadcast: from the server');
    await server.herald.hub.publish('chat', { data: { json: true } });
    assert.equal(await a.nextText(), 'Broadcast: {"json":true}');
    await Promise.all([a.close(), b.close()]);
    await settled(server, 0);
  });

  test('room messages are publications on channel "chat" with increasing offsets', async () => {
    const [a, b] = [await joinChat(server), await joinChat(server)];
    await settled(server, 2);
    const before = (await server.herald.hub.history('chat', { limit: 0 })).position.offset;
    a.send('one');
    a.send('two');
    assert.equal(await b.nextText(), 'Broadcast: one');
    assert.equal(await b.nextText(), 'Broadcast: two');
    const all = await server.herald.hub.history('chat', {});
    const mine = all.publications.filter((p) => p.offset > before);
    assert.deepEqual(
      mine.map((p) => [p.offset, p.data]),
      [
        [before + 1, 'one'],
        [before + 2, 'two'],
      ],
    );
    await Promise.all([a.close(), b.close()]);
    await settled(server, 0);
  });
});
