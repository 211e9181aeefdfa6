// Client JWTs as every door sees them (here through /poll, which answers at once with timeout=0):
// the key pins the algorithms, and every claim rule refuses with 401 and the catalogue body.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { startHerald, type TestServer } from './helpers/herald.js';
import { get } from './helpers/http.js';
import { runCli } from './helpers/process.js';
import { until } from './helpers/until.js';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const now = () => Math.floor(Date.now() / 1000);
/** Only signed-in users may read `members:` channels; everything else is closed. */
const POLICY = { defaultNamespace: {}, namespaces: { members: { allow_subscribe_for_client: true } } };

function sign(
  claims: Record<string, unknown>,
  key: Uint8Array | KeyObject,
  header: Record<string, unknown> = { alg: 'HS256' },
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}
const hmac = new TextEncoder().encode(SECRET);
const valid = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', exp: now() + 60, ...extra });

function readAs(server: TestServer, token?: string, channel = 'members:news') {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return get(`${server.http}/poll?channel=${channel}&timeout=0`, { headers });
}

function unsigned(claims: Record<string, unknown>): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

describe('client tokens with an HMAC secret', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({
      ...POLICY,
      tokenHmacSecret: SECRET,
      tokenAudience: 'herald',
      tokenIssuer: 'https://app.example',
      maxTokenInfoBytes: 64,
    });
  });
  after(() => server.stop());
  const good = (extra: Record<string, unknown> = {}) =>
    valid({ aud: 'herald', iss: 'https://app.example', ...extra });

  test('a valid token reads a members-only channel; no token is refused there (103)', async () => {
    assert.equal((await readAs(server, await sign(good(), hmac))).status, 200);
    for (const alg of ['HS384', 'HS512']) {
      assert.equal((await readAs(server, await sign(good(), hmac, { alg }))).status, 200, alg);
    }
    const anonymous = await readAs(server);
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.json.error.code, 103);
  });

  const refused: [string, () => Promise<string>, number?][] = [
    ['alg none', async () => unsigned(good())],
    ['an expired token', () => sign(good({ exp: now() - 10 }), hmac), 109],
    ['nbf in the future', () => sign(good({ nbf: now() + 3600 }), hmac)],
    ['the wrong audience', () => sign(good({ aud: 'someone-else' }), hmac)],
    ['the wrong issuer', () => sign(good({ iss: 'https://evil.example' }), hmac)],
    ['a sub that is not a string', () => sign(good({ sub: 42 }), hmac)],
    ['no exp', () => sign(good({ exp: undefined }), hmac)],
    ['an info claim over maxTokenInfoBytes', () => sign(good({ info: { bio: 'x'.repeat(100) } }), hmac)],
    ['another secret', () => sign(good(), new TextEncoder().encode('x'.repeat(40)))],
    ['a channels claim that is not a list of names', () => sign(good({ channels: 'members:x' }), hmac)],
  ];
  for (const [what, make, code] of refused) {
    test(`${what} is refused with 401 and the catalogue body`, async () => {
      const a = await readAs(server, await make());
      assert.equal(a.status, 401, a.text);
      assert.equal(a.json.error.code, code ?? 101);
    });
  }

  test('a malformed Authorization header is refused, not taken as anonymous', async () => {
    const a = await get(`${server.http}/poll?channel=members:news&timeout=0`, {
      headers: { authorization: 'Basic YWxpY2U6cHc=' },
    });
    assert.equal(a.status, 401);
    assert.equal(a.json.error.code, 101);
  });

  test('?token= is ignored unless allowTokenInQuery: URLs end up in logs', async () => {
    const token = await sign(good(), hmac);
    const a = await get(`${server.http}/poll?channel=members:news&timeout=0&token=${token}`);
    assert.equal(a.status, 403, 'the query token was not used');
    const b = await get(`${server.http}/poll?channel=members:news&timeout=0`, {
      headers: { cookie: `herald_token=${token}` },
    });
    assert.equal(b.status, 200, 'the cookie works from the same origin');
    const c = await get(`${server.http}/poll?channel=members:news&timeout=0`, {
      headers: { cookie: `herald_token=${token}`, origin: 'https://evil.example' },
    });
    assert.equal(c.status, 403, "another site's request does not get the user's cookie identity");
  });
});

describe('client tokens with a public key', () => {
  let server: TestServer;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-key-'));
    const file = join(dir, 'public.pem');
    writeFileSync(file, pem);
    server = await startHerald({ ...POLICY, tokenPublicKey: file });
  });
  after(() => server.stop());

  test('RS256 and PS256 tokens signed with the private key are accepted', async () => {
    for (const alg of ['RS256', 'PS256']) {
      assert.equal((await readAs(server, await sign(valid(), rsa.privateKey, { alg }))).status, 200, alg);
    }
  });

  test('HS256 signed with the public key PEM as the secret (key confusion) is refused', async () => {
    const forged = await sign(valid(), new TextEncoder().encode(pem));
    const a = await readAs(server, forged);
    assert.equal(a.status, 401);
    assert.equal(a.json.error.code, 101);
  });

  test('another family (ES256) and alg none are refused', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal((await readAs(server, await sign(valid(), ec.privateKey, { alg: 'ES256' }))).status, 401);
    assert.equal((await readAs(server, unsigned(valid()))).status, 401);
  });
});

describe('client tokens from a JWKS URL', () => {
  let server: TestServer;
  let jwks: Server;
  const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const k2 = generateKeyPairSync('ed25519');
  let published: object[] = [];
  let fetches = 0;
  before(async () => {
    published = [{ ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }];
    jwks = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    server = await startHerald({
      ...POLICY,
      tokenJwksUrl: `http://127.0.0.1:${port}/jwks.json`,
      tokenJwksCooldown: 200,
    });
  });
  after(async () => {
    await server.stop();
    await new Promise((resolve) => jwks.close(resolve));
  });

  test('tokens are verified by kid, the key set is cached, and a rotated key is picked up', async () => {
    const t1 = await sign(valid(), k1.privateKey, { alg: 'ES256', kid: 'k1' });
    assert.equal((await readAs(server, t1)).status, 200);
    assert.equal((await readAs(server, t1)).status, 200);
    assert.equal(fetches, 1, 'the key set is cached');

    // Rotation: the issuer now signs with k2 and publishes only k2.
    published = [{ ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'EdDSA', use: 'sig' }];
    const t2 = await sign(valid(), k2.privateKey, { alg: 'EdDSA', kid: 'k2' });
    await until(async () => (await readAs(server, t2)).status === 200, { what: 'the rotated key accepted' });
    const old = await readAs(server, t1);
    assert.equal(old.status, 401, 'a key no longer published is no longer trusted');
  });

  test('an HMAC token is refused even with a kid the set knows', async () => {
    const forged = await sign(valid(), new TextEncoder().encode(SECRET), { alg: 'HS256', kid: 'k2' });
    assert.equal((await readAs(server, forged)).status, 401);
  });
});

describe('token configuration', () => {
  test('an HMAC secret under 32 bytes stops the start with exit code 2, naming the option', async () => {
    const child = runCli(['serve', '--port', '0'], { HERALD_TOKEN_HMAC_SECRET: 'short-secret' });
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
    });
    child.stderr?.on('data', (d) => {
      text += d;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(text, /--token-hmac-secret \(HERALD_TOKEN_HMAC_SECRET\) must be at least 32 bytes/);
    assert.doesNotMatch(text, /short-secret/, 'the secret itself is never printed');
  });
});
