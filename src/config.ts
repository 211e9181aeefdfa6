// One schema for every option. Each option has a default and a one-line reason; its command-line
// flag (--kebab-case) and environment variable (HERALD_SNAKE_CASE) are derived from its name so the
// three sources can never drift apart. Precedence: flags > environment > config file > defaults.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { closest, didYouMean } from './closest.js';
import { type OptionSpec, optionSpecs } from './config/option-specs.js';
import { channelOptions, type DurationUnit, MS_PER, namespacePolicy } from './config/schemas.js';
import { blankComments } from './json-comments.js';

export { optionSpecs } from './config/option-specs.js';
export type { ChannelOptionsOverride, DurationUnit, NamespacePolicy } from './config/schemas.js';
export { DURATION_FORMS, duration, OPEN_NAMESPACE, parseDuration } from './config/schemas.js';

type Specs = typeof optionSpecs;
export type Config = { [K in keyof Specs]: z.infer<Specs[K]['schema']> };
export type ConfigInput = Partial<Config>;
export type OptionName = keyof Specs;

export const optionNames = Object.keys(optionSpecs) as OptionName[];
export const flagName = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const envName = (name: string) => `HERALD_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export class ConfigError extends Error {
  readonly code = 'HERALD_CONFIG_INVALID';
}

/** Raw (unvalidated) values from a config file, environment and flags, before the schema runs. */
export interface ConfigSources {
  file?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}

/**
 * HERALD_* variables that are not options: read by `herald serve` (the config file) and by the client
 * commands (where the server is), so they may well be set in a shell that also starts the server.
 */
const OTHER_ENV = new Set(['HERALD_CONFIG', 'HERALD_SERVER', 'HERALD_API_URL']);
const knownEnv = () => new Set([...optionNames.map(envName), ...OTHER_ENV]);

/**
 * HERALD_* variables that name no option, each with the closest known one. They are warnings, not
 * errors: the environment is shared with other programs (a test harness, another tool with the
 * same prefix), so an unknown name is not necessarily meant for Herald; a flag or file key is.
 */
export function unknownEnvironment(env: NodeJS.ProcessEnv): string[] {
  const known = knownEnv();
  return Object.keys(env)
    .filter((k) => k.startsWith('HERALD_') && !known.has(k))
    .sort()
    .map((k) => `unknown environment variable ${k} is ignored${didYouMean(k, known)}`);
}

/** The keys of the strict objects inside options, for "did you mean" on a misspelt one. */
const innerKeys = (): Partial<Record<OptionName, string[]>> => ({
  channelOptions: Object.keys(channelOptions.shape),
  defaultNamespace: Object.keys(namespacePolicy.shape),
  namespaces: Object.keys(namespacePolicy.shape),
});

/** One zod issue, naming where inside a structured value it is, and the closest key of a typo. */
function describeIssue(name: OptionName, issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((k) => (typeof k === 'string' && /^[A-Za-z_]\w*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`))
    .join('')
    .replace(/^\./, '');
  const where = path === '' ? '' : `at ${path}: `;
  if (issue.code !== 'unrecognized_keys') return `${where}${issue.message}`;
  const known = innerKeys()[name] ?? [];
  const keys = issue.keys.map((k) => {
    const match = closest(k, known);
    return match === undefined ? `"${k}"` : `"${k}" (did you mean "${match}"?)`;
  });
  return `${where}unknown key ${keys.join(', ')}; known keys: ${known.join(', ')}`;
}

