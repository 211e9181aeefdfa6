// Who an MQTT client is, from its CONNECT: a configured mqttUsers name with its password (compared
// in constant time), else a client JWT as the password (any user name; `sub` is the user), else -
// where mqttAllowAnonymous is on - anonymous. Whatever the identity, the channel policy decides
// what it may do (see bridge.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import { ANONYMOUS, type Identity, identityFromClaims } from '../../auth/identity.js';
import type { TokenVerifier } from '../../auth/tokens.js';

export interface MqttAuthOptions {
  allowAnonymous: boolean;
  users: Record<string, string>;
  /** mqttUsers names that are administrators ($SYS, every channel). */
  admins?: readonly string[];
  /** Verifies a JWT given as the password; undefined = no token key configured. */
  tokens?: TokenVerifier;
}

/** CONNACK return codes of MQTT 3.1.1: 4 bad user name or password, 5 not authorized. */
export type AuthResult = { ok: true; identity: Identity } | { ok: false; returnCode: 4 | 5; reason: string };

export class MqttAuth {
  private readonly digests = new Map<string, Buffer>();
  private readonly admins: Set<string>;

  constructor(private readonly options: MqttAuthOptions) {
    for (const [user, password] of Object.entries(options.users)) this.digests.set(user, digest(password));
    this.admins = new Set(options.admins ?? []);
  }

  async check(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const expected = username === undefined ? undefined : this.digests.get(username);
    if (expected !== undefined && username !== undefined) {
      // Digests have one length, so timingSafeEqual never throws and the time does not depend on
      // how much of the password was right.
      if (!timingSafeEqual(expected, digest(password ?? Buffer.alloc(0)))) return badPassword;
      const identity: Identity = this.admins.has(username)
        ? { user: username, admin: true }
        : { user: username };
      return { ok: true, identity };
    }
    const { tokens } = this.options;
    if (tokens && password !== undefined && password.length > 0) {
      try {
        return { ok: true, identity: identityFromClaims(await tokens.verify(password.toString('utf8'))) };
      } catch {
        return badPassword;
      }
    }
    // An unknown name without a token is still an anonymous client where those are welcome.
    if (this.options.allowAnonymous) return { ok: true, identity: ANONYMOUS };
    return username === undefined
      ? { ok: false, returnCode: 5, reason: 'anonymous MQTT clients are not allowed' }
      : badPassword;
  }
}

const badPassword: AuthResult = { ok: false, returnCode: 4, reason: 'bad user name or password' };

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}
