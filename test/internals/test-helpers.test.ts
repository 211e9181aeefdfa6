// The helpers every suite relies on to tell the truth: requireTool (a missing program skips a suite
// on a developer's machine but fails CI) and until (a wait that fails naming what never came).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { onPath, requireTool } from '../helpers/requires.js';
import { until } from '../helpers/until.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = 'test/fixtures/needs-missing-tool.ts';
/** The program the fixture needs, which no machine has. */
const MISSING = 'herald-test-no-such-program';

/** Runs the fixture as its own test run, as `npm test` runs a file, with `CI` set or unset. */
function runFixture(ci: string | undefined): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  // Without this the child would report to this run's test runner instead of printing a result.
  delete env.NODE_TEST_CONTEXT;
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('requireTool', () => {
  test('a program that is there is no reason to skip, in CI or not', () => {
    assert.equal(
      requireTool('node', () => onPath(process.execPath), {}),
      false,
    );
    assert.equal(
      requireTool('node', () => onPath(process.execPath), { CI: 'true' }),
      false,
    );
  });

  test('outside CI a missing program skips, with a reason naming it, announced once', () => {
    assert.equal(onPath(MISSING), false);
    const notices: string[] = [];
    for (const env of [{}, { CI: 'false' }]) {
      const skip = requireTool(
        MISSING,
        () => onPath(MISSING),
        env,
        (text) => notices.push(text),
      );
      assert.equal(typeof skip, 'string');
      assert.match(skip as string, new RegExp(`${MISSING} is not installed`));
    }
    assert.equal(notices.length, 1);
    assert.match(notices[0], new RegExp(`SKIPPED: ${MISSING} is not installed`));
  });

  test('in CI a missing program is an error naming it', () => {
    assert.throws(() => requireTool(MISSING, () => onPath(MISSING), { CI: 'true' }), {
      message: new RegExp(`${MISSING} is not installed: CI=true`),
    });
  });

  test('a suite needing a missing program fails a CI run, and is skipped elsewhere', async () => {
    const [ci, local] = await Promise.all([runFixture('true'), runFixture(undefined)]);
    assert.notEqual(ci.code, 0, `a CI run must fail:\n${ci.output}`);
    assert.match(ci.output, new RegExp(`${MISSING} is not installed: CI=true`), ci.output);
    assert.equal(local.code, 0, `a local run passes:\n${local.output}`);
    assert.match(local.output, new RegExp(`# SKIP ${MISSING} is not installed`), local.output);
    assert.match(local.output, /^# fail 0$/m, local.output);
  });
});

describe('until', () => {
  test('resolves with the first truthy value of its condition', async () => {
    let n = 0;
    assert.equal(await until(() => ++n >= 3 && n, { what: 'three looks' }), 3);
    assert.equal(await until(async () => 'ready', { what: 'an async condition' }), 'ready');
  });

  test('fails after its timeout, naming what it waited for and the last state seen', async () => {
    const started = performance.now();
    await assert.rejects(
      until(() => false, { what: 'the impossible', timeoutMs: 50, detail: () => 'nothing' }),
      {
        message: 'timed out after 50 ms waiting for the impossible; last seen: nothing',
      },
    );
    assert.ok(performance.now() - started >= 50);
  });

  test('a condition that throws fails the wait with that error', async () => {
    await assert.rejects(
      until(
        () => {
          throw new Error('the node exited');
        },
        { what: 'a log line' },
      ),
      /the node exited/,
    );
  });
});
