// `herald gentoken --user ID [--ttl 1h]`: a connection token signed with the key the server would
// verify it with, read from the same places (HERALD_* variables, the config file), so a token made
// here works against a server started from the same shell or file.
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { UsageError } from './cli-client.js';
import { ConfigError, parseDuration, readConfigFile, resolveConfig } from './config.js';

export async function genToken(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  let values: { user?: string; ttl?: string; info?: string; config?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        user: { type: 'string' },
        ttl: { type: 'string' },
        info: { type: 'string' },
        config: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\s+/g, ' ')} (see herald gentoken --help)`);
  }
  if (values.user === undefined || values.user === '') {
    throw new UsageError('herald gentoken needs --user ID, the user the token names');
  }
  const ttl = parseDuration(values.ttl ?? '1h', 's');
  if (ttl === undefined || ttl < 0) {
    throw new UsageError(
      `--ttl "${values.ttl}" is not a duration; give e.g. 30m, 1h or 7d (0 = never expires)`,
    );
  }
  let info: unknown;
  if (values.info !== undefined) {
    try {
      info = JSON.parse(values.info);
    } catch {
      throw new UsageError(`--info must be JSON, e.g. --info '{"name":"Ada"}'`);
    }
  }
  const configPath = values.config ?? env.HERALD_CONFIG;
  let secret: string;
  try {
    const config = resolveConfig({ env, file: configPath ? readConfigFile(configPath) : undefined });
    secret = config.tokenHmacSecret;
    if (secret === '') {
      const other =
        config.tokenPublicKey !== '' ? 'tokenPublicKey' : config.tokenJwksUrl !== '' ? 'tokenJwksUrl' : '';
      throw new ConfigError(
        other === ''
          ? 'no token key is configured: set HERALD_TOKEN_HMAC_SECRET (or tokenHmacSecret in --config FILE), as for the server'
          : `the server verifies tokens with ${other}: sign them with its private key; gentoken signs with tokenHmacSecret only`,
      );
    }
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const jwt = new SignJWT({ ...(info === undefined ? {} : { info }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(values.user)
    .setIssuedAt();
  if (ttl > 0) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(ttl));
  return jwt.sign(new TextEncoder().encode(secret));
}
