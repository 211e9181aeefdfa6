// Who a client is, the same on every door. A door builds one at connect time from what its client
// presented (a connection token, a bearer header or cookie, MQTT credentials, nothing) and every
// client-originated hub call carries it (see client-hub.ts).
import type { TokenClaims } from './tokens.js';

export interface Identity {
  /** The user id; '' = anonymous. */
  readonly user: string;
  /** The connection's client id, when the door has one. */
  readonly client?: string;
  /** Connection info from the token's `info` claim. */
  readonly info?: unknown;
  /** Channels the token granted (its `channels` claim). */
  readonly channels?: readonly string[];
  /** An operator: every channel, and MQTT's $SYS topics. */
  readonly admin?: boolean;
}

export const ANONYMOUS: Identity = Object.freeze({ user: '' });

export function identityFromClaims(claims: TokenClaims, client?: string): Identity {
  const id: { -readonly [K in keyof Identity]: Identity[K] } = { user: claims.user };
  if (client !== undefined) id.client = client;
  if (claims.info !== undefined) id.info = claims.info;
  if (claims.channels !== undefined) id.channels = claims.channels;
  if (claims.admin) id.admin = true;
  return id;
}
