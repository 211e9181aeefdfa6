#!/usr/bin/env node
// The `herald` command. `herald serve [--option value ...]` runs the server; options come from
// flags, HERALD_* environment variables and an optional --config file (in that order of precedence).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './cli-args.js';
import { CLIENT_COMMANDS, CLIENT_USAGE, runClient, UsageError } from './cli-client.js';
import { checkWorkers, isPrimary, runPrimary } from './cluster.js';
import { ConfigError, describeOptions, readConfigFile, resolveConfig, unknownEnvironment } from './config.js';
import { listenProblem } from './listen-error.js';
import { createLogger } from './logger.js';
import { Herald } from './server.js';

const USAGE = `Usage: herald <command> [options]

Commands:
  serve        run the server (default)
  bench        run the benchmark, as \`npm run bench\` (its options follow, e.g. --quick)
  help         show this text

${CLIENT_USAGE}
Server options (flag, environment variable, meaning):
  --config FILE                JSON file with options (camelCase names)
${describeOptions()}
`;

/**
 * `herald bench [args]`: the benchmark lives in the source tree (bench/), not in the server, so
 * this runs `tsx bench/run.ts` from the checkout this file belongs to, passing the arguments on.
 */
function runBench(args: string[]): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main(): Promise<void> {
  if (process.argv[2] === 'bench') {
    runBench(process.argv.slice(3));
    return;
  }
  const command = process.argv[2];
  if (command !== undefined && CLIENT_COMMANDS.includes(command)) {
    try {
      await runClient(command, process.argv.slice(3), process.env);
    } catch (err) {
      process.stderr.write(`herald: ${(err as Error).message}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    return;
  }
  let parsed: ReturnType<typeof parseFlags>;
  let herald: Herald;
  try {
    parsed = parseFlags(process.argv.slice(2));
    if (parsed.command === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (parsed.command !== 'serve')
      throw new ConfigError(`unknown command "${parsed.command}" (see herald --help)`);
    const configPath = parsed.config ?? process.env.HERALD_CONFIG;
    const config = resolveConfig({
      flags: parsed.flags,
      env: process.env,
      file: configPath ? readConfigFile(configPath) : undefined,
    });
    checkWorkers(config);
    // Workers inherit the environment; the primary has said it once.
    if (isPrimary())
      for (const warning of unknownEnvironment(process.env))
        process.stderr.write(`herald: warning: ${warning}\n`);
    if (config.workers > 1 && isPrimary()) {
      runPrimary(config, createLogger(config));
      return;
    }
    herald = new Herald(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const stop = (signal: string) => {
    herald.log.info({ signal }, 'signal received');
    // Whatever holds the stop up (a frozen Redis, a door that never finishes), the process ends.
    setTimeout(() => {
      herald.log.error(
        { ...herald.shutdownProgress(), shutdownDeadline: herald.config.shutdownDeadline },
        'shutdown deadline passed; exiting with these still open',
      );
      process.exit(1);
    }, herald.config.shutdownDeadline).unref();
    herald.stop().then(
      () => process.exit(0),
      (err) => {
        herald.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    await herald.start();
  } catch (err) {
    const problem = listenProblem(err, herald.config);
    if (problem !== undefined) {
      process.stderr.write(`herald: ${problem}\n`);
      process.exit(2);
    }
    herald.log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}

main().catch((err) => {
  process.stderr.write(`herald: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
