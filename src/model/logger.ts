// The one logger shape every layer writes to. pino's logger satisfies it; the hub and the engines
// depend on this shape only, so they can be used (and tested) without pino.

interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose lines carry these fields too (e.g. the component). */
  child(bindings: Record<string, unknown>): Logger;
  /** Lets a hot path skip building a line nobody will read. */
  isLevelEnabled(level: string): boolean;
}

/** For embedders and tests that want no output. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
  isLevelEnabled: () => false,
};
