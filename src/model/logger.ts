// The one logger shape every layer writes to. pino's logger satisfies it; the hub and the engines
// depend on this shape only, so they can be used (and tested) without pino.

type LogFn = (obj: object, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** For embedders and tests that want no output. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
