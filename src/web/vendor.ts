// Browser builds of the client libraries the pages use, read from the project's own npm
// dependencies, so a page works with no network but this server's (no CDN).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface VendorFile {
  readonly body: Buffer | undefined;
  /** Why the file is missing, shown to the page instead of a bare 404. */
  readonly problem?: string;
}

/** A file inside an installed package, located from the package's own entry point. */
function packageFile(specifier: string, rel: string): VendorFile {
  try {
    const root = dirname(require.resolve(specifier));
    return { body: readFileSync(join(root, rel)) };
  } catch (err) {
    return {
      body: undefined,
      problem: `${specifier} is not installed (${(err as Error).message.split('\n')[0]})`,
    };
  }
}

/** URL path under /vendor/ -> the file. Read once at start-up: they do not change while running. */
export function vendorFiles(): Map<string, VendorFile> {
  return new Map([
    // centrifuge's package.json is not exported; its CommonJS entry sits in build/, the bundle in dist/.
    ['centrifuge.js', packageFile('centrifuge', '../dist/centrifuge.js')],
    ['mqtt.min.js', packageFile('mqtt/package.json', 'dist/mqtt.min.js')],
  ]);
}
