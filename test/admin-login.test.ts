// The admin password cannot be guessed at network speed: after a few quick guesses an address is
// told to wait (429, code 111), even the right password is refused meanwhile, and another address
// is not affected. A wrong password is the catalogue's 401 with its code.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';

let server: TestServer;
before(async () => {
  // A long interval: the test is about the count, and must not depend on how fast it runs.
  server = await startHerald({ adminPassword: 'correct horse', adminLoginInterval: 60_000 });
});
after(() => server.stop());

function login(
  password: string,
  localAddress: string,
): Promise<{ status: number; body: { error?: { code: number } } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.http}/admin/login`,
      { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify({ password }));
  });
}

test('five quick wrong guesses, then this address waits while another may still log in', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await login(`guess ${i}`, '127.0.0.5');
    assert.equal(r.status, 401);
    assert.equal(r.body.error?.code, 101);
  }
  const sixth = await login('correct horse', '127.0.0.5');
  assert.equal(sixth.status, 429);
  assert.equal(sixth.body.error?.code, 111);
  const elsewhere = await login('correct horse', '127.0.0.6');
  assert.equal(elsewhere.status, 200);
});
