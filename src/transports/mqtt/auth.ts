// Who may connect over MQTT: anonymous clients by default; with anonymous access off, only the
// username/password pairs configured in mqttUsers. Passwords are compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface MqttAuthOptions {
  allowAnonymous: boolean;
  users: Record<string, string>;
}

export type AuthResult = { ok: true; user: string } | { ok: false };

export class MqttAuth {
  private readonly digests = new Map<string, Buffer>();

  constructor(private readonly options: MqttAuthOptions) {
    for (const [user, password] of Object.entries(options.users)) this.digests.set(user, digest(password));
  }

  /** A verified user gets their name; an anonymous client (when allowed) gets ''. */
  check(username: string | undefined, password: Buffer | undefined): AuthResult {
    if (username === undefined) return this.options.allowAnonymous ? { ok: true, user: '' } : { ok: false };
    const expected = this.digests.get(username);
    if (expected === undefined) {
      // An unknown name is still an anonymous client where anonymous clients are welcome.
      return this.options.allowAnonymous ? { ok: true, user: '' } : { ok: false };
    }
    // Digests have one length, so timingSafeEqual never throws and the time does not depend on
    // how much of the password was right.
    return timingSafeEqual(expected, digest(password ?? Buffer.alloc(0)))
      ? { ok: true, user: username }
      : { ok: false };
  }
}

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}
