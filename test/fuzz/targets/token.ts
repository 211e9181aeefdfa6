// Connection tokens: garbage, truncated, mutated and wrongly signed JWTs are refused with a
// TokenError; a correctly signed token with odd claims either passes with a string user or is
// refused, never crashes the verifier or hands a non-string user to the session.
import { createHmac } from 'node:crypto';
import { TokenError, TokenVerifier } from '../../../src/auth/tokens.js';
import { mutateText, randomJson, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';

const SECRET = 'fuzz-secret';
// Tokens without exp stay accepted here, so the fuzzer reaches the claim checks past the expiry one.
const verifier = new TokenVerifier(new TextEncoder().encode(SECRET), ['HS256', 'HS384', 'HS512'], {
  requireExp: false,
  maxInfoBytes: 4096,
});
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function sign(header: unknown, claims: unknown, secret = SECRET): string {
  const head = `${b64(header)}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

const CLAIM_KEYS = ['sub', 'exp', 'iat', 'nbf', 'info', 'aud', 'iss', 'jti', 'channels'];

function claims(rng: Rng): unknown {
  if (rng.chance(0.1)) return randomJson(rng);
  const c: Record<string, unknown> = {};
  if (rng.chance(0.8)) c.sub = rng.chance(0.7) ? randomString(rng) : randomJson(rng, { maxDepth: 1 });
  if (rng.chance(0.5))
    c.exp = rng.chance(0.5)
      ? Math.floor(Date.now() / 1000) + rng.int(-100, 100000)
      : randomJson(rng, { maxDepth: 1 });
  for (let i = rng.int(0, 3); i > 0; i--) c[rng.pick(CLAIM_KEYS)] = randomJson(rng, { maxDepth: 2 });
  return c;
}

function header(rng: Rng): unknown {
  if (rng.chance(0.8)) return { alg: 'HS256', typ: 'JWT' };
  return rng.chance(0.5)
    ? { alg: rng.pick(['none', 'HS512', 'RS256', 'hs256', '', 'ES256']), typ: 'JWT' }
    : randomJson(rng, { keys: ['alg', 'typ', 'kid', 'crit', 'b64', 'jku'] });
}

function token(rng: Rng): string {
  const r = rng.float();
  const good = sign(header(rng), claims(rng), rng.chance(0.9) ? SECRET : 'other');
  if (r < 0.35) return good;
  if (r < 0.75) return mutateText(rng, good);
  if (r < 0.85) return good.slice(0, rng.int(0, good.length));
  if (r < 0.9) return `${b64({ alg: 'none' })}.${b64(claims(rng))}.`;
  return randomString(rng, ['', '.', '..', 'a.b.c', 'Bearer x'], 200);
}

export const tokens: Target = {
  name: 'tokens',
  weight: 5,
  async run(rng) {
    const t = token(rng);
    try {
      const c = await verifier.verify(t);
      if (typeof c.user !== 'string')
        throw new Defect(`accepted a token whose user is a ${typeof c.user}`, t);
      if (c.exp !== undefined && !Number.isFinite(c.exp)) throw new Defect('accepted a non-numeric exp', t);
    } catch (err) {
      if (err instanceof Defect) throw err;
      if (!(err instanceof TokenError))
        throw new Defect(`${(err as Error).name}: ${(err as Error).message}`, t);
    }
  },
};
