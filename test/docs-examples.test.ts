// Every example marked runnable in README.md and docs/*.md (```sh test, ```js test, ```html test)
// is run against a real server, so an example that stops working fails here. Shell examples run in
// bash with `herald` on PATH, their documented answers (`# {...}` under a command) compared in
// shape; browser examples run in Chromium on a page of the server, their `// -> text` comments
// awaited in the console.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium, needsChromium } from './helpers/browser.js';
import { type DocBlock, docBlocks, shapeProblems, shellSteps } from './helpers/doc-blocks.js';
import { type HeraldProcess, startHeraldProcess } from './helpers/process.js';
import { until } from './helpers/until.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** `herald` as an installed command would be, for the shell examples. */
function heraldOnPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bin-'));
  const shim = join(dir, 'herald');
  // tsx by its own address: the examples run in a scratch folder, where no node_modules is.
  const tsx = import.meta.resolve('tsx');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${CLI}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

/** One server per distinct environment the examples ask for; the default channel policy, as a user has it. */
const servers = new Map<string, Promise<HeraldProcess>>();
function serverFor(env: Record<string, string>): Promise<HeraldProcess> {
  const key = JSON.stringify(env);
  let s = servers.get(key);
  if (s === undefined) {
    s = startHeraldProcess([], { HERALD_DEFAULT_NAMESPACE: '{}', ...env });
    servers.set(key, s);
  }
  return s;
}

/** The examples' addresses (port 8080 on this machine) pointed at the test server. */
const localized = (code: string, p: HeraldProcess) =>
  code.replace(/(?:localhost|127\.0\.0\.1):8080/g, `127.0.0.1:${p.port}`);

const blocks = docBlocks();
const bin = heraldOnPath();
const scratch = mkdtempSync(join(tmpdir(), 'herald-docs-'));
let browser: Browser | undefined;

after(async () => {
  await browser?.close();
  for (const s of servers.values()) {
    const p = await s;
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

async function runShell(block: DocBlock): Promise<void> {
  const p = await serverFor(block.env);
  for (const step of shellSteps(localized(block.code, p))) {
    const { stdout } = await run('bash', ['-o', 'pipefail', '-c', step.command], {
      timeout: 15_000,
      // Files an example writes (herald genconfig --output) land in a scratch folder.
      cwd: scratch,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HERALD_SERVER: p.http, ...block.env },
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `${block.where}: \`${step.command}\` failed: ${err.message}\n${err.stdout}${err.stderr}`,
      );
    });
    let answer: unknown;
    try {
      answer = JSON.parse(stdout);
    } catch {
      answer = undefined;
    }
    if (step.expected !== undefined) {
      assert.notEqual(answer, undefined, `${block.where}: \`${step.command}\` printed no JSON: ${stdout}`);
      assert.deepEqual(
        shapeProblems(step.expected, answer),
        [],
        `${block.where}: \`${step.command}\` answered ${stdout}`,
      );
    } else if (answer !== null && typeof answer === 'object' && 'error' in answer) {
      assert.fail(`${block.where}: \`${step.command}\` answered an error: ${stdout}`);
    }
  }
}

async function runInBrowser(block: DocBlock): Promise<void> {
  const p = await serverFor(block.env);
  browser ??= await launchChromium();
  const page = await browser.newPage();
  const logged: string[] = [];
  page.on('console', (m) => logged.push(m.text()));
  page.on('pageerror', (e) => logged.push(`page error: ${e.message}`));
  try {
    // A page of the server itself: Chromium refuses a public page's requests to a local address.
    await page.goto(`${p.http}/healthz`);
    const code = localized(block.code, p);
    if (block.lang === 'html') await page.setContent(code, { waitUntil: 'load' });
    else await page.evaluate(code);
    const wanted = [...code.matchAll(/\/\/ -> "?([^"\n]+?)"?\s*$/gm)].map((m) => m[1]);
    assert.ok(wanted.length > 0, `${block.where}: a browser example needs a // -> comment to check`);
    for (const text of wanted) {
      await until(() => logged.some((l) => l.includes(text)), {
        what: `${block.where}: "${text}" in the console`,
        timeoutMs: 10_000,
        detail: () => logged.join('\n'),
      });
    }
    assert.deepEqual(
      logged.filter((l) => l.startsWith('page error')),
      [],
    );
  } finally {
    await page.close();
  }
}

describe('documentation examples', () => {
  test('there are runnable examples to run', () => {
    assert.ok(blocks.length >= 5, `only ${blocks.length} marked blocks`);
  });
  for (const block of blocks) {
    const browserBlock = block.lang === 'js' || block.lang === 'html';
    test(`${block.where} (${block.lang})`, { skip: browserBlock ? needsChromium() : false }, () =>
      browserBlock ? runInBrowser(block) : runShell(block),
    );
  }
});
