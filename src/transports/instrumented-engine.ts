// Times every engine operation and every hub dispatch without either knowing: the engine is
// wrapped where the server builds it, and the hub's sink is wrapped when the engine starts.
import type { Engine, EngineSink } from '../model/index.js';
import type { HeraldStats } from './door-stats.js';

const seconds = (startMs: number) => (performance.now() - startMs) / 1000;

/**
 * Operations an engine may do at once, timed as the operation they stand for (a failed one throws,
 * as a failed publish() rejects, and is counted the same way). Other synchronous methods
 * (mqttStore) are not engine operations and stay out of the metrics.
 */
const SYNC_OPS: Record<string, string | undefined> = { publishNow: 'publish' };

export function instrumentEngine(engine: Engine, stats: HeraldStats): Engine {
  const timed = new Map<PropertyKey, unknown>();
  return new Proxy(engine, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let wrapped = timed.get(prop);
      if (wrapped) return wrapped;
      // Made on the first call, so the metrics list only operations that ran.
      let op: ReturnType<HeraldStats['engineOp']> | undefined;
      wrapped =
        prop === 'start'
          ? (sink: EngineSink) => target.start(timedSink(sink, stats))
          : (...args: unknown[]) => {
              op ??= stats.engineOp(SYNC_OPS[prop] ?? prop);
              const timer = op;
              const t0 = performance.now();
              let result: unknown;
              try {
                result = (value as (...a: unknown[]) => unknown).apply(target, args);
              } catch (err) {
                if (SYNC_OPS[prop] !== undefined) {
                  timer.observe(seconds(t0));
                  timer.errors++;
                }
                throw err;
              }
              if (!(result instanceof Promise)) {
                if (SYNC_OPS[prop] !== undefined) timer.observe(seconds(t0));
                return result;
              }
              return result.then(
                (v) => {
                  timer.observe(seconds(t0));
                  return v;
                },
                (err) => {
                  timer.observe(seconds(t0));
                  timer.errors++;
                  throw err;
                },
              );
            };
      timed.set(prop, wrapped);
      return wrapped;
    },
  });
}

function timedSink(sink: EngineSink, stats: HeraldStats): EngineSink {
  const onPublication = sink.onPublication.bind(sink);
  // Everything else the sink offers passes through as it is (node messages, resync, and whatever
  // the hub offers next): only the timing of publications is added here.
  return {
    ...sink,
    onPublication(pub) {
      const t0 = performance.now();
      onPublication(pub);
      stats.publications++;
      stats.dispatch.observe(seconds(t0));
    },
  };
}
