// How much one address can take from a server: opens N SSE streams from 127.0.0.1 against
// `herald serve` in a child process, and reports how many were accepted and the server's resident
// memory before and after. Limits come from the extra arguments, e.g.
//   npx tsx bench/connection-flood.ts 5000 --max-connections-per-ip 0 --connection-rate-per-ip 0
//   npx tsx bench/connection-flood.ts 5000            (the defaults)
import { readFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { startHeraldProcess } from '../test/helpers/process.js';

const n = Number(process.argv[2] ?? 5000);
const extra = process.argv.slice(3);

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
};

const herald = await startHeraldProcess(['--log-level', 'info', ...extra]);
const pid = herald.child.pid as number;
await new Promise((r) => setTimeout(r, 500));
const before = rssMb(pid);
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const statuses = new Map<number, number>();
const open: { destroy(): void }[] = [];
const started = performance.now();
let answered = 0;
await new Promise<void>((done) => {
  const settle = (status: number) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (++answered === n) done();
  };
  for (let i = 0; i < n; i++) {
    const req = get(`${herald.http}/sse?channel=flood${i % 50}`, { agent }, (res) => {
      settle(res.statusCode ?? 0);
      res.resume();
    });
    req.on('error', () => settle(-1));
    open.push(req);
  }
  setTimeout(done, 30_000).unref();
});
await new Promise((r) => setTimeout(r, 1000));
const after = rssMb(pid);
console.log(
  JSON.stringify({
    attempted: n,
    statuses: Object.fromEntries(statuses),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    serverRssMb: { before, after, added: after - before },
    args: extra,
  }),
);
for (const r of open) r.destroy();
herald.child.kill('SIGTERM');
await herald.exited;
process.exit(0);
