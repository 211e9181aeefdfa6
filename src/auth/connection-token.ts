// Connection JWTs (HS256) for the WebSocket channel protocol: `sub` is the user, `exp` bounds the
// connection's life, `info` becomes the connection info shown in presence and publications.
import { errors, jwtVerify } from 'jose';
import { HeraldError } from '../errors.js';

export interface TokenClaims {
  user: string;
  /** Seconds since the Unix epoch; undefined when the token never expires. */
  exp?: number;
  info?: unknown;
}

/** Why a token was not accepted: the SDK handles an expired token (refresh) apart from a bad one. */
export class TokenError extends Error {
  constructor(
    readonly expired: boolean,
    message: string,
  ) {
    super(message);
  }
}

export class ConnectionTokenVerifier {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const sub = payload.sub ?? '';
      return { user: sub, exp: payload.exp, info: payload.info };
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenError(true, 'token expired');
      throw new TokenError(false, err instanceof errors.JOSEError ? err.code : 'invalid token');
    }
  }
}

/** The catalogue error a refused token becomes in a reply. */
export function tokenReplyError(err: TokenError): HeraldError {
  return err.expired ? new HeraldError('TOKEN_EXPIRED') : new HeraldError('UNAUTHORIZED', err.message);
}
