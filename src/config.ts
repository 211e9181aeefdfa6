// One schema for every option. Each option has a default and a one-line reason; its command-line
// flag (--kebab-case) and environment variable (HERALD_SNAKE_CASE) are derived from its name so the
// three sources can never drift apart. Precedence: flags > environment > config file > defaults.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { closest, didYouMean } from './closest.js';
import { blankComments } from './json-comments.js';

const port = z.coerce
  .number({ error: 'expected a port number from 0 to 65535' })
  .int({ error: 'expected a whole port number from 0 to 65535' })
  .min(0, { error: 'expected a port number from 0 to 65535' })
  .max(65535, { error: 'expected a port number from 0 to 65535' });
const positiveInt = z.coerce
  .number({ error: 'expected a whole number above 0' })
  .int({ error: 'expected a whole number above 0' })
  .positive({ error: 'expected a whole number above 0' });
const nonNegativeInt = z.coerce
  .number({ error: 'expected a whole number, 0 or more' })
  .int({ error: 'expected a whole number, 0 or more' })
  .min(0, { error: 'expected a whole number, 0 or more' });
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());
const splitList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;
const list = z.preprocess(splitList, z.array(z.string()));
const jsonOf = <T extends z.ZodTypeAny>(inner: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch (err) {
      // JSON.parse quotes the text it read, and some of these options hold passwords.
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      const where = at === undefined ? '' : ` at character ${Number(at) + 1}`;
      ctx.addIssue({ code: 'custom', message: `not valid JSON${where}; give a JSON object` });
      return z.NEVER;
    }
  }, inner);

export type DurationUnit = 'ms' | 's';
const MS_PER = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** The longest delay Node's timers keep (2^31-1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const unitName = (unit: DurationUnit) => (unit === 'ms' ? 'milliseconds' : 'seconds');
export const DURATION_FORMS = '250ms, 30s, 5m, 1h or 2d';

/** "90s" -> 90 in seconds; a plain "90" is already in `unit`. Undefined when it is not a duration. */
export function parseDuration(text: string, unit: DurationUnit): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === undefined) return n;
  const v = (n * MS_PER[m[2] as keyof typeof MS_PER]) / MS_PER[unit];
  // 0.3s is 300.00000000000006 ms in binary floating point; it means 300.
  const whole = Math.round(v);
  return Math.abs(v - whole) < 1e-9 ? whole : v;
}

/**
 * A duration option: a string with a unit ("250ms", "30s", "5m", "1h", "2d") or a plain number in
 * `unit`, the unit the option has always taken. Either way it becomes a whole number of `unit`, the
 * same number consumers always got. `maxMs` defaults to what a Node timer can hold.
 */
export function duration(unit: DurationUnit, { min = 1, maxMs = MAX_TIMER_MS } = {}) {
  const name = unitName(unit);
  const max = Math.floor(maxMs / MS_PER[unit]);
  return z.preprocess(
    (v) => (typeof v === 'string' ? (parseDuration(v, unit) ?? v) : v),
    z
      .number({ error: `expected a duration such as ${DURATION_FORMS}, or a number of ${name}` })
      .int({ error: `must be a whole number of ${name}` })
      .min(min, { error: `must be at least ${min} ${name}` })
      .max(max, { error: `must be at most ${max} ${name}` }),
  );
}

/** Bounds of a time to live handed to the engine rather than to a timer: no timer limit applies. */
const TTL = { maxMs: Number.MAX_SAFE_INTEGER };

/** Proxy entries as fastify (proxy-addr) takes them: an address, a CIDR, or a named range. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];
function proxyEntryProblem(entry: string): string | undefined {
  if (PROXY_RANGES.includes(entry)) return undefined;
  const [ip, bits, ...more] = entry.split('/');
  const family = isIP(ip);
  if (family === 0 || more.length > 0) return `"${entry}" is not an IP address or CIDR`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}" has a prefix length outside 0-${max}`;
  return undefined;
}
const trustProxy = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    return ['', 'false', 'no', 'off', '0'].includes(s) ? false : splitList(v);
  },
  z.union(
    [
      z.literal(false),
      z
        .array(z.string())
        .min(1)
        .superRefine((entries, ctx) => {
          for (const e of entries) {
            const problem = proxyEntryProblem(e);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          }
        }),
    ],
    {
      error:
        "expected false or a list of proxy addresses/CIDRs (not true: that would believe any client's X-Forwarded-For)",
    },
  ),
);

/** Explicit origins only: a wildcard, or "null" (any sandboxed page), would hand the API to every site. */
const apiOrigins = z.preprocess(
  splitList,
  z.array(
    z
      .string()
      .transform((o) => o.toLowerCase().replace(/\/$/, ''))
      .pipe(
        z
          .string()
          .regex(/^https?:\/\/[^/\s*]+$/, 'an origin is scheme://host[:port], with no path and no "*"'),
      ),
  ),
);

