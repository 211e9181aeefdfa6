// The pure codec of the WebSocket channel protocol, and the encode-once fan-out.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeraldError } from '../src/errors.js';
import type { Publication } from '../src/model/index.js';
import { decodeFrame } from '../src/protocol/centrifuge/commands.js';
import {
  centrifugeJsonFormat,
  encodeError,
  encodeJoinPush,
  encodePublicationPush,
  encodeResult,
  wirePublication,
} from '../src/protocol/centrifuge/replies.js';
import { framePayload } from '../src/protocol/ws-frame.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald } from './helpers/herald.js';

const badRequest = (err: unknown) => err instanceof HeraldError && err.code === 107;

describe('centrifuge codec: decoding', () => {
  test('a frame of newline-separated commands, unknown fields ignored', () => {
    const cmds = decodeFrame(
      '{"id":1,"connect":{"token":"t","name":"js","x":1}}\n{"id":2,"subscribe":{"channel":"a","recover":true,"epoch":"e","offset":7,"join_leave":true,"flag":1}}\n',
    );
    assert.deepEqual(cmds[0], {
      id: 1,
      method: 'connect',
      params: { token: 't', data: undefined, name: 'js', version: undefined },
    });
    assert.deepEqual(cmds[1], {
      id: 2,
      method: 'subscribe',
      params: {
        channel: 'a',
        token: undefined,
        delta: undefined,
        recover: true,
        epoch: 'e',
        offset: 7,
        positioned: false,
        recoverable: false,
        joinLeave: true,
      },
    });
  });

  test('an empty object is a pong, a send has no id, an unknown method keeps its id', () => {
    assert.deepEqual(decodeFrame('{}'), [{ id: 0, method: 'pong', params: {} }]);
    assert.deepEqual(decodeFrame('{"send":{"data":{"a":1}}}'), [
      { id: 0, method: 'send', params: { data: { a: 1 } } },
    ]);
    assert.deepEqual(decodeFrame('{"id":9,"frobnicate":{}}'), [{ id: 9, method: 'unknown', params: {} }]);
  });

  test('offsets given as decimal strings are accepted', () => {
    const [c] = decodeFrame('{"id":1,"subscribe":{"channel":"a","recover":true,"offset":"42"}}');
    assert.equal(c.method === 'subscribe' && c.params.offset, 42);
  });

  test('history limit: absent means position only, negative means all', () => {
    const [a] = decodeFrame('{"id":1,"history":{"channel":"a"}}');
    const [b] = decodeFrame('{"id":1,"history":{"channel":"a","limit":-1,"since":{"offset":3,"epoch":"e"}}}');
    assert.equal(a.method === 'history' && a.params.limit, 0);
    assert.ok(b.method === 'history');
    assert.equal(b.params.limit, undefined);
    assert.deepEqual(b.params.since, { offset: 3, epoch: 'e' });
  });

  test('malformed input is a bad request', () => {
    for (const bad of [
      'not json',
      '',
      '\n',
      '[1,2]',
      '"text"',
      '{"id":-1,"connect":{}}',
      '{"id":1.5,"connect":{}}',
      '{"id":1,"connect":[]}',
      '{"id":1,"connect":{"token":5}}',
      '{"connect":{}}',
      '{"id":1,"subscribe":{}}',
      '{"id":1,"subscribe":{"channel":"a","recover":"yes"}}',
      '{"id":1,"subscribe":{"channel":"a","offset":-3}}',
      '{"id":1,"publish":{"channel":"a"}}',
      '{"id":1,"history":{"channel":"a","limit":"ten"}}',
      '{"id":1,"connect":{}}\n{oops',
      `{"id":${2 ** 32},"connect":{}}`,
    ]) {
      assert.throws(() => decodeFrame(bad), badRequest, `should refuse ${JSON.stringify(bad)}`);
    }
  });
});

