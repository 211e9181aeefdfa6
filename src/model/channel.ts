// The channel model's nouns, shared by the hub, the engines and every door.

/** Who published or who is present: a connection (client) and the user behind it. */
export interface ClientInfo {
  /** Connection id, unique across the cluster. */
  client: string;
  /** User id; empty for anonymous connections. */
  user: string;
  /** Which door the connection came in by (ws, chat, sse, mqtt, ...). */
  transport?: string;
  connInfo?: unknown;
  chanInfo?: unknown;
}

/** A channel stream's position: the last offset given out and the epoch it belongs to. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface Publication {
  channel: string;
  /** 1, 2, 3 ... per channel, assigned by the engine, never reused within an epoch. */
  offset: number;
  /** Changes whenever the engine lost the channel's stream. */
  epoch: string;
  /** JSON view of the payload, what web doors show. */
  data: unknown;
  /**
   * The payload's original bytes when it entered as bytes (MQTT, a binary WebSocket frame), so that
   * byte-oriented doors deliver it unchanged. See protocol/payload.ts for the mapping.
   */
  bytes?: Uint8Array;
  /** True when the publisher sent opaque binary (not text). */
  binary?: boolean;
  /** The publishing client, when a client published it. */
  info?: ClientInfo;
  /** MQTT quality of service asked for by the publisher; absent = the MQTT door's default (1). */
  qos?: 0 | 1 | 2;
  /** MQTT retain: the broker keeps it as the topic's last value for later MQTT subscribers. */
  retain?: boolean;
  /** Milliseconds since the Unix epoch when the engine accepted it. */
  time: number;
}

/** What a publisher hands to the hub; the engine adds channel position and time. */
export interface PublishRequest {
  data: unknown;
  bytes?: Uint8Array;
  binary?: boolean;
  info?: ClientInfo;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface HistoryQuery {
  /** Return publications after this position (exclusive). */
  since?: StreamPosition;
  /** At most this many; 0 = only the position; undefined = all that is kept. */
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

export interface HistoryResult {
  publications: Publication[];
  /** The stream's current top. */
  position: StreamPosition;
}

export interface PresenceStats {
  numClients: number;
  numUsers: number;
}
