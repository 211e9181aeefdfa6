#!/usr/bin/env node
// The `herald` command. `herald serve [--option value ...]` runs the server; options come from
// flags, HERALD_* environment variables and an optional --config file (in that order of precedence).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './cli-args.js';
import { CLIENT_COMMANDS, CLIENT_USAGE, runClient, UsageError } from './cli-client.js';
import { checkConfig, genConfig } from './cli-config.js';
import { genToken } from './cli-gentoken.js';
import { asksHelp, COMMAND_HELP, version } from './cli-help.js';
import { closest } from './closest.js';
import { checkWorkers, isPrimary, runPrimary } from './cluster.js';
import { ConfigError, describeOptions, readConfigFile, resolveConfig, unknownEnvironment } from './config.js';
import { listenProblem } from './listen-error.js';
import { createLogger } from './logger.js';
import { Herald } from './server.js';

const USAGE = `Usage: herald <command> [options]

Commands:
  serve        run the server (default)
  bench        run the benchmark, as \`npm run bench\` (its options follow, e.g. --quick)
  gentoken     print a connection token: herald gentoken --user ID [--ttl 1h]
  genconfig    write a commented starting configuration file
  checkconfig  report every problem of a configuration file: herald checkconfig FILE
  help         show this text (\`herald <command> --help\` shows one command)
  --version    print the version

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
  // An installed package holds the built server only: no bench/, no tsx.
  if (!existsSync(join(root, 'bench', 'run.ts'))) {
    process.stderr.write(
      'herald: bench runs from a checkout of the source (git clone, npm install, then herald bench); this installed package has no benchmark\n',
    );
    process.exit(2);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** Commands that are not the server; each throws UsageError (exit 2) or another error (exit 1). */
const TOOLS: Record<string, (argv: string[]) => Promise<void>> = {
  gentoken: async (argv) => {
    process.stdout.write(`${await genToken(argv, process.env)}\n`);
  },
  genconfig: async (argv) => genConfig(argv),
  checkconfig: async (argv) => checkConfig(argv, process.env),
};
for (const c of CLIENT_COMMANDS) TOOLS[c] = (argv) => runClient(c, argv, process.env);

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (command === 'help' && rest[0] !== undefined && COMMAND_HELP[rest[0]] !== undefined) {
    process.stdout.write(`${COMMAND_HELP[rest[0]]}\n`);
    return;
  }
  if (command === 'bench') {
    runBench(rest);
    return;
  }
  const tool = command === undefined ? undefined : TOOLS[command];
  if (tool !== undefined) {
    if (asksHelp(rest)) {
      process.stdout.write(`${COMMAND_HELP[command]}\n`);
      return;
    }
    try {
      await tool(rest);
    } catch (err) {
      process.stderr.write(`herald: ${(err as Error).message}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    return;
  }
  if (command !== undefined && !command.startsWith('-') && command !== 'serve' && command !== 'help') {
    const hint = closest(command, Object.keys(COMMAND_HELP));
    process.stderr.write(
      `herald: unknown command "${command}"${hint === undefined ? '' : `; did you mean "${hint}"?`} (see herald --help)\n`,
    );
    process.exit(2);
  }
  let parsed: ReturnType<typeof parseFlags>;
  let herald: Herald;
  try {
    parsed = parseFlags(process.argv.slice(2));
    if (parsed.command === 'help') {
      process.stdout.write(USAGE);
      return;
    }
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
