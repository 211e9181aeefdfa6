// Every option: its schema, default and one-line reason, grouped by what it is for. The flag
// (--kebab-case) and the environment variable (HERALD_SNAKE_CASE) are derived from the name.
import { z } from 'zod';
import {
  apiOrigins,
  bool,
  channelOptions,
  DURATION_FORMS,
  type DurationUnit,
  duration,
  jsonOf,
  list,
  namespacePolicy,
  nonNegativeInt,
  OPEN_NAMESPACE,
  port,
  positiveInt,
  TTL,
  trustProxy,
  unitName,
} from './schemas.js';

export interface OptionSpec<T extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: T;
  default: z.infer<T>;
  describe: string;
  /** Never print the value (secrets). */
  secret?: boolean;
  /** For durations: the unit of the parsed value, and of a plain number. */
  unit?: DurationUnit;
}
export const opt = <T extends z.ZodTypeAny>(schema: T, dflt: z.infer<T>, describe: string, secret = false) =>
  ({ schema, default: dflt, describe, secret }) as OptionSpec<T>;
/** A duration option; its description gets the unit and the accepted forms appended. */
export const time = (
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
    'Bytes queued to one slow WebSocket/SSE/MQTT client before it is disconnected (1008 / slow consumer; MQTT 5: DISCONNECT 0x97).',
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
  writeDelay: time(
    'ms',
    0,
    'How long a socket holds publications before writing them together (0 = write at once, batching only while behind); a per-prefix writeDelay in channelOptions overrides it.',
    { min: 0 },
  ),
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
  maxEmulationPending: opt(
    positiveInt,
    16,
    'Commands requests (POST /emulation) one fallback-transport session may have waiting while it is busy; past it 429.',
  ),
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
    'QoS 1/2 messages held per persistent MQTT session (offline or unacknowledged); past it the oldest are dropped.',
  ),
  mqttTlsPort: opt(
    z.union([z.literal('auto'), port]),
    0,
    'TCP port for MQTT over TLS (0 = off; "auto" picks a free port).',
  ),
  mqttTlsCert: opt(z.string(), '', 'PEM certificate of the MQTT TLS listener; empty = tlsCert.'),
  mqttTlsKey: opt(z.string(), '', 'PEM private key of mqttTlsCert; empty = tlsKey.'),
  mqttMaxInflight: opt(
    positiveInt,
    100,
    'QoS 1/2 messages sent to one MQTT client and not yet acknowledged (also capped by its v5 Receive Maximum); the rest wait in its session queue.',
  ),
  mqttReceiveMaximum: opt(
    positiveInt,
    100,
    'QoS 1/2 PUBLISH packets an MQTT 5 client may have unacknowledged at once (advertised as Receive Maximum); past it DISCONNECT 0x93.',
  ),
  mqttTopicAliasMaximum: opt(
    nonNegativeInt,
    64,
    'Topic aliases per MQTT 5 connection, each direction (advertised as Topic Alias Maximum); 0 = none.',
  ),
  mqttMaxSubscriptions: opt(
    positiveInt,
    1000,
    'Subscriptions one MQTT client may hold; past it SUBACK 0x97 (3.1.1: 0x80) for the extra filters.',
  ),
  mqttMaxFiltersPerSubscribe: opt(
    positiveInt,
    100,
    'Filters one SUBSCRIBE or UNSUBSCRIBE may carry; more closes the client (v5 DISCONNECT 0x97).',
  ),
  mqttMaxUserProperties: opt(
    nonNegativeInt,
    64,
    'MQTT 5 user properties one packet may carry; more is refused (CONNACK / DISCONNECT 0x83).',
  ),
  mqttMaxKeepAlive: opt(
    nonNegativeInt,
    0,
    'Longest MQTT keep-alive in seconds; an MQTT 5 client asking for more (or none) is told this one (Server Keep Alive). 0 = the client decides.',
  ),
  mqttDeliveryLinger: time(
    'ms',
    5000,
    'How long a node keeps receiving every publication for MQTT after its last MQTT client left; a node without MQTT clients receives none.',
  ),
  mqttReapInterval: time(
    'ms',
    5000,
    'How often (with jitter) each node looks for MQTT sessions of dead nodes: their wills are published, expired sessions removed.',
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
  adminLoginInterval: time(
    'ms',
    2000,
    'After 5 quick password guesses from one address, the time it must wait before each further one (429 meanwhile).',
  ),
  adminSessionTtl: time('s', 8 * 3600, 'How long an admin login lasts before the password is asked again.'),

  // cluster
  workers: opt(positiveInt, 1, 'Processes to run (node:cluster); more than 1 needs the redis engine.'),
  nodeName: opt(z.string(), '', 'Name of this node in cluster info; empty = hostname:pid.'),
};
