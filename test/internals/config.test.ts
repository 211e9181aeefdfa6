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

describe('docs/configuration.md', () => {
  test('documents every option', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const missing = optionNames.filter(
      (n) => !doc.includes(`\`${flagName(n)}\``) || !doc.includes(`\`${envName(n)}\``),
    );
    assert.deepEqual(missing, [], 'regenerate the table in docs/configuration.md');
  });
});