describe('centrifuge codec: encoding', () => {
  const pub = {
    channel: 'news',
    offset: 3,
    epoch: 'ep',
    data: { text: 'two\nlines', n: 1 },
    info: { client: 'c1', user: 'u1', transport: 'websocket', connInfo: { a: 1 } },
    time: 1700000000000,
  };

  test('a publication push embeds data and info as raw JSON, on one line', () => {
    const frame = encodePublicationPush(pub);
    assert.ok(!frame.includes('\n'));
    assert.deepEqual(JSON.parse(frame), {
      push: {
        channel: 'news',
        pub: {
          data: { text: 'two\nlines', n: 1 },
          offset: 3,
          info: { client: 'c1', user: 'u1', conn_info: { a: 1 } },
          time: 1700000000000,
        },
      },
    });
  });

  test('a publication push is byte for byte what stringifying the wire objects gives', () => {
    // The push is written out by hand for speed: it must not differ from the object form in any case.
    const wire = (p: Publication) =>
      JSON.stringify({ push: { channel: p.channel, pub: wirePublication(p) } });
    const base: Publication = { channel: 'chat:1', offset: 7, epoch: 'e', data: 'hi', time: 1 };
    const cases: Publication[] = [
      base,
      pub,
      { ...base, data: undefined },
      { ...base, data: null },
      { ...base, data: [1, { a: '"\u2028\n' }], channel: 'we"ird\\chan' },
      { ...base, info: { client: 'c', user: '' } },
      { ...base, info: { client: 'c', user: 'u', connInfo: { x: 1 }, chanInfo: [2] } },
      { ...base, info: { client: 'c', user: 'u', connInfo: undefined, chanInfo: 'ci' } },
      { ...base, info: { client: 'c', user: 'u', connInfo: () => 1 } as never },
      { ...base, data: () => 1 },
      { ...base, data: { toJSON: () => 'custom' } },
      { ...base, bytes: new Uint8Array([104, 105]), binary: true, qos: 1, retain: true },
    ];
    for (const c of cases) assert.equal(encodePublicationPush(c), wire(c));
  });

  test('publishers taking turns each get their own info in the push, whatever came before', () => {
    // The client/user part of the info is remembered from one push to the next (a publisher
    // publishes many times): it must follow the info, never show the previous publisher.
    const wire = (p: Publication) =>
      JSON.stringify({ push: { channel: p.channel, pub: wirePublication(p) } });
    const base: Publication = { channel: 'c', offset: 1, epoch: 'e', data: 1, time: 1 };
    const infos = [
      { client: 'a', user: 'u' },
      { client: 'a', user: 'u' },
      { client: 'a', user: 'v' },
      { client: 'b', user: 'v' },
      { client: '', user: '' },
      { client: 'a', user: 'v', connInfo: { x: 1 } },
      { client: 1, user: 'v' } as never,
      { client: 'a', user: 'v' },
      { client: 'a', user: null } as never,
      { client: 'a', user: 'v' },
      { client: 'q"\u2028', user: '\n' },
    ];
    for (const info of [...infos, ...infos.reverse()]) {
      const p = { ...base, info };
      assert.equal(encodePublicationPush(p), wire(p), JSON.stringify(info));
    }
  });

  test('replies echo the id; errors carry code, message and temporary', () => {
    assert.deepEqual(JSON.parse(encodeResult(4, 'publish', {})), { id: 4, publish: {} });
    assert.deepEqual(JSON.parse(encodeError(5, new HeraldError('ENGINE_UNAVAILABLE'))), {
      id: 5,
      error: { code: 150, message: 'engine unavailable, retry later', temporary: true },
    });
    assert.deepEqual(JSON.parse(encodeJoinPush('room', { client: 'c', user: 'u' })), {
      push: { channel: 'room', join: { info: { client: 'c', user: 'u' } } },
    });
  });
});

describe('centrifuge fan-out', () => {
  test('a publication is encoded once and the same frame reaches every subscriber', async () => {
    const server = await startHerald();
    const clients: RawClient[] = [];
    const original = centrifugeJsonFormat.encode;
    let calls = 0;
    (centrifugeJsonFormat as { encode: typeof original }).encode = (p) => {
      calls++;
      return original(p);
    };
    try {
      for (let i = 0; i < 5; i++) {
        const c = await RawClient.open(server.ws);
        await c.connect();
        c.send({ id: 2, subscribe: { channel: 'fan' } });
        assert.deepEqual(await c.next(), { id: 2, subscribe: {} });
        clients.push(c);
      }
      const p = await server.herald.hub.publish('fan', { data: [1, 2, 3] });
      const frames = await Promise.all(clients.map((c) => c.t.nextText()));
      assert.equal(calls, 1);
      for (const f of frames) assert.equal(f, framePayload(original(p)).toString('utf8'));
    } finally {
      (centrifugeJsonFormat as { encode: typeof original }).encode = original;
      for (const c of clients) await c.close();
      await server.stop();
    }
  });
});