/** Per channel-name-prefix overrides, e.g. {"news:": {"historySize": 1000}}. */
const channelOptions = z.strictObject({
  historySize: nonNegativeInt.optional(),
  historyTtl: duration('s', { ...TTL, min: 0 }).optional(),
  allowClientPublish: bool.optional(),
  joinLeave: bool.optional(),
});
export type ChannelOptionsOverride = z.infer<typeof channelOptions>;

/**
 * Who may do what in one namespace (Centrifugo's option names). Unknown keys are errors: a
 * misspelt permission must not silently leave a namespace closed, or open.
 */
const namespacePolicy = z.strictObject({
  allow_subscribe_for_client: bool.optional(),
  allow_subscribe_for_anonymous: bool.optional(),
  allow_publish_for_client: bool.optional(),
  allow_publish_for_subscriber: bool.optional(),
  allow_publish_for_anonymous: bool.optional(),
  allow_history_for_client: bool.optional(),
  allow_history_for_subscriber: bool.optional(),
  allow_history_for_anonymous: bool.optional(),
  allow_presence_for_client: bool.optional(),
  allow_presence_for_subscriber: bool.optional(),
  allow_presence_for_anonymous: bool.optional(),
  allow_user_limited_channels: bool.optional(),
  join_leave: bool.optional(),
  force_push_join_leave: bool.optional(),
  presence_show_info: bool.optional(),
});
export type NamespacePolicy = z.infer<typeof namespacePolicy>;

/** Everything allowed to every client: the seed's chat room, and test servers not about security. */
export const OPEN_NAMESPACE: NamespacePolicy = {
  allow_subscribe_for_client: true,
  allow_subscribe_for_anonymous: true,
  allow_publish_for_client: true,
  allow_publish_for_anonymous: true,
  allow_history_for_client: true,
  allow_history_for_anonymous: true,
  allow_presence_for_client: true,
  allow_presence_for_anonymous: true,
};

interface OptionSpec<T extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: T;
  default: z.infer<T>;
  describe: string;
  /** Never print the value (secrets). */
  secret?: boolean;
  /** For durations: the unit of the parsed value, and of a plain number. */
  unit?: DurationUnit;
}
const opt = <T extends z.ZodTypeAny>(schema: T, dflt: z.infer<T>, describe: string, secret = false) =>
  ({ schema, default: dflt, describe, secret }) as OptionSpec<T>;
/** A duration option; its description gets the unit and the accepted forms appended. */
const time = (
  unit: DurationUnit,
  dflt: number,
  describe: string,
  bounds?: Parameters<typeof duration>[1],
): OptionSpec<ReturnType<typeof duration>> => ({
  schema: duration(unit, bounds),
  default: dflt,
  describe: `${describe} A duration (${DURATION_FORMS}); a plain number is ${unitName(unit)}.`,
  unit,
});

