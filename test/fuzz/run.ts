// `npm run fuzz`: a full pass. In-process parsers first (the bulk of the cases), then hostile input
// over real sockets to one server process. Exits non-zero on any failure, printing how to replay it.
//   npm run fuzz -- --seed 7 --cases 1000000 --seconds 150 --socket-cases 30000 --socket-seconds 60
//   npm run fuzz -- --seed 7 --only cursor --index 1234        (replay one case)
import { parseArgs } from 'node:util';
import { type Failure, runTargets } from './runner.js';
import { socketPass } from './sockets/pass.js';
import { inProcessTargets } from './targets/index.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    cases: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '150' },
    'socket-cases': { type: 'string', default: '30000' },
    'socket-seconds': { type: 'string', default: '60' },
    only: { type: 'string' },
    index: { type: 'string' },
  },
});
const seed = Number(values.seed);
const index = values.index === undefined ? undefined : Number(values.index);
const log = (line: string) => console.log(line);
const heap = () => {
  global.gc?.();
  return process.memoryUsage().heapUsed;
};

console.log(`fuzz seed ${seed}`);
const started = performance.now();
const failures: Failure[] = [];
const problems: string[] = [];
let total = 0;

const isSocket = values.only?.startsWith('socket-');
if (!isSocket) {
  const before = heap();
  const r = await runTargets(inProcessTargets, {
    seed,
    cases: Number(values.cases),
    seconds: Number(values.seconds),
    only: values.only,
    index,
    log,
  });
  failures.push(...r.failures);
  total += r.stats.reduce((n, s) => n + s.cases, 0);
  const grew = heap() - before;
  console.log(`in-process heap ${grew >= 0 ? '+' : ''}${(grew / 2 ** 20).toFixed(1)} MB`);
  if (global.gc && grew > 64 * 2 ** 20)
    problems.push(`in-process heap grew ${(grew / 2 ** 20).toFixed(1)} MB`);
}
if (values.only === undefined || isSocket) {
  const r = await socketPass({
    seed,
    cases: Number(values['socket-cases']),
    seconds: Number(values['socket-seconds']),
    only: values.only,
    index,
    log,
    maxHeapGrowth: 48 * 2 ** 20,
  });
  failures.push(...r.failures);
  problems.push(...r.problems);
  total += r.stats.reduce((n, s) => n + s.cases, 0);
  console.log(
    `server heap ${(r.heapBefore / 2 ** 20).toFixed(1)} -> ${(r.heapAfter / 2 ** 20).toFixed(1)} MB; ` +
      `${r.published} publications watched over SSE, WebSocket and MQTT`,
  );
}

console.log(`${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const f of failures) {
  console.log(`\nFAIL ${f.target} case ${f.index}: ${f.message}`);
  if (f.input) console.log(`  input: ${f.input}`);
  console.log(`  replay: npm run fuzz -- --seed ${f.seed} --only ${f.target} --index ${f.index}`);
}
for (const p of problems) console.log(`\nFAIL ${p}`);
process.exit(failures.length + problems.length > 0 ? 1 : 0);
