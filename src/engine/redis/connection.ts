// The one way Herald builds a Redis connection from its configuration: the URL is handed to ioredis
// whole (so `rediss://` keeps TLS and credentials go where the URL says), and every connection gets
// an error listener that logs through Herald's logger once per outage, never ioredis' own
// "Unhandled error event" on stderr.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../model/index.js';

export interface RedisConnectionOptions {
  url: string;
  /** What the connection is for, in logs and in CLIENT LIST (e.g. "herald:bus"). */
  name: string;
  log?: Logger;
  /** ioredis options on top of the URL's. */
  redis?: RedisOptions;
}

/** A Redis connection whose trouble is logged once when it starts and once when it ends. */
export function createRedisConnection(o: RedisConnectionOptions): Redis {
  const conn = new Redis(o.url, { connectionName: o.name, ...o.redis });
  watch(conn, o);
  return conn;
}

function watch(conn: Redis, o: RedisConnectionOptions): void {
  let down = false;
  let everReady = false;
  const url = redactUrl(o.url);
  conn.on('error', (err: Error) => {
    if (down) return; // one line per outage; ioredis keeps retrying meanwhile
    down = true;
    o.log?.warn(
      { connection: o.name, url, err: err.message },
      everReady
        ? 'Redis is unreachable; retrying (commands fail with a retryable error meanwhile)'
        : 'Redis is unreachable; retrying',
    );
  });
  conn.on('ready', () => {
    if (down || everReady) o.log?.info({ connection: o.name }, 'Redis connection ready');
    down = false;
    everReady = true;
  });
  conn.on('close', () => {
    if (everReady && !down && conn.status !== 'end') {
      down = true;
      o.log?.warn({ connection: o.name }, 'Redis connection lost; reconnecting');
    }
  });
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable redis url)';
  }
}
