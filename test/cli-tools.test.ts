// `herald --version`, `--help` per command, an unknown command, gentoken, genconfig and checkconfig,
// each run as a real process; the token and the generated file are tried against a real server.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { herald } from './helpers/cli.js';
import { startHerald } from './helpers/herald.js';
import { startHeraldProcess } from './helpers/process.js';
import { TestClient } from './helpers/ws.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!';
const tempDir = () => mkdtempSync(join(tmpdir(), 'herald-cli-'));

describe('herald --version, --help, unknown commands', () => {
  test('--version prints the package version', async () => {
    const r = await herald(['--version']);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('--help and -h on each command show that command, exit 0', async () => {
    for (const [command, first] of [
      ['publish', /^herald publish <channel> \[data\]/],
      ['subscribe', /^herald subscribe <channel>\.\.\. \[--since offset:epoch\]/],
      ['gentoken', /^herald gentoken --user ID/],
      ['checkconfig', /^herald checkconfig <file>/],
    ] as const) {
      for (const flag of ['--help', '-h']) {
        const r = await herald([command, flag]);
        assert.equal(r.code, 0, `${command} ${flag}`);
        assert.match(r.stdout, first);
      }
    }
    const serve = await herald(['serve', '-h']);
    assert.equal(serve.code, 0);
    assert.match(serve.stdout, /--port\s+HERALD_PORT/);
  });

  test('an unknown command is named as such, with the closest one, exit 2', async () => {
    const r = await herald(['pubish', 'news', 'hi']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      'herald: unknown command "pubish"; did you mean "publish"? (see herald --help)',
    );
  });
});

describe('herald gentoken', () => {
  test('prints a token the server accepts for that user', async () => {
    const server = await startHerald({ tokenHmacSecret: SECRET, echoRequireToken: true });
    try {
      const r = await herald(['gentoken', '--user', 'ada', '--ttl', '1h'], {
        env: { HERALD_TOKEN_HMAC_SECRET: SECRET },
      });
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      assert.equal(claims.sub, 'ada');
      assert.equal(claims.exp - claims.iat, 3600);
      const echo = await TestClient.open(`${server.ws}/echo`, {
        headers: { authorization: `Bearer ${token}` },
      });
      echo.send('signed');
      assert.equal(await echo.nextText(), 'Echo: signed');
      await echo.close();
      // The same server refuses a token signed with another secret.
      const other = await herald(['gentoken', '--user', 'ada'], {
        env: { HERALD_TOKEN_HMAC_SECRET: `${SECRET}-other` },
      });
      await assert.rejects(
        TestClient.open(`${server.ws}/echo`, { headers: { authorization: `Bearer ${other.stdout.trim()}` } }),
      );
    } finally {
      await server.stop();
    }
  });

  test('reads the secret from --config like the server', async () => {
    const file = join(tempDir(), 'herald.json');
    writeFileSync(file, JSON.stringify({ tokenHmacSecret: SECRET }));
    const r = await herald(['gentoken', '--user', 'bob', '--ttl', '0', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    const claims = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.exp, undefined, '--ttl 0 never expires');
  });

  test('bad arguments exit 2 and say what to fix', async () => {
    const env = { HERALD_TOKEN_HMAC_SECRET: SECRET };
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['gentoken'], env, /needs --user ID/],
      [
        ['gentoken', '--user', 'a', '--ttl', 'soon'],
        env,
        /--ttl "soon" is not a duration; give e\.g\. 30m, 1h or 7d/,
      ],
      [['gentoken', '--user', 'a', '--info', '{nope'], env, /--info must be JSON/],
      [['gentoken', '--user', 'a', '--usr', 'b'], env, /Unknown option '--usr'/],
      [
        ['gentoken', '--user', 'a'],
        { HERALD_TOKEN_HMAC_SECRET: '' },
        /no token key is configured: set HERALD_TOKEN_HMAC_SECRET/,
      ],
      [['gentoken', '--user', 'a'], { HERALD_TOKEN_HMAC_SECRET: 'short' }, /must be at least 32 bytes/],
    ];
    for (const [args, e, message] of cases) {
      const r = await herald(args, { env: e });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});

describe('herald genconfig and checkconfig', () => {
  test('the generated file is commented, passes checkconfig and starts a server', async () => {
    const file = join(tempDir(), 'herald.json');
    const gen = await herald(['genconfig', '--output', file]);
    assert.equal(gen.code, 0, gen.stderr);
    const text = readFileSync(file, 'utf8');
    assert.match(
      text,
      /\/\/ TCP port for HTTP, WebSocket, SSE and polling .*\(HERALD_PORT\)\n {2}"port": 8080,/,
    );
    assert.match(text, /"historyTtl": "5m"/);
    const check = await herald(['checkconfig', file]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout.trim(), `ok: ${file}`);
    const p = await startHeraldProcess(['--config', file]);
    try {
      assert.equal((await fetch(`${p.http}/healthz`)).status, 200);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    const again = await herald(['genconfig', '--output', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; remove it or give another --output/);
  });

  test('checkconfig reports every problem of a file, exit 2', async () => {
    const file = join(tempDir(), 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ histroySize: 5, port: 'http', channelOptions: { 'a:': { joinLeve: true } } }),
    );
    const r = await herald(['checkconfig', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option "histroySize"; did you mean "historySize"\?/);
    assert.match(r.stderr, /config file "port": "http" is invalid: expected a port number from 0 to 65535/);
    assert.match(r.stderr, /unknown key "joinLeve" \(did you mean "joinLeave"\?\)/);
    const none = await herald(['checkconfig']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs one file/);
    const missing = await herald(['checkconfig', join(tempDir(), 'absent.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*absent\.json/);
  });
});
