// The `herald` command line: `herald [command] [--option value | --option=value | --flag ...]`.
// util.parseArgs does the parsing; the option table comes from the config schema, so every option
// has exactly one flag and an unknown one is refused before anything starts.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { closest } from './closest.js';
import { ConfigError, flagName, type OptionName, optionNames, optionSpecs } from './config.js';

export interface ParsedArgs {
  command: string;
  /** Option values by camelCase name, as given (strings); the config schema validates them. */
  flags: Partial<Record<OptionName, string>>;
  /** --config FILE */
  config?: string;
}

const kebab = (name: string) => flagName(name).slice(2);
const byFlag = new Map<string, OptionName>(optionNames.map((n) => [kebab(n), n]));

const argOptions: NonNullable<ParseArgsConfig['options']> = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
for (const flag of byFlag.keys()) argOptions[flag] = { type: 'string' };

/** Flags of boolean options, which may stand alone (`--mqtt-allow-anonymous` means true). */
const booleanFlags = new Set(
  optionNames.filter((n) => typeof optionSpecs[n].default === 'boolean').map((n) => flagName(n)),
);

/**
 * parseArgs has no options whose value is optional: a boolean option given bare (last, or followed
 * by another option) is given `=true` here, which is what it means.
 */
function withBareBooleans(argv: string[]): string[] {
  return argv.map((arg, i) => {
    if (!booleanFlags.has(arg)) return arg;
    const next = argv[i + 1];
    return next === undefined || next.startsWith('--') ? `${arg}=true` : arg;
  });
}

const parse = (args: string[]) =>
  parseArgs({ args, options: argOptions, strict: true, allowPositionals: true, tokens: true });

export function parseFlags(argv: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(withBareBooleans(argv));
  } catch (err) {
    throw new ConfigError(argumentProblem(err as Error & { code?: string }));
  }
  let command = 'serve';
  for (const token of parsed.tokens) {
    if (token.kind !== 'positional') continue;
    if (token.index === 0) command = token.value;
    else throw new ConfigError(`unexpected argument "${token.value}"`);
  }
  const { config, help, ...given } = parsed.values as Record<string, string | boolean | undefined>;
  const flags: ParsedArgs['flags'] = {};
  for (const [flag, value] of Object.entries(given)) {
    const name = byFlag.get(flag);
    if (name !== undefined && typeof value === 'string') flags[name] = value;
  }
  return { command: help ? 'help' : command, flags, config: config as string | undefined };
}

/** parseArgs' errors, said the way the rest of the configuration errors are. */
function argumentProblem(err: Error & { code?: string }): string {
  const option = /'(--?[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const hint =
      option === undefined ? undefined : closest(option.replace(/^-+/, ''), Object.keys(argOptions));
    return `unknown option ${option}${hint === undefined ? '' : `; did you mean --${hint}?`} (see herald --help)`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(err.message)) {
    return `option ${option} needs a value (see herald --help)`;
  }
  // The rest, e.g. `--port -1` ("ambiguous": a dash starts the next option; `--port=-1` is a value).
  return err.message.replace(/\s+/g, ' ');
}
