// A connection token whose `sub` is not a string (a number, an object) carries a valid signature
// but no usable user: jose does not check sub's type. It used to connect, the object then showed up
// as the "user" in presence, and no refresh token could ever match it. Found by the fuzz suite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';

const SECRET = 'a-test-secret-that-is-long-enough';
const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

describe('a connection token with a non-string sub', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ tokenHmacSecret: SECRET });
  });
  after(() => server.stop());

  for (const sub of [42, { id: 'alice' }, ['alice']]) {
    test(`sub ${JSON.stringify(sub)} is refused with 3500 invalid token`, async () => {
      const c = await RawClient.open(server.ws);
      c.send({ id: 1, connect: { token: await sign({ sub }) } });
      const outcome = await Promise.race([
        c.closed,
        c.next().then(
          (reply) => ({ code: 0, reason: `answered ${JSON.stringify(reply)}` }),
          () => ({ code: -1, reason: 'no reply' }),
        ),
      ]);
      const closed = outcome.code === 0 ? outcome : await c.closed;
      assert.equal(closed.code, 3500, closed.reason);
      assert.equal(closed.reason, 'invalid token');
    });
  }

  test('the same token with a string sub connects as that user', async () => {
    const c = await RawClient.open(server.ws);
    c.send({ id: 1, connect: { token: await sign({ sub: 'alice' }) } });
    const reply = await c.next();
    assert.ok(reply.connect, JSON.stringify(reply));
    await c.close();
  });
});
