// A plain `publish` ({channel, data}) skips the params schema (src/api/request.ts); every other
// shape goes through it. A backend must not be able to tell: the same answer or error, and the same
// publication in history, as the schema path gives. A batch command always takes the schema path,
// so each body is sent both ways and the two answers compared.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

describe('server API: publish without the schema answers as with it', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxPayloadDepth: 8 });
  });
  after(() => server.stop());

  const bodies: [string, string][] = [
    ['object data', '{"channel":"pp:a","data":{"n":1,"s":"é"}}'],
    ['null data', '{"channel":"pp:a","data":null}'],
    ['extra keys are dropped', '{"channel":"pp:a","data":"text","extra":{"x":1}}'],
    ['b64data alone', '{"channel":"pp:a","b64data":"aGk="}'],
    ['b64data wins over data', '{"channel":"pp:a","data":1,"b64data":"aGk="}'],
    ['b64data not a string', '{"channel":"pp:a","data":1,"b64data":5}'],
    ['b64data not base64', '{"channel":"pp:a","b64data":"***"}'],
    ['no data', '{"channel":"pp:a"}'],
    ['channel not a string', '{"channel":5,"data":1}'],
    ['no channel', '{"data":1}'],
    ['channel only in __proto__', '{"__proto__":{"channel":"pp:a"},"data":1}'],
    ['bad channel name', '{"channel":"bad#name","data":1}'],
    ['too deep', JSON.stringify({ channel: 'pp:a', data: nested(20) })],
    ['empty channel', '{"channel":"","data":1}'],
  ];

  test('the same result or error as the schema path, and the same publications', async () => {
    for (const [what, body] of bodies) {
      const direct = await api(server.http, 'publish', body);
      const viaBatch = await api(server.http, 'batch', `{"commands":[{"publish":${body}}]}`);
      assert.equal(direct.status, 200, what);
      assert.equal(viaBatch.status, 200, what);
      const reply = viaBatch.json.replies[0];
      if (reply.error !== undefined) {
        assert.deepEqual(direct.json, { error: reply.error }, what);
      } else {
        assert.equal(direct.json.error, undefined, `${what}: ${direct.text}`);
        assert.equal(direct.json.result.epoch, reply.publish.epoch, what);
        // The direct one went first: the next offset is the batch's.
        assert.equal(direct.json.result.offset + 1, reply.publish.offset, what);
        assert.deepEqual(Object.keys(direct.json.result).sort(), ['epoch', 'offset'], what);
      }
    }
    const h = await api(server.http, 'history', { channel: 'pp:a', limit: -1 });
    const data = h.json.result.publications.map((p: { data: unknown }) => JSON.stringify(p.data));
    assert.equal(data.length % 2, 0, 'every accepted body was published by both paths');
    for (let i = 0; i < data.length; i += 2) assert.equal(data[i], data[i + 1], `publication pair ${i / 2}`);
    assert.deepEqual(
      data.filter((_: string, i: number) => i % 2 === 0),
      ['{"n":1,"s":"é"}', 'null', '"text"', '"hi"', '"hi"'],
    );
  });

  test('a refused publish leaves the server serving the next one', async () => {
    const bad = await api(server.http, 'publish', JSON.stringify({ channel: 'pp:b', data: nested(50) }));
    assert.equal(bad.json.error.code, 107);
    const good = await api(server.http, 'publish', { channel: 'pp:b', data: 1 });
    assert.equal(good.json.result.offset, 1);
  });
});
