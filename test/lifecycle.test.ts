import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli, startHeraldProcess } from './helpers/process.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

function outputOf(child: ReturnType<typeof runCli>): Promise<{ code: number | null; text: string }> {
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, text })));
}

describe('herald serve as a process', () => {
  test('SIGTERM closes every WebSocket with 1001 and exits 0', async () => {
    const p = await startHeraldProcess();
    const echo = await TestClient.open(`${p.ws}/echo`);
    const chat = await TestClient.open(`${p.ws}/chat`);
    await chat.nextText();
    p.child.kill('SIGTERM');
    const [e, c] = await Promise.all([echo.closed, chat.closed]);
    assert.equal(e.code, 1001);
    assert.equal(c.code, 1001);
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    // New connections are refused once it stopped.
    await assert.rejects(fetch(`${p.http}/healthz`));
  });

  test('SIGINT stops it too, exit 0', async () => {
    const p = await startHeraldProcess();
    p.child.kill('SIGINT');
    assert.equal((await p.exited).code, 0);
  });

  test('the seed log lines are written as structured JSON', async () => {
    const p = await startHeraldProcess();
    const a = await TestClient.open(`${p.ws}/chat`);
    await a.nextText();
    a.send('logged line');
    const e = await TestClient.open(`${p.ws}/echo`);
    e.send('echo line');
    await e.nextText();
    await a.close();
    await e.close();
    // The last of the lines checked below: once it is out, SIGTERM cuts nothing short.
    await until(() => /Client disconnect: [\w-]+, Total: 0/.test(p.output()), {
      what: 'the log of the last client leaving',
      detail: p.output,
    });
    p.child.kill('SIGTERM');
    await p.exited;
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    const msgs = lines.map((l) => l.msg);
    assert.ok(
      msgs.some((m) => /^New client connected: [\w-]+, Total: 1$/.test(m)),
      msgs.join('\n'),
    );
    assert.ok(msgs.some((m) => /^Received from [\w-]+: logged line$/.test(m)));
    assert.ok(msgs.includes('Received: echo line'));
    assert.ok(msgs.some((m) => /^Client disconnect: [\w-]+, Total: 0$/.test(m)));
  });
});

describe('configuration', () => {
  test('a bad value stops the server at start-up naming the option', async () => {
    const { code, text } = await outputOf(runCli(['serve', '--port', 'eighty']));
    assert.equal(code, 2);
    assert.match(text, /--port: "eighty" is invalid/);
  });

  test('a bad environment variable is named too', async () => {
    const { code, text } = await outputOf(runCli(['serve'], { HERALD_MAX_MESSAGE_SIZE: '-5' }));
    assert.equal(code, 2);
    assert.match(text, /HERALD_MAX_MESSAGE_SIZE/);
  });

  test('an unknown flag is refused', async () => {
    const { code, text } = await outputOf(runCli(['serve', '--no-such-option', '1']));
    assert.equal(code, 2);
    assert.match(text, /unknown option --no-such-option/);
  });

  test('--help lists every option with its environment variable and default', async () => {
    const { code, text } = await outputOf(runCli(['--help']));
    assert.equal(code, 0);
    assert.match(text, /--port\s+HERALD_PORT\s+.*\(default 8080\)/);
    assert.match(text, /--max-message-size\s+HERALD_MAX_MESSAGE_SIZE/);
  });

  test('flags win over environment, environment over the config file', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'herald-'));
    const file = join(dir, 'herald.json');
    writeFileSync(file, JSON.stringify({ maxMessageSize: 10, heartbeatInterval: 5000 }));
    // File says 10 bytes, env says 20: env wins, so 15-byte messages are refused, 12-byte accepted.
    const p = await startHeraldProcess(['--config', file], { HERALD_MAX_MESSAGE_SIZE: '20' });
    try {
      const c = await TestClient.open(`${p.ws}/echo`);
      c.send('x'.repeat(12));
      assert.equal(await c.nextText(), `Echo: ${'x'.repeat(12)}`);
      c.send('x'.repeat(25));
      assert.equal((await c.closed).code, 1009);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    const q = await startHeraldProcess(['--config', file, '--max-message-size', '100'], {
      HERALD_MAX_MESSAGE_SIZE: '20',
    });
    try {
      const c = await TestClient.open(`${q.ws}/echo`);
      c.send('x'.repeat(50));
      assert.equal(await c.nextText(), `Echo: ${'x'.repeat(50)}`);
      await c.close();
    } finally {
      q.child.kill('SIGTERM');
      await q.exited;
    }
  });

  test('a config file that is not JSON is a clear start-up error', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'herald-')), 'bad.json');
    writeFileSync(file, '{ nope');
    const { code, text } = await outputOf(runCli(['serve', '--config', file]));
    assert.equal(code, 2);
    assert.match(text, /config file .*bad\.json is not valid/);
  });
});
