import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFlags } from '../../src/cli-args.js';
import { ConfigError } from '../../src/config.js';

const refused = (argv: string[], message: RegExp) =>
  assert.throws(
    () => parseFlags(argv),
    (err: unknown) => err instanceof ConfigError && message.test(err.message),
  );

describe('command line', () => {
  test('the command comes first and defaults to serve; options take "--name value" and "--name=value"', () => {
    assert.deepEqual(parseFlags([]), { command: 'serve', flags: {}, config: undefined });
    assert.deepEqual(
      parseFlags(['serve', '--port', '8081', '--host=127.0.0.1', '--max-message-size', '10']),
      {
        command: 'serve',
        flags: { port: '8081', host: '127.0.0.1', maxMessageSize: '10' },
        config: undefined,
      },
    );
    assert.deepEqual(parseFlags(['--port', '1']).command, 'serve');
    assert.deepEqual(parseFlags(['bench']).command, 'bench');
  });

  test('a value keeps everything after the first "="', () => {
    assert.equal(parseFlags(['--redis-url=redis://h:1/0?a=b']).flags.redisUrl, 'redis://h:1/0?a=b');
    assert.equal(
      parseFlags(['--channel-options', '{"news:":{"historySize":1}}']).flags.channelOptions,
      '{"news:":{"historySize":1}}',
    );
  });

  test('a boolean option may stand alone, meaning true, or take a value', () => {
    assert.deepEqual(parseFlags(['--mqtt-allow-anonymous', '--port', '1']).flags, {
      mqttAllowAnonymous: 'true',
      port: '1',
    });
    assert.equal(parseFlags(['--allow-client-publish']).flags.allowClientPublish, 'true');
    assert.equal(parseFlags(['--allow-client-publish', 'false']).flags.allowClientPublish, 'false');
    assert.equal(parseFlags(['--allow-client-publish=no']).flags.allowClientPublish, 'no');
  });

  test('--config names the file; --help asks for the usage wherever it stands', () => {
    assert.equal(parseFlags(['serve', '--config', 'herald.json']).config, 'herald.json');
    assert.equal(parseFlags(['--help']).command, 'help');
    assert.equal(parseFlags(['serve', '--port', '1', '--help']).command, 'help');
  });

  test('an unknown option, a stray argument or a missing value is a configuration error', () => {
    refused(['serve', '--no-such-option', '1'], /^unknown option --no-such-option \(see herald --help\)$/);
    refused(['serve', 'extra'], /^unexpected argument "extra"$/);
    refused(['--port', '1', 'serve'], /^unexpected argument "serve"$/);
    refused(['serve', '--port'], /^option --port needs a value/);
    refused(['serve', '--port', '--host', 'x'], /--port/);
  });

  test('a value starting with a dash is given with "="', () => {
    assert.equal(parseFlags(['--port=-1']).flags.port, '-1');
    refused(['--port', '-1'], /--port=-XYZ/);
  });
});