export const optionSpecs = {
  // server
  port: opt(port, 8080, 'TCP port for HTTP, WebSocket, SSE and polling (0 picks a free port).'),
  host: opt(z.string().min(1), '0.0.0.0', 'Interface to listen on; 0.0.0.0 is every IPv4 interface.'),
  logLevel: opt(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'Log level: fatal, error, warn, info, debug, trace or silent.',
  ),
  logPretty: opt(
    z.enum(['auto', 'true', 'false']),
    'auto',
    'Human-readable logs: auto = when stdout is a terminal.',
  ),
  allowedOrigins: opt(
    list,
    [],
    'Origins allowed by CORS (never with credentials) and for WebSocket upgrades, comma-separated; empty allows every origin. Not the server API: see apiAllowedOrigins.',
  ),
  shutdownTimeout: time(
    'ms',
    10000,
    'How long connections get to close on SIGINT/SIGTERM before they are cut.',
  ),
  shutdownDeadline: time(
    'ms',
    15000,
    'How long `herald serve` may take to stop in all (connections, then the engine) before it ' +
      'logs what is still open and exits with code 1. Must be longer than shutdownTimeout.',
  ),

  // HTTP listener: TLS, proxies and timeouts (see docs/security.md)
  tlsCert: opt(
    z.string(),
    '',
    'Path of a PEM certificate (chain) for HTTPS and WSS on the HTTP port; empty = plain HTTP (e.g. behind a TLS-terminating proxy).',
  ),
  tlsKey: opt(z.string(), '', 'Path of the PEM private key of tlsCert.'),
  trustProxy: opt(
    trustProxy,
    false,
    'Addresses/CIDRs of reverse proxies whose X-Forwarded-For names the client (false = the socket address is the client); the API loopback check uses it.',
  ),
  headersTimeout: time(
    'ms',
    10000,
    'How long a client has to send request headers (WebSocket upgrades too); slower ones get 408 and are closed, so a stalled request cannot hold a socket.',
  ),
  requestTimeout: time(
    'ms',
    30000,
    'How long a client has to send a whole request, body included; SSE streams and held polls are answers, not requests, and are not cut.',
  ),
  keepAliveTimeout: time(
    'ms',
    72000,
    "How long an idle keep-alive connection stays open between requests; longer than common proxies' 60 s so they never reuse a closing one.",
  ),
  connectionTimeout: time(
    'ms',
    0,
    'How long a connection may be silent in both directions while a request is open (0 = no limit: held polls are silent by design); must exceed pollMaxTimeout and sseHeartbeat when set.',
    { min: 0 },
  ),
  tlsHandshakeTimeout: time(
    'ms',
    10000,
    'How long a client has to complete the TLS handshake when tlsCert is set.',
  ),

  // WebSocket limits
  maxMessageSize: opt(
    positiveInt,
    65536,
    'Largest WebSocket message accepted, in bytes; larger ones close the connection with 1009.',
  ),
  heartbeatInterval: time(
    'ms',
    30000,
    'Time between WebSocket pings on /echo and /chat; a peer that misses one is dropped.',
  ),
  maxBufferedBytes: opt(
    positiveInt,
    4 * 1024 * 1024,
    'Bytes queued to one slow WebSocket/SSE client before it is disconnected (1008 / slow consumer).',
  ),

  // channel model
  engine: opt(
    z.enum(['memory', 'redis']),
    'memory',
    'Where channel state lives: memory (one node) or redis.',
  ),
  redisUrl: opt(z.string().min(1), 'redis://127.0.0.1:6379', 'Redis server used by the redis engine.'),
  redisPrefix: opt(z.string(), 'herald', 'Prefix for every Redis key and Pub/Sub channel Herald uses.'),
  redisMetaTtl: time(
    's',
    30 * 24 * 3600,
    'How long an idle channel keeps its epoch and offset (in Redis, and in memory), after its history has aged out.',
    TTL,
  ),
  redisCommandTimeout: time(
    'ms',
    5000,
    'How long a Redis command may take before it fails with a retryable error.',
  ),
  historySize: opt(nonNegativeInt, 100, 'Publications kept per channel for recovery and polling (0 = none).'),
  historyTtl: time('s', 300, 'How long a publication stays in history (0 = no age limit).', {
    ...TTL,
    min: 0,
  }),
  channelOptions: opt(
    jsonOf(z.record(z.string(), channelOptions)),
    {},
    'Per channel-name-prefix overrides as JSON, e.g. {"news:":{"historySize":1000}}.',
  ),
  maxSubscribeBuffer: opt(
    positiveInt,
    10000,
    'Publications held per subscription while it is being set up; past it the client must resync.',
  ),
  resyncSpread: opt(
    nonNegativeInt,
    2000,
    'Milliseconds over which clients are told to resync after a Redis bus reconnect, so they do not all return at once.',
  ),
  maxChannelNameLength: opt(positiveInt, 255, 'Longest channel name accepted, in bytes.'),
  maxPayloadDepth: opt(
    positiveInt,
    64,
    'Deepest nesting of arrays/objects in published data; deeper cannot be encoded safely (error 107).',
  ),
  presenceTtl: time(
    's',
    60,
    'How long a presence entry lives without refresh (so a crashed node’s clients disappear).',
  ),

  // HTTP doors
  maxPatternLength: opt(
    positiveInt,
    256,
    "Longest channel-name pattern the server API's channels method accepts, in characters.",
  ),
  apiKey: opt(
    z.string(),
    '',
    'Key for the server API (/api/*); empty = the API answers loopback clients only.',
    true,
  ),
  apiAllowedOrigins: opt(
    apiOrigins,
    [],
    'Browser origins (https://host:port) allowed to call the server API, comma-separated; a request with any other Origin header gets 403.',
  ),
  maxRequestBody: opt(positiveInt, 1024 * 1024, 'Largest HTTP request body accepted, in bytes.'),
  maxChannelsPerRequest: opt(positiveInt, 64, 'Most channels one SSE stream or poll may name.'),
  sseHeartbeat: time('s', 15, 'Time between SSE comment heartbeats.'),
  sseRetry: time('ms', 2000, 'How long a browser waits before reconnecting an SSE stream.'),
  pollTimeout: time('s', 25, 'How long a long poll is held when it names no timeout (0 = answer at once).', {
    min: 0,
  }),
  pollMaxTimeout: time('s', 55, 'Longest long-poll hold a client may ask for.'),

  // WebSocket channel protocol (Centrifugo-compatible)
  clientPing: time('s', 25, 'Time between server pings on /connection/websocket.'),
  clientPongTimeout: time('s', 10, 'How long a client has to answer a ping before it is closed.'),
  clientConnectTimeout: time('s', 10, 'How long a WebSocket client has to send connect.'),
  allowClientPublish: opt(bool, true, 'Whether clients may publish to channels (overridable per prefix).'),
  maxChannelsPerClient: opt(positiveInt, 128, 'Most channels one client connection may subscribe to.'),
  allowClientConnectWithoutToken: opt(
    bool,
    false,
    'With a token key configured, whether /connection/websocket also lets clients connect anonymously without a token.',
  ),

  // identity and channel policy (see docs/security.md)
  tokenHmacSecret: opt(
    z.string(),
    '',
    'HMAC secret (HS256/384/512, at least 32 bytes) for client JWTs; empty = no HMAC tokens.',
    true,
  ),
  tokenPublicKey: opt(
    z.string(),
    '',
    'Path of a PEM public key (RSA, EC or Ed25519) for client JWTs; its key type pins the algorithms.',
  ),
  tokenJwksUrl: opt(
    z.string(),
    '',
    'JWKS URL whose keys (chosen by kid, cached) verify client JWTs; asymmetric algorithms only.',
  ),
  tokenJwksCooldown: time(
    'ms',
    30000,
    'Least time between two JWKS fetches for tokens naming an unknown kid: rotation is picked up, forged kids cannot flood the JWKS server.',
  ),
  tokenAudience: opt(z.string(), '', 'Required `aud` of client JWTs; empty = not checked.'),
  tokenIssuer: opt(z.string(), '', 'Required `iss` of client JWTs; empty = not checked.'),
  tokenRequireExp: opt(
    bool,
    true,
    'Refuse client JWTs without `exp`: a token that never expires cannot be revoked.',
  ),
  maxTokenInfoBytes: opt(
    positiveInt,
    4096,
    'Largest `info` claim accepted in a token, in bytes of JSON; it is copied into presence and publications.',
  ),
  allowTokenInQuery: opt(
    bool,
    false,
    'Accept ?token= on /sse and /poll; off because URLs end up in proxy and access logs.',
  ),
  chatRequireToken: opt(
    bool,
    false,
    '/chat refuses clients without a valid token (the seed room is open by default).',
  ),
  echoRequireToken: opt(bool, false, '/echo refuses clients without a valid token (it touches no channel).'),
  defaultNamespace: opt(
    jsonOf(namespacePolicy),
    {},
    'Channel policy (JSON) of channels without a namespace prefix; {} = closed to clients (the server API may still use them).',
  ),
  namespaces: opt(
    jsonOf(z.record(z.string().regex(/^[^:]+$/, 'a namespace name has no ":"'), namespacePolicy)),
    { chat: OPEN_NAMESPACE },
    'Channel policy (JSON) per namespace, the part of a channel name before ":" (a channel named exactly like a namespace belongs to it); the seed\'s chat room is open.',
  ),

  // MQTT
  mqttPort: opt(
    z.union([z.literal('auto'), port]),
    1883,
    'TCP port for MQTT (0 turns MQTT over TCP off; "auto" picks a free port).',
  ),
  mqttHost: opt(z.string().min(1), '0.0.0.0', 'Interface the MQTT listener binds to.'),
  mqttAllowAnonymous: opt(bool, true, 'Accept MQTT clients without username/password.'),
  mqttUsers: opt(
    jsonOf(z.record(z.string(), z.string())),
    {},
    'MQTT credentials as JSON {"user":"password"}; the only clients let in when anonymous access is off.',
    true,
  ),
  mqttAdminUsers: opt(
    list,
    [],
    'mqttUsers names that are administrators: they may subscribe to $SYS/# and to any channel.',
  ),
  mqttMaxPayload: opt(positiveInt, 65536, 'Largest MQTT payload accepted, in bytes.'),
  mqttSessionQueue: opt(
    positiveInt,
    1000,
    'QoS 1/2 messages held per persistent MQTT session (offline or unacknowledged); more are dropped.',
  ),

  // limits that keep the server up (docs/security.md, "Limits")
  maxConnections: opt(
    nonNegativeInt,
    100000,
    'Live connections on this node over every door (WebSocket, SSE, held polls, MQTT); past it new ones get 503 / a closed socket. 0 = no limit.',
  ),
  maxConnectionsPerIp: opt(
    nonNegativeInt,
    1000,
    'Live connections from one IP address (IPv6: one /64) over every door; past it 429. Raise it, or 0, behind a proxy that hides client addresses.',
  ),
  connectionRatePerIp: opt(
    nonNegativeInt,
    100,
    'New connections (and poll requests) per second from one IP address once its burst is spent; past it 429. 0 = no limit.',
  ),
  connectionBurstPerIp: opt(
    positiveInt,
    500,
    'New connections one IP address may open at once before connectionRatePerIp applies (a page reload, a NAT of many users).',
  ),
  commandRate: opt(
    nonNegativeInt,
    100,
    'Commands per second one /connection/websocket client may send once its burst is spent; past it error 111, and 3013 if it goes on. 0 = no limit.',
  ),
  commandBurst: opt(
    positiveInt,
    200,
    'Commands a client may send at once (a reconnect sends connect plus every subscribe in one frame: keep it above maxChannelsPerClient).',
  ),
  publishRate: opt(
    nonNegativeInt,
    50,
    'Publications per second one connection may make (WebSocket protocol publish, /chat message, MQTT PUBLISH) once its burst is spent. 0 = no limit.',
  ),
  publishBurst: opt(
    positiveInt,
    100,
    'Publications one connection may make at once before publishRate applies.',
  ),
  maxRecoveryPublications: opt(
    positiveInt,
    300,
    'Most publications one resume reads (a recover subscribe; an SSE Last-Event-ID or poll cursor, shared by its channels); the rest follows on the next resume or is reported as not recovered.',
  ),
  maxBroadcastChannels: opt(
    positiveInt,
    1000,
    'Most channels one server API broadcast may name; more is refused (106) before anything is published.',
  ),
  maxBatchCommands: opt(
    positiveInt,
    1000,
    'Most commands one server API batch may hold; more is refused (106) before any runs.',
  ),
  mqttConnectTimeout: time(
    'ms',
    10000,
    'How long an MQTT connection may stay open without sending CONNECT before it is closed.',
  ),
  // pages: the demo at / and the admin dashboard at /admin
  demoChannel: opt(
    z.string().min(1),
    'chat',
    "Channel the demo page's explorer opens with; any channel clients may use.",
  ),
  demoOnlineChannel: opt(
    z.string().min(1),
    'chat:online',
    'Channel where demo pages announce their names, for the room\'s "who is online" list.',
  ),
  adminPassword: opt(
    z.string(),
    '',
    'Password for the admin dashboard (/admin); empty = served to loopback callers only.',
    true,
  ),
  adminSessionTtl: time('s', 8 * 3600, 'How long an admin login lasts before the password is asked again.'),

  // cluster
  workers: opt(positiveInt, 1, 'Processes to run (node:cluster); more than 1 needs the redis engine.'),
  nodeName: opt(z.string(), '', 'Name of this node in cluster info; empty = hostname:pid.'),
};

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
