// Client JWTs, for every door: connection tokens (who the client is) and subscription tokens (may
// this user read that channel). The key decides the algorithms, never the token's own header: an
// HMAC secret accepts HS256/384/512 only, a public key its own family only, a JWKS asymmetric
// algorithms only. So `alg: none` and the HS/RS confusion (an HS256 token "signed" with the public
// key's PEM as secret) are refused whatever the header says.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { type Config, ConfigError, flagName } from '../config.js';
import { HeraldError } from '../errors.js';
import { channelNameProblem } from '../model/index.js';

export interface TokenClaims {
  user: string;
  /** Seconds since the Unix epoch; undefined when the token never expires. */
  exp?: number;
  info?: unknown;
  /** Channels the token grants subscribing to (the `channels` claim). */
  channels?: string[];
  /**
   * `herald_admin: true`: an operator (MQTT $SYS, every channel). Namespaced so that an
   * application's own `admin` claim grants nothing here.
   */
  admin?: boolean;
}

export interface SubscriptionClaims {
  user: string;
  channel: string;
  exp?: number;
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

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const ASYMMETRIC_ALGORITHMS = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', 'EdDSA'];
const EC_ALGORITHM: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** The algorithms a public key can verify: its own family, nothing else. */
export function algorithmsOf(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA_ALGORITHMS;
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const alg = EC_ALGORITHM[curve];
      if (!alg) throw new Error(`unsupported EC curve ${curve}`);
      return [alg];
    }
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}

export interface TokenRules {
  audience?: string;
  issuer?: string;
  requireExp: boolean;
  maxInfoBytes: number;
}

type Key = Uint8Array | KeyObject | ReturnType<typeof createRemoteJWKSet>;

export class TokenVerifier {
  constructor(
    private readonly key: Key,
    private readonly algorithms: string[],
    private readonly rules: TokenRules,
  ) {}

  /** A connection token: who the client is. */
  async verify(token: string): Promise<TokenClaims> {
    const p = await this.payload(token);
    const claims: TokenClaims = { user: (p.sub as string | undefined) ?? '', exp: p.exp };
    if (p.info !== undefined) {
      const size = Buffer.byteLength(JSON.stringify(p.info) ?? '');
      if (size > this.rules.maxInfoBytes) {
        throw new TokenError(
          false,
          `info claim of ${size} bytes exceeds maxTokenInfoBytes (${this.rules.maxInfoBytes})`,
        );
      }
      claims.info = p.info;
    }
    if (p.channels !== undefined) {
      const list = p.channels;
      if (!Array.isArray(list) || list.some((c) => channelNameProblem(c) !== undefined)) {
        throw new TokenError(false, 'channels claim must be a list of channel names');
      }
      claims.channels = list as string[];
    }
    if (p.herald_admin === true) claims.admin = true;
    return claims;
  }

  /** A subscription token: its `sub` may read its `channel`. */
  async verifySubscription(token: string): Promise<SubscriptionClaims> {
    const p = await this.payload(token);
    if (typeof p.channel !== 'string' || p.channel === '') {
      throw new TokenError(false, 'subscription token without a channel claim');
    }
    return { user: (p.sub as string | undefined) ?? '', channel: p.channel, exp: p.exp };
  }

  private async payload(token: string): Promise<JWTPayload> {
    const options: JWTVerifyOptions = {
      algorithms: this.algorithms,
      requiredClaims: this.rules.requireExp ? ['exp'] : [],
    };
    if (this.rules.audience) options.audience = this.rules.audience;
    if (this.rules.issuer) options.issuer = this.rules.issuer;
    let payload: JWTPayload;
    try {
      // One call for the three key kinds; jose tells them apart (the casts pick an overload).
      ({ payload } =
        typeof this.key === 'function'
          ? await jwtVerify(token, this.key, options)
          : await jwtVerify(token, this.key as Uint8Array, options));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenError(true, 'token expired');
      if (err instanceof errors.JOSEError) throw new TokenError(false, err.code);
      throw new TokenError(false, 'invalid token');
    }
    // jose checks `sub` only against a wanted value; a number or an object is nobody.
    if (payload.sub !== undefined && typeof payload.sub !== 'string') {
      throw new TokenError(false, 'sub claim must be a string');
    }
    return payload;
  }
}

/** The verifier the configuration asks for, or undefined when no token key is configured. */
export function tokenVerifierFrom(config: Config): TokenVerifier | undefined {
  const rules: TokenRules = {
    audience: config.tokenAudience || undefined,
    issuer: config.tokenIssuer || undefined,
    requireExp: config.tokenRequireExp,
    maxInfoBytes: config.maxTokenInfoBytes,
  };
  if (config.tokenHmacSecret) {
    return new TokenVerifier(new TextEncoder().encode(config.tokenHmacSecret), HMAC_ALGORITHMS, rules);
  }
  if (config.tokenPublicKey) {
    let key: KeyObject;
    let algorithms: string[];
    try {
      key = createPublicKey(readFileSync(config.tokenPublicKey));
      algorithms = algorithmsOf(key);
    } catch (err) {
      throw new ConfigError(
        `${flagName('tokenPublicKey')} ${config.tokenPublicKey}: not a usable PEM public key: ${(err as Error).message}`,
      );
    }
    return new TokenVerifier(key, algorithms, rules);
  }
  if (config.tokenJwksUrl) {
    let url: URL;
    try {
      url = new URL(config.tokenJwksUrl);
    } catch {
      throw new ConfigError(`${flagName('tokenJwksUrl')}: ${config.tokenJwksUrl} is not a URL`);
    }
    // jose caches the key set and refetches it when a token names a kid it does not know (key
    // rotation), at most once per cooldown, so made-up kids cannot make it hammer the JWKS server.
    const jwks = createRemoteJWKSet(url, { cooldownDuration: config.tokenJwksCooldown });
    return new TokenVerifier(jwks, ASYMMETRIC_ALGORITHMS, rules);
  }
  return undefined;
}

/** The catalogue error a refused token becomes in a reply. */
export function tokenReplyError(err: TokenError): HeraldError {
  return err.expired ? new HeraldError('TOKEN_EXPIRED') : new HeraldError('UNAUTHORIZED', err.message);
}
