// `herald genconfig` and `herald checkconfig <file>`: a starting configuration file written from the
// schema (so it names every option as it is today), and the server's own validation of one, run
// without starting anything.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './cli-client.js';
import {
  ConfigError,
  envName,
  formatDuration,
  type OptionName,
  optionNames,
  optionSpecs,
  readConfigFile,
  resolveConfig,
  unknownEnvironment,
} from './config.js';

/** Comment lines of at most ~96 columns. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + word.length + 1 > 92) {
      lines.push(`${indent}// ${line}`);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(`${indent}// ${line}`);
  return lines;
}

/** The default as the file takes it: durations with their unit, the rest as JSON. */
function fileValue(name: OptionName): string {
  const spec = optionSpecs[name] as { default: unknown; unit?: 'ms' | 's' };
  if (spec.unit !== undefined) return JSON.stringify(formatDuration(spec.default as number, spec.unit));
  return JSON.stringify(spec.default);
}

export function generateConfig(): string {
  const body = optionNames.map((name, i) => {
    const spec = optionSpecs[name] as { describe: string; secret?: boolean };
    const secret = spec.secret ? ' Secret: prefer the environment variable to this file.' : '';
    const comment = wrap(`${spec.describe}${secret} (${envName(name)})`, '  ');
    const comma = i === optionNames.length - 1 ? '' : ',';
    return [...comment, `  ${JSON.stringify(name)}: ${fileValue(name)}${comma}`].join('\n');
  });
  return [
    '// Herald configuration: `herald serve --config herald.json` (or HERALD_CONFIG=herald.json).',
    '// Every option is at its default; delete the ones you keep as they are. Flags and HERALD_*',
    '// variables win over this file. `herald checkconfig herald.json` checks it.',
    '{',
    body.join('\n\n'),
    '}',
    '',
  ].join('\n');
}

export function genConfig(argv: string[]): void {
  let output: string | undefined;
  try {
    ({
      values: { output },
    } = parseArgs({ args: argv, strict: true, options: { output: { type: 'string', short: 'o' } } }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\s+/g, ' ')} (see herald genconfig --help)`);
  }
  const text = generateConfig();
  if (output === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(output, text, { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'EEXIST'
        ? `${output} already exists; remove it or give another --output`
        : `cannot write ${output}: ${(err as Error).message}`,
    );
  }
  process.stderr.write(`herald: wrote ${output}\n`);
}

/** Exit 0 with "ok", or a UsageError listing every problem. */
export function checkConfig(argv: string[], env: NodeJS.ProcessEnv): void {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: {} }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\s+/g, ' ')} (see herald checkconfig --help)`);
  }
  if (positionals.length !== 1)
    throw new UsageError('herald checkconfig needs one file: herald checkconfig herald.json');
  for (const warning of unknownEnvironment(env)) process.stderr.write(`herald: warning: ${warning}\n`);
  try {
    resolveConfig({ file: readConfigFile(positionals[0]), env });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(`ok: ${positionals[0]}\n`);
}
