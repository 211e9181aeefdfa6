import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

/** Structured logs: JSON for machines, pretty when a person watches a terminal. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logPretty'>): Logger {
  const pretty =
    config.logPretty === 'true' || (config.logPretty === 'auto' && process.stdout.isTTY === true);
  return pino({
    level: config.logLevel,
    base: { pid: process.pid },
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
  });
}
