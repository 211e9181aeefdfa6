import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, envName, flagName, optionNames, optionSpecs, resolveConfig } from '../../src/config.js';

describe('config', () => {
  test('every option has a default that passes its own schema, and a description', () => {
    for (const name of optionNames) {
      const spec = optionSpecs[name];
      assert.ok(spec.describe.length > 10, `${name} needs a description`);
      assert.ok(spec.schema.safeParse(spec.default).success, `${name}'s default is invalid`);
    }
  });

  test('defaults match the documented contract', () => {
    const c = resolveConfig();
    assert.equal(c.port, 8080);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.maxMessageSize, 64 * 1024);
    assert.deepEqual(c.allowedOrigins, []);
  });

  test('names derive flags and variables', () => {
    assert.equal(flagName('maxMessageSize'), '--max-message-size');
    assert.equal(envName('maxMessageSize'), 'HERALD_MAX_MESSAGE_SIZE');
  });

  test('precedence: flags > environment > file > defaults', () => {
    const c = resolveConfig({
      file: { port: 1, host: '127.0.0.3', logLevel: 'warn' },
      env: { HERALD_PORT: '2', HERALD_HOST: '127.0.0.2' },
      flags: { port: '3' },
    });
    assert.equal(c.port, 3);
    assert.equal(c.host, '127.0.0.2');
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.historySize, 100);
  });

  test('strings from env and flags are coerced: numbers, booleans, lists, JSON', () => {
    const c = resolveConfig({
      env: {
        HERALD_MQTT_ALLOW_ANONYMOUS: 'false',
        HERALD_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
        HERALD_CHANNEL_OPTIONS: '{"news:":{"historySize":1000}}',
      },
    });
    assert.equal(c.mqttAllowAnonymous, false);
    assert.deepEqual(c.allowedOrigins, ['https://a.example', 'https://b.example']);
    assert.deepEqual(c.channelOptions, { 'news:': { historySize: 1000 } });
  });

  test('every bad value is reported at once, naming where it came from; secrets are not echoed', () => {
    assert.throws(
      () =>
        resolveConfig({
          flags: { port: '70000' },
          env: { HERALD_LOG_LEVEL: 'loud', HERALD_MQTT_USERS: 'not json' },
          file: { nope: 1 },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /--port: "70000" is invalid/);
        assert.match(err.message, /HERALD_LOG_LEVEL: "loud" is invalid/);
        assert.match(err.message, /config file: unknown option "nope"/);
        assert.match(err.message, /HERALD_MQTT_USERS: \(hidden\)/);
        assert.doesNotMatch(err.message, /not json/);
        return true;
      },
    );
  });
});