/** Validates and merges the sources. Throws ConfigError naming every bad option. */
export function resolveConfig(sources: ConfigSources = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const known = new Set<string>(optionNames);
  for (const key of Object.keys(sources.file ?? {})) {
    if (known.has(key)) continue;
    const hint = closest(key, known);
    const camel = hint !== undefined && /[-_]/.test(key) ? ' (keys in the file are camelCase)' : '';
    problems.push(
      `config file: unknown option "${key}"${hint === undefined ? '' : `; did you mean "${hint}"?${camel}`}`,
    );
  }
  for (const key of Object.keys(sources.flags ?? {})) {
    if (known.has(key)) continue;
    const hint = closest(key, known);
    problems.push(
      `unknown option ${flagName(key)}${hint === undefined ? '' : `; did you mean ${flagName(hint)}?`}`,
    );
  }
  for (const name of optionNames) {
    const spec = optionSpecs[name] as OptionSpec;
    let raw: unknown;
    let from: string;
    if (sources.flags && sources.flags[name] !== undefined) {
      raw = sources.flags[name];
      from = flagName(name);
    } else if (sources.env && sources.env[envName(name)] !== undefined) {
      raw = sources.env[envName(name)];
      from = envName(name);
    } else if (sources.file && sources.file[name] !== undefined) {
      raw = sources.file[name];
      from = `config file "${name}"`;
    } else {
      out[name] = spec.default;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else {
      const shown = spec.secret ? '(hidden)' : JSON.stringify(raw);
      problems.push(
        `${from}: ${shown} is invalid: ${parsed.error.issues.map((i) => describeIssue(name, i)).join('; ')}`,
      );
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(out as Config));
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return out as Config;
}

/** RFC 7518 3.2: an HS256 key at least as long as the hash. */
export const MIN_HMAC_SECRET_BYTES = 32;

/** Options that only make sense together. */
function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  const keys = (['tokenHmacSecret', 'tokenPublicKey', 'tokenJwksUrl'] as const).filter((k) => c[k] !== '');
  if (keys.length > 1) {
    problems.push(
      `${keys.map(flagName).join(' and ')}: configure one token key; each pins its own algorithms`,
    );
  }
  if (c.tokenHmacSecret !== '' && Buffer.byteLength(c.tokenHmacSecret) < MIN_HMAC_SECRET_BYTES) {
    problems.push(
      `${flagName('tokenHmacSecret')} (${envName('tokenHmacSecret')}) must be at least ` +
        `${MIN_HMAC_SECRET_BYTES} bytes: a shorter HMAC secret can be guessed offline from one token`,
    );
  }
  for (const k of ['chatRequireToken', 'echoRequireToken'] as const) {
    if (c[k] && keys.length === 0) {
      problems.push(`${flagName(k)} needs a token key (tokenHmacSecret, tokenPublicKey or tokenJwksUrl)`);
    }
  }
  if (c.shutdownDeadline <= c.shutdownTimeout) {
    problems.push(
      `${flagName('shutdownDeadline')} (${formatDuration(c.shutdownDeadline, 'ms')}) must be longer than ` +
        `${flagName('shutdownTimeout')} (${formatDuration(c.shutdownTimeout, 'ms')}): connections get ` +
        'shutdownTimeout to close, and the engine stops after that',
    );
  }
  if ((c.tlsCert === '') !== (c.tlsKey === '')) {
    problems.push(
      `${flagName('tlsCert')} and ${flagName('tlsKey')} go together: set both for HTTPS, or neither`,
    );
  }
  if (c.headersTimeout > c.requestTimeout) {
    problems.push(
      `${flagName('headersTimeout')} (${formatDuration(c.headersTimeout, 'ms')}) must not be longer than ` +
        `${flagName('requestTimeout')} (${formatDuration(c.requestTimeout, 'ms')}): the headers are part of the request`,
    );
  }
  const quietest = Math.max(c.pollMaxTimeout, c.sseHeartbeat) * 1000;
  if (c.connectionTimeout > 0 && c.connectionTimeout <= quietest) {
    problems.push(
      `${flagName('connectionTimeout')} (${formatDuration(c.connectionTimeout, 'ms')}) must be 0 or longer than ` +
        `${flagName('pollMaxTimeout')} and ${flagName('sseHeartbeat')} (${formatDuration(quietest, 'ms')}): ` +
        'a held poll or a quiet SSE stream would be cut',
    );
  }
  return problems;
}

/** Options given in code (createHerald) are treated like flags: they win over env and file. */
export function configFrom(input: ConfigInput = {}, env: NodeJS.ProcessEnv = {}): Config {
  return resolveConfig({ flags: input as Record<string, unknown>, env });
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(blankComments(text));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('expected a JSON object');
    }
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid: ${jsonProblem(err as Error, text)}`);
  }
}

/** JSON.parse's message with the line and column of its character position, which an editor shows. */
function jsonProblem(err: Error, text: string): string {
  const at = /at position (\d+)/.exec(err.message);
  if (!at || /line \d+ column \d+/.test(err.message)) return err.message;
  const before = text.slice(0, Number(at[1])).split('\n');
  const where = `line ${before.length} column ${before[before.length - 1].length + 1}`;
  const trailingComma = /,\s*$/.test(text.slice(0, Number(at[1])))
    ? ' (JSON allows no comma after the last entry)'
    : '';
  return `${err.message.replace(/ in JSON at position \d+.*$/, '')} at ${where}${trailingComma}`;
}

/** A duration in its largest whole unit ("5m" rather than 300 seconds). */
export function formatDuration(value: number, unit: DurationUnit): string {
  const ms = value * MS_PER[unit];
  if (ms === 0) return '0';
  for (const suffix of ['d', 'h', 'm', 's'] as const) {
    if (ms % MS_PER[suffix] === 0) return `${ms / MS_PER[suffix]}${suffix}`;
  }
  return `${ms}ms`;
}

/** An option's default as a user would write it: JSON, durations with their unit. */
export function formatDefault(name: OptionName): string {
  const spec = optionSpecs[name] as OptionSpec;
  return spec.unit ? formatDuration(spec.default as number, spec.unit) : JSON.stringify(spec.default);
}

/** `herald serve --help` text, generated from the schema. */
export function describeOptions(): string {
  return optionNames
    .map((name) => {
      const spec = optionSpecs[name] as OptionSpec;
      const dflt = spec.secret ? '' : ` (default ${formatDefault(name)})`;
      return `  ${flagName(name).padEnd(28)} ${envName(name).padEnd(32)} ${spec.describe}${dflt}`;
    })
    .join('\n');
}
