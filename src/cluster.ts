// `herald serve --workers N`: the primary process forks N workers that share the listening port
// (node:cluster hands connections out) and share channel state through the Redis engine. The primary
// serves nothing itself; it restarts a worker that dies and forwards a shutdown to every worker.
import cluster, { type Worker } from 'node:cluster';
import { type Config, ConfigError } from './config.js';
import type { Logger } from './model/index.js';

/** Workers restarted faster than this after starting are not restarted again (a crash loop). */
const MIN_UPTIME_MS = 5000;

export function checkWorkers(config: Config): void {
  if (config.workers > 1 && config.engine !== 'redis') {
    throw new ConfigError(
      `--workers ${config.workers} needs --engine redis: workers share channel state through Redis, ` +
        'the memory engine would give each worker its own channels',
    );
  }
}

/** Runs the primary: forks workers and supervises them until a signal stops everything. */
export function runPrimary(config: Config, log: Logger): void {
  let stopping = false;
  const started = new Map<Worker, number>();
  const fork = () => {
    const w = cluster.fork();
    started.set(w, Date.now());
    return w;
  };
  log.info({ workers: config.workers, port: config.port, engine: config.engine }, 'starting workers');
  for (let i = 0; i < config.workers; i++) fork();

  cluster.on('exit', (worker, code, signal) => {
    const uptime = Date.now() - (started.get(worker) ?? 0);
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) {
        log.info('every worker stopped');
        process.exit(0);
      }
      return;
    }
    if (uptime < MIN_UPTIME_MS) {
      log.error(
        { pid: worker.process.pid, code, signal },
        'worker died right after starting; not restarting it',
      );
      if (started.size === 0) process.exit(1);
      return;
    }
    log.warn({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: started.size }, 'stopping workers');
    for (const w of started.keys()) w.process.kill('SIGTERM');
    if (started.size === 0) process.exit(0);
    // Workers exit on their own at shutdownDeadline; this is for one whose event loop is stuck
    // and cannot even run that timer. The margin lets a worker's own deadline report come first.
    setTimeout(() => {
      log.error('workers did not stop in time; killing them');
      for (const w of started.keys()) w.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownDeadline + 5000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

export const isPrimary = () => cluster.isPrimary;
