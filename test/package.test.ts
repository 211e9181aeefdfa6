// What `npm pack` makes of Herald, and whether that package works once installed: the `herald`
// command runs from any folder, without a build step, and serves its pages and their libraries.
//
// SLOW (about 20 s): it builds the package, then installs it into a temporary prefix with npm, which
// fetches the dependencies from the registry (or npm's cache). Both steps are bounded by timeouts.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { track } from './helpers/children.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKAGE_VERSION = (await import('../package.json', { with: { type: 'json' } })).default.version;

interface PackResult {
  filename: string;
  files: { path: string }[];
}

describe('the npm package (slow: builds, then installs with npm)', () => {
  const work = mkdtempSync(join(tmpdir(), 'herald-pack-'));
  let tarball: string;
  let files: string[];

  before(
    async () => {
      // Packed from a copy, so that the build it runs (prepack) neither replaces the checkout's dist/
      // under a developer's feet nor races another test file reading it.
      const checkout = join(work, 'checkout');
      const skip = new Set(['node_modules', 'dist', '.git', 'test-artifacts']);
      cpSync(ROOT, checkout, {
        recursive: true,
        filter: (src) => !skip.has(relative(ROOT, src).split(/[\\/]/)[0]),
      });
      symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
      const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], {
        cwd: checkout,
        timeout: 120_000,
      });
      const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[];
      tarball = join(work, result.filename);
      files = result.files.map((f) => f.path);
    },
    { timeout: 150_000 },
  );
  after(() => rmSync(work, { recursive: true, force: true }));

  test('ships the built server and the web pages, not the sources, tests or source maps', () => {
    for (const f of ['package.json', 'README.md', 'dist/cli.js', 'dist/server.js']) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    for (const f of ['index.html', 'demo.js', 'panes.js', 'admin.html', 'favicon.svg']) {
      assert.ok(files.includes(`dist/web/static/${f}`), `dist/web/static/${f} is in the package`);
    }
    const strays = files.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE)/.test(f));
    assert.deepEqual(strays, [], 'nothing but dist/, package.json and the README');
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'no source maps: they point at sources the package does not hold',
    );
  });

  test('installed into an empty prefix, `herald` runs from any folder and serves the demo page', {
    timeout: 240_000,
  }, async () => {
    const prefix = join(work, 'prefix');
    // Scripts off: Herald needs none of its dependencies' install scripts.
    await run(
      NPM,
      [
        'install',
        '--prefix',
        prefix,
        tarball,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: work, timeout: 180_000 },
    );
    const herald = join(prefix, 'node_modules', '.bin', 'herald');
    const elsewhere = mkdtempSync(join(work, 'cwd-'));

    const { stdout } = await run(herald, ['--version'], { cwd: elsewhere, timeout: 10_000 });
    assert.equal(stdout.trim(), PACKAGE_VERSION);
    // The benchmark stays in the source tree; the installed command says so rather than crash.
    const bench = await run(herald, ['bench'], { cwd: elsewhere, timeout: 10_000 }).then(
      () => assert.fail('herald bench succeeded without a benchmark'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(bench.code, 2);
    assert.match(bench.stderr, /bench runs from a checkout of the source/);

    const child = track(
      spawn(herald, ['serve', '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0'], {
        cwd: elsewhere,
        env: { ...process.env, HERALD_LOG_PRETTY: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      const base = await listening(child);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      for (const path of ['/', '/static/demo.js', '/vendor/centrifuge.js', '/vendor/mqtt.min.js']) {
        const res = await fetch(`${base}${path}`);
        assert.equal(res.status, 200, `GET ${path}`);
        assert.ok((await res.text()).length > 0, `GET ${path} has a body`);
      }
    } finally {
      child.kill('SIGTERM');
    }
  });
});

/** The base URL once the server logs that it listens; rejects if it exits first or takes 20 s. */
function listening(child: ChildProcess): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald did not start within 20 s:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(/"address":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*Herald is listening/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`herald exited with ${code} before listening:\n${out}`));
    });
  });
}
