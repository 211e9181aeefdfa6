// Screenshots taken by browser tests: artifacts for a person to look at, never committed
// (test-artifacts/ is gitignored). HERALD_SCREENSHOTS overrides the folder.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const ARTIFACTS =
  process.env.HERALD_SCREENSHOTS ?? fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
