// Debian's Chromium driven by playwright-core. Tests that need it skip, loudly, where it is missing,
// and fail in CI (see requires.ts).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { requireTool } from './requires.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The `skip` option of a suite that needs Chromium. */
export function needsChromium(): false | string {
  return requireTool(`chromium (looked for at ${CHROMIUM}; CHROMIUM_PATH sets another)`, () =>
    existsSync(CHROMIUM),
  );
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
