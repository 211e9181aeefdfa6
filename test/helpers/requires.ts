// Suites that need a program the machine may lack (redis-server, the mosquitto clients, Chromium)
// ask here for their `skip` option. On a developer's machine a missing program skips them, loudly.
// In CI (CI=true) it fails the run instead: a green CI run has to mean that every suite ran.
import { spawnSync } from 'node:child_process';

const noticed = new Set<string>();

/**
 * The `skip` option for describe()/test(): false when `probe` finds the tool; otherwise a reason to
 * skip, announced once through `notice`, or, when `env.CI` is 'true', an error naming the tool (the
 * test file then fails to load).
 */
export function requireTool(
  name: string,
  probe: () => boolean,
  env: NodeJS.ProcessEnv = process.env,
  notice: (text: string) => void = (text) => process.stderr.write(text),
): false | string {
  if (probe()) return false;
  const reason = `${name} is not installed`;
  if (env.CI === 'true') {
    throw new Error(
      `${reason}: CI=true, and CI must run every suite, so this fails instead of skipping. Install ${name}.`,
    );
  }
  if (!noticed.has(name)) {
    noticed.add(name);
    notice(`\n*** SKIPPED: ${reason}; the suites that need it did not run (CI would fail). ***\n\n`);
  }
  return reason;
}

/** Whether `command` can be started at all (it may exit non-zero, as `mosquitto_sub --help` does). */
export function onPath(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 }).error === undefined;
}