describe('durations', () => {
  /** Every duration option and the unit a plain number is in (as before durations had suffixes). */
  const durations = optionNames.flatMap((n) => {
    const unit = (optionSpecs[n] as { unit?: 'ms' | 's' }).unit;
    return unit ? [[n, unit] as const] : [];
  });

  test('the options that are durations say so, each in the unit its plain numbers always had', () => {
    assert.deepEqual(Object.fromEntries(durations), {
      shutdownTimeout: 'ms',
      shutdownDeadline: 'ms',
      headersTimeout: 'ms',
      requestTimeout: 'ms',
      keepAliveTimeout: 'ms',
      connectionTimeout: 'ms',
      tlsHandshakeTimeout: 'ms',
      heartbeatInterval: 'ms',
      redisMetaTtl: 's',
      redisCommandTimeout: 'ms',
      historyTtl: 's',
      presenceTtl: 's',
      sseHeartbeat: 's',
      sseRetry: 'ms',
      writeDelay: 'ms',
      pollTimeout: 's',
      pollMaxTimeout: 's',
      clientPing: 's',
      clientPongTimeout: 's',
      clientConnectTimeout: 's',
      mqttConnectTimeout: 'ms',
      mqttDeliveryLinger: 'ms',
      mqttReapInterval: 'ms',
      tokenJwksCooldown: 'ms',
      adminSessionTtl: 's',
      adminLoginInterval: 'ms',
    });
  });

  test('"250ms", "30s", "5m", "1h" become the same number a plain value in the old unit gives', () => {
    const c = resolveConfig({
      flags: { sseRetry: '250ms', historyTtl: '5m', clientPing: '30s' },
      env: { HERALD_SHUTDOWN_TIMEOUT: '1h', HERALD_SHUTDOWN_DEADLINE: '2h', HERALD_PRESENCE_TTL: '2m' },
      file: { redisMetaTtl: '30d', heartbeatInterval: '1.5s', pollMaxTimeout: 40 },
    });
    assert.equal(c.sseRetry, 250);
    assert.equal(c.historyTtl, 300);
    assert.equal(c.clientPing, 30);
    assert.equal(c.shutdownTimeout, 3_600_000);
    assert.equal(c.shutdownDeadline, 7_200_000);
    assert.equal(c.presenceTtl, 120);
    assert.equal(c.redisMetaTtl, 30 * 24 * 3600);
    assert.equal(c.heartbeatInterval, 1500);
    assert.equal(c.pollMaxTimeout, 40);
  });

  test('plain numbers keep their old unit, from every source', () => {
    const c = resolveConfig({
      flags: { historyTtl: '300' },
      env: { HERALD_SSE_RETRY: '2000' },
      file: { clientPing: 25, shutdownTimeout: 10000 },
    });
    assert.equal(c.historyTtl, 300);
    assert.equal(c.sseRetry, 2000);
    assert.equal(c.clientPing, 25);
    assert.equal(c.shutdownTimeout, 10000);
  });

  test('every duration option takes every suffix it can hold whole', () => {
    for (const [name, unit] of durations) {
      for (const [text, ms] of [
        ['1s', 1000],
        ['5m', 300_000],
        ['1h', 3_600_000],
      ] as const) {
        // Pairs that must keep their order (see the cross-checks) get a partner that allows the value.
        const partner = {
          shutdownTimeout: { shutdownDeadline: '2h' },
          shutdownDeadline: { shutdownTimeout: '500ms' },
          headersTimeout: { requestTimeout: '2h' },
          requestTimeout: { headersTimeout: '500ms' },
          connectionTimeout: { pollMaxTimeout: '1s', sseHeartbeat: '1s' },
        }[name as string];
        // connectionTimeout must be longer than a held poll, which is at least 1 s.
        if (name === 'connectionTimeout' && ms <= 1000) continue;
        const c = resolveConfig({ flags: { [name]: text, ...partner } });
        assert.equal(c[name], unit === 'ms' ? ms : ms / 1000, `${name} = ${text}`);
      }
    }
  });

  test('0 means "off" only where it did before', () => {
    assert.equal(resolveConfig({ flags: { historyTtl: '0s' } }).historyTtl, 0);
    assert.equal(resolveConfig({ flags: { pollTimeout: '0' } }).pollTimeout, 0);
    assert.throws(() => resolveConfig({ flags: { clientPing: '0s' } }), ConfigError);
  });

  test('a value that is not a whole number of the unit, or not a duration, is refused clearly', () => {
    assert.throws(
      () =>
        resolveConfig({
          flags: { historyTtl: '250ms', clientPing: '5 minutes', sseRetry: '-1s' },
          env: { HERALD_PRESENCE_TTL: '1.5' },
          file: { heartbeatInterval: '1w' },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /--history-ttl: "250ms" is invalid: must be a whole number of seconds/);
        assert.match(
          err.message,
          /--client-ping: "5 minutes" is invalid: expected a duration such as 250ms, 30s/,
        );
        assert.match(err.message, /--sse-retry: "-1s" is invalid/);
        assert.match(err.message, /HERALD_PRESENCE_TTL: "1.5" is invalid: must be a whole number of seconds/);
        assert.match(err.message, /config file "heartbeatInterval": "1w" is invalid/);
        return true;
      },
    );
  });

  test('timer-driven durations stop at what Node timers can hold (about 24.8 days)', () => {
    assert.throws(
      () => resolveConfig({ flags: { pollMaxTimeout: '30d' } }),
      /pollMaxTimeout|poll-max-timeout/,
    );
    assert.equal(resolveConfig({ flags: { pollMaxTimeout: '24d' } }).pollMaxTimeout, 24 * 86400);
  });

  test('the shutdown deadline must leave time after connections had theirs', () => {
    assert.throws(
      () => resolveConfig({ flags: { shutdownTimeout: '20s' } }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /--shutdown-deadline \(15s\) must be longer than --shutdown-timeout \(20s\)/,
        );
        return true;
      },
    );
    const c = resolveConfig({ flags: { shutdownTimeout: '20s', shutdownDeadline: '30s' } });
    assert.deepEqual([c.shutdownTimeout, c.shutdownDeadline], [20_000, 30_000]);
  });

  test('per-prefix channel options take durations too', () => {
    const c = resolveConfig({ env: { HERALD_CHANNEL_OPTIONS: '{"news:":{"historyTtl":"1h"}}' } });
    assert.deepEqual(c.channelOptions, { 'news:': { historyTtl: 3600 } });
  });
});

describe('docs/configuration.md', () => {
  test('documents every option', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const missing = optionNames.filter(
      (n) => !doc.includes(`\`${flagName(n)}\``) || !doc.includes(`\`${envName(n)}\``),
    );
    assert.deepEqual(missing, [], 'regenerate the table in docs/configuration.md');
  });

  test("states each duration option's unit and the forms it accepts", async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const name of optionNames) {
      const unit = (optionSpecs[name] as { unit?: 'ms' | 's' }).unit;
      if (!unit) continue;
      const row = doc.split('\n').find((l) => l.includes(`| \`${name}\` |`));
      assert.ok(row, `${name} has a row`);
      const plain = unit === 'ms' ? 'milliseconds' : 'seconds';
      assert.match(row, new RegExp(`a plain number is ${plain}`), `${name}'s row states its unit`);
      assert.match(row, /250ms.*30s.*5m.*1h/, `${name}'s row shows the accepted forms`);
    }
  });
});
