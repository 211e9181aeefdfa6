// The socket phase: one server process, well-behaved clients connected throughout, the socket
// targets, then the checks that span the whole run (still up, every publication delivered in
// order, clients released, heap back near where it started).
import { get } from '../../helpers/http.js';
import { until } from '../../helpers/until.js';
import { type Failure, type RunOptions, runTargets, type TargetStats } from '../runner.js';
import { mqttSessions } from './mqtt-sessions.js';
import { metric, settledHeap, startFuzzServer, Watchers } from './server.js';
import { httpRaw, mqttTcp, wsRaw } from './targets.js';

export interface SocketPassResult {
  stats: TargetStats[];
  failures: Failure[];
  /** Whole-run properties that did not hold. */
  problems: string[];
  heapBefore: number;
  heapAfter: number;
  published: number;
}

export async function socketPass(opts: RunOptions & { maxHeapGrowth: number }): Promise<SocketPassResult> {
  const s = await startFuzzServer();
  const base = `http://127.0.0.1:${s.port}`;
  const problems: string[] = [];
  try {
    const watchers = await Watchers.start(s);
    const clientsBefore = await metric(base, 'herald_clients');
    const heapBefore = await settledHeap(base);
    watchers.publishEvery(50);
    const { stats, failures } = await runTargets([wsRaw(s), mqttTcp(s), mqttSessions(s), httpRaw(s)], opts);
    const { sent, problems: delivery } = await watchers
      .stop()
      .catch((err: Error) => ({ sent: 0, problems: [err.message] }));
    problems.push(...delivery);
    if (sent === 0) problems.push('the watchers publisher never published');
    if (s.h.child.exitCode !== null || s.h.child.signalCode !== null) {
      problems.push(
        `the server exited (${s.h.child.exitCode ?? s.h.child.signalCode}):\n${s.h.output().slice(-3000)}`,
      );
      return { stats, failures, problems, heapBefore, heapAfter: 0, published: sent };
    }
    // Hostile input must be refused before it reaches code that fails: no error-level log line.
    const errorLines = s.h
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l));
    if (errorLines.length > 0)
      problems.push(
        `the server logged ${errorLines.length} error(s), first:\n${errorLines[0].slice(0, 1500)}`,
      );
    if ((await get(`${base}/healthz`)).status !== 200) problems.push('/healthz is not 200 after the run');
    // Every fuzz connection is gone: the count drops back to the watchers' (which also left now).
    await until(async () => (await metric(base, 'herald_clients')) <= clientsBefore - 3, {
      what: 'every client connection of the run to be released',
      timeoutMs: 10_000,
      intervalMs: 200,
    }).catch(async () =>
      problems.push(
        `herald_clients is ${await metric(base, 'herald_clients')}, was ${clientsBefore} with the 3 watchers`,
      ),
    );
    const heapAfter = await settledHeap(base);
    if (heapAfter - heapBefore > opts.maxHeapGrowth) {
      problems.push(`heap grew by ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MB over the run`);
    }
    return { stats, failures, problems, heapBefore, heapAfter, published: sent };
  } finally {
    s.h.child.kill('SIGTERM');
    await s.h.exited;
  }
}
