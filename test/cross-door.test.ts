import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, poll } from './helpers/http.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

describe('one publication, every door', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('an API publication reaches SSE, a long poller, a short poller and /chat with one offset and epoch', async () => {
    const sse = new SseClient(`${server.http}/sse?channel=chat`);
    await sse.next('ready');
    const chat = await TestClient.open(`${server.ws}/chat`);
    assert.equal(await chat.nextText(), 'Welcome to broadcast chat!');
    const shortStart = await poll(server.http, ['chat'], { timeout: 0 });
    const longPoll = poll(server.http, ['chat'], { timeout: 5 });
    // SSE + chat + the held poll.
    await until(() => server.herald.hub.localSubscribers('chat') === 3, {
      what: 'long poll held',
      timeoutMs: 3000,
    });

    const published = await api(server.http, 'publish', { channel: 'chat', data: 'hello, every door' });
    const { offset, epoch } = published.json.result;

    const [fromSse] = await sse.messages(1);
    assert.deepEqual(
      [fromSse.channel, fromSse.offset, fromSse.epoch, fromSse.data],
      ['chat', offset, epoch, 'hello, every door'],
    );

    const fromLong = (await longPoll).json.publications;
    assert.equal(fromLong.length, 1);
    assert.deepEqual(
      [fromLong[0].offset, fromLong[0].epoch, fromLong[0].data],
      [offset, epoch, 'hello, every door'],
    );

    const fromShort = (await poll(server.http, ['chat'], { timeout: 0, cursor: shortStart.json.cursor })).json
      .publications;
    assert.equal(fromShort.length, 1);
    assert.deepEqual(
      [fromShort[0].offset, fromShort[0].epoch, fromShort[0].data],
      [offset, epoch, 'hello, every door'],
    );

    assert.equal(await chat.nextText(), 'Broadcast: hello, every door');
    // The /chat room's own messages reach the other doors, on the same stream.
    chat.send('from the room');
    const [roomMsg] = await sse.messages(1);
    assert.deepEqual([roomMsg.offset, roomMsg.epoch, roomMsg.data], [offset + 1, epoch, 'from the room']);
    sse.close();
    await chat.close();
  });
});
