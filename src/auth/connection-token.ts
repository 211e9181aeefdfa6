// Connection JWTs (HS256) for the WebSocket channel protocol: `sub` is the user, `exp` bounds the
// connection's life, `info` becomes the connection info shown in presence and publications.
import { errors, type JWTPayload, jwtVerify } from 'jose';
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
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenError(true, 'token expired');
      throw new TokenError(false, err instanceof errors.JOSEError ? err.code : 'invalid token');
    }
    // jose checks the types of exp, nbf and iat but not of sub. A user that is not a string would
    // reach presence and publications as an object, and no refresh could ever match it.
    const sub = payload.sub ?? '';
    if (typeof sub !== 'string') throw new TokenError(false, 'sub must be a string');
    return { user: sub, exp: payload.exp, info: payload.info };
  }
}

/** The catalogue error a refused token becomes in a reply. */
export function tokenReplyError(err: TokenError): HeraldError {
  return err.expired ? new HeraldError('TOKEN_EXPIRED') : new HeraldError('UNAUTHORIZED', err.message);
}
