// The one catalogue of errors and close codes that can reach a client. Numbers follow Centrifugo's
// client protocol and server API, so its SDKs and server libraries understand them unchanged.

export interface ErrorDef {
  readonly code: number;
  readonly message: string;
  /** A temporary error may succeed if retried later; clients retry it. */
  readonly temporary: boolean;
  /** Status for the HTTP doors (SSE, polling, API transport-level failures). */
  readonly status: number;
}

const def = (code: number, message: string, status: number, temporary = false): ErrorDef => ({
  code,
  message,
  status,
  temporary,
});

export const ErrorCodes = {
  INTERNAL: def(100, 'internal server error', 500, true),
  UNAUTHORIZED: def(101, 'unauthorized', 401),
  UNKNOWN_CHANNEL: def(102, 'unknown channel', 400),
  PERMISSION_DENIED: def(103, 'permission denied', 403),
  METHOD_NOT_FOUND: def(104, 'method not found', 404),
  ALREADY_SUBSCRIBED: def(105, 'already subscribed', 400),
  LIMIT_EXCEEDED: def(106, 'limit exceeded', 400),
  BAD_REQUEST: def(107, 'bad request', 400),
  NOT_AVAILABLE: def(108, 'not available', 503, true),
  TOKEN_EXPIRED: def(109, 'token expired', 401),
  EXPIRED: def(110, 'expired', 401),
  TOO_MANY_REQUESTS: def(111, 'too many requests', 429, true),
  UNRECOVERABLE_POSITION: def(112, 'unrecoverable position', 400),
  // Herald's own, above Centrifugo's range.
  ENGINE_UNAVAILABLE: def(150, 'engine unavailable, retry later', 503, true),
  PAYLOAD_TOO_LARGE: def(151, 'payload too large', 413),
  NOT_FOUND: def(152, 'not found', 404),
  UNSUPPORTED_MEDIA_TYPE: def(153, 'unsupported media type', 415),
  REQUEST_TIMEOUT: def(154, 'request timeout', 408),
  HEADERS_TOO_LARGE: def(155, 'request headers too large', 431),
} as const satisfies Record<string, ErrorDef>;

export type ErrorName = keyof typeof ErrorCodes;

/** An error meant for a client: it carries a catalogue code and a plain message. */
export class HeraldError extends Error {
  readonly code: number;
  readonly temporary: boolean;
  readonly status: number;
  readonly kind: ErrorName;

  constructor(kind: ErrorName, detail?: string, options?: { cause?: unknown }) {
    const d = ErrorCodes[kind];
    super(detail ? `${d.message}: ${detail}` : d.message, options);
    this.name = 'HeraldError';
    this.kind = kind;
    this.code = d.code;
    this.temporary = d.temporary;
    this.status = d.status;
  }

  toJSON(): { code: number; message: string; temporary?: boolean } {
    return this.temporary
      ? { code: this.code, message: this.message, temporary: true }
      : { code: this.code, message: this.message };
  }
}

/**
 * The one mapping from anything thrown to what a client may see. A HeraldError passes unchanged;
 * anything else becomes `otherwise` (internal by default; the hub says "engine unavailable" for a
 * failed engine call) with no detail: raw error text (hosts, ports, stack) stays in the log, where
 * the caller puts `cause`.
 */
export function toHeraldError(
  err: unknown,
  otherwise: 'INTERNAL' | 'ENGINE_UNAVAILABLE' = 'INTERNAL',
): HeraldError {
  if (err instanceof HeraldError) return err;
  return new HeraldError(otherwise, undefined, { cause: err });
}

export interface DisconnectDef {
  readonly code: number;
  readonly reason: string;
  /** Whether a Centrifugo SDK reconnects after it. 3000-3499 reconnect, 3500-3999 do not. */
  readonly reconnect: boolean;
}
const disc = (code: number, reason: string): DisconnectDef => ({ code, reason, reconnect: code < 3500 });

/** Disconnect codes of the WebSocket channel protocol (sent in the Close frame). */
export const Disconnects = {
  NORMAL: { code: 3000, reason: 'normal', reconnect: true },
  SHUTDOWN: disc(3001, 'shutdown'),
  SERVER_ERROR: disc(3004, 'internal server error'),
  EXPIRED: disc(3005, 'connection expired'),
  SUBSCRIPTION_EXPIRED: disc(3006, 'subscription expired'),
  SLOW: disc(3008, 'slow'),
  WRITE_ERROR: disc(3009, 'write error'),
  INSUFFICIENT_STATE: disc(3010, 'insufficient state'),
  FORCE_RECONNECT: disc(3011, 'force reconnect'),
  NO_PONG: disc(3012, 'no pong'),
  TOO_MANY_REQUESTS: disc(3013, 'too many requests'),
  INVALID_TOKEN: disc(3500, 'invalid token'),
  BAD_REQUEST: disc(3501, 'bad request'),
  STALE: disc(3502, 'stale'),
  FORCE_NO_RECONNECT: disc(3503, 'force disconnect'),
  CONNECTION_LIMIT: disc(3504, 'connection limit'),
  CHANNEL_LIMIT: disc(3505, 'channel limit'),
  INAPPROPRIATE_PROTOCOL: disc(3506, 'inappropriate protocol'),
  PERMISSION_DENIED: disc(3507, 'permission denied'),
  NOT_AVAILABLE: disc(3508, 'not available'),
  TOO_MANY_ERRORS: disc(3509, 'too many errors'),
} as const satisfies Record<string, DisconnectDef>;

/**
 * Unsubscribe codes of the channel protocol (sent in an unsubscribe push): below 2500 the SDK stops
 * the subscription, from 2500 on it subscribes again by itself (with recovery when it can).
 */
export const Unsubscribes = {
  SERVER: { code: 2000, reason: 'server unsubscribe' },
  INSUFFICIENT_STATE: { code: 2500, reason: 'insufficient state' },
} as const;

/** RFC 6455 close codes used by the plain WebSocket doors (/echo, /chat, /mqtt). */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;
