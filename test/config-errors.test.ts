// Configuration mistakes as a new user makes them, against `herald serve` as a real process: each
// is one line on stderr that names the option and what would be right, and the exit code is 2.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startHeraldProcess } from './helpers/process.js';

function outcome(
  child: ReturnType<typeof runCli>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

const serve = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  outcome(runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', ...args], env));

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'herald-config-')), 'herald.json');
  writeFileSync(file, text);
  return file;
}

/** A port held by someone else, as a local Mosquitto holds 1883. */
function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolve({ port: address.port, server });
    }),
  );
}

describe('configuration errors a person can act on', () => {
  test('a misspelt flag is named with the closest known one', async () => {
    const r = await serve(['--histroy-size', '10']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      'herald: unknown option --histroy-size; did you mean --history-size? (see herald --help)',
    );
  });

  test('a flag with nothing close is named alone', async () => {
    const r = await serve(['--zzzzzzzzzz', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --zzzzzzzzzz \(see herald --help\)/);
    assert.doesNotMatch(r.stderr, /did you mean/);
  });

  test('a kebab-case or misspelt key in the config file gets the camelCase name', async () => {
    const file = configFile(JSON.stringify({ 'history-size': 10, mqttProt: 0 }));
    const r = await serve(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /config file: unknown option "history-size"; did you mean "historySize"\? \(keys in the file are camelCase\)/,
    );
    assert.match(r.stderr, /config file: unknown option "mqttProt"; did you mean "mqttPort"\?/);
  });

  test('a trailing comma in the config file is placed by line and column', async () => {
    const file = configFile('{\n  "historySize": 10,\n}\n');
    const r = await serve(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /is not valid: .* at line 3 column 1 \(JSON allows no comma after the last entry\)/,
    );
  });

  test('a typo inside channelOptions names the key, where it is, and the closest one', async () => {
    const r = await serve([], { HERALD_CHANNEL_OPTIONS: '{"news:":{"histroySize":10}}' });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /HERALD_CHANNEL_OPTIONS: .* is invalid: at \["news:"\]: unknown key "histroySize" \(did you mean "historySize"\?\)/,
    );
    const wrongType = await serve([], { HERALD_CHANNEL_OPTIONS: '{"news:":{"historySize":"lots"}}' });
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /at \["news:"\]\.historySize: expected a whole number, 0 or more/);
  });

  test('a JSON option in the environment that is not JSON says so', async () => {
    const r = await serve([], { HERALD_CHANNEL_OPTIONS: "{'news:':{}}" });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /HERALD_CHANNEL_OPTIONS: .* is invalid: not valid JSON at character 2; give a JSON object/,
    );
  });

  test('--port abc and --port with no value say what a port is', async () => {
    const abc = await serve(['--port', 'abc']);
    assert.equal(abc.code, 2);
    assert.match(abc.stderr, /--port: "abc" is invalid: expected a port number from 0 to 65535/);
    const bare = await outcome(runCli(['serve', '--port']));
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /option --port needs a value/);
  });

  test('an unknown HERALD_* variable is a warning with the closest name; the server still starts', async () => {
    const p = await startHeraldProcess([], { HERALD_HISTROY_SIZE: '10' });
    try {
      assert.match(
        p.output(),
        /herald: warning: unknown environment variable HERALD_HISTROY_SIZE is ignored; did you mean HERALD_HISTORY_SIZE\?/,
      );
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  describe('a port already in use', () => {
    let held: { port: number; server: Server };
    before(async () => {
      held = await occupiedPort();
    });
    after(() => held.server.close());

    test('--mqtt-port names the option and the likely holder, in one line, exit 2', async () => {
      const r = await serve(['--mqtt-port', String(held.port)]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr.trim(),
        `herald: --mqtt-port ${held.port} is already in use (another MQTT broker?); ` +
          'choose another with --mqtt-port or HERALD_MQTT_PORT (0 turns MQTT over TCP off)',
      );
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
    });

    test('--port names the option too', async () => {
      const r = await serve(['--port', String(held.port)]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr.trim(),
        `herald: --port ${held.port} is already in use (another Herald or web server?); ` +
          'choose another with --port or HERALD_PORT',
      );
    });
  });
});
