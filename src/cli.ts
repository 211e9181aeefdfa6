#!/usr/bin/env node
// The `herald` command. `herald serve [--option value ...]` runs the server; options come from
// flags, HERALD_* environment variables and an optional --config file (in that order of precedence).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkWorkers, isPrimary, runPrimary } from './cluster.js';
import { ConfigError, describeOptions, optionNames, readConfigFile, resolveConfig } from './config.js';
import { createLogger } from './logger.js';
import { Herald } from './server.js';

const USAGE = `Usage: herald <command> [options]

Commands:
  serve        run the server (default)
  bench        run the benchmark, as \`npm run bench\` (its options follow, e.g. --quick)
  help         show this text

Options (flag, environment variable, meaning):
  --config FILE                JSON file with options (camelCase names)
${describeOptions()}
`;

/** Parses `--kebab-name value`, `--kebab-name=value` and bare boolean `--flag` into camelCase keys. */
export function parseFlags(argv: string[]): {
  command: string;
  flags: Record<string, string>;
  config?: string;
} {
  const flags: Record<string, string> = {};
  let command = 'serve';
  let config: string | undefined;
  const known = new Set<string>(optionNames);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      if (i === 0) command = arg;
      else throw new ConfigError(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = arg.slice(2, eq === -1 ? undefined : eq);
    if (rawName === 'help') {
      command = 'help';
      continue;
    }
    const name = rawName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    else value = 'true';
    if (name === 'config') config = value;
    else if (!known.has(name)) throw new ConfigError(`unknown option --${rawName} (see herald --help)`);
    else flags[name] = value;
  }
  return { command, flags, config };
}

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
    herald.log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}

void main();
