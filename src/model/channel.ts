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
  /** MQTT 5 message properties, carried so every door can show them; absent when none were set. */
  props?: MessageProperties;
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
  props?: MessageProperties;
}

/**
 * The MQTT 5 properties of a message that travel with it (section 3.3.2.3). JSON-safe, because
 * engines store and carry publications as JSON: correlation data is base64.
 */
export interface MessageProperties {
  contentType?: string;
  /** In the order the publisher sent them; a name may repeat. */
  userProperties?: [name: string, value: string][];
  responseTopic?: string;
  /** Base64 of the publisher's bytes. */
  correlationData?: string;
  /** true: the payload is UTF-8 text (payload format indicator 1). */
  utf8?: boolean;
  /** Milliseconds since the Unix epoch after which the message is no longer delivered (message expiry interval). */
  expiresAt?: number;
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
