// `tsx bench/profile-summary.ts FILE.cpuprofile [N]`: the N functions with the most self time in a
// V8 CPU profile (from `npm run bench -- --cpu-prof`), as a plain table for docs and reviews.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const byName = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const h = hits.get(node.id) ?? 0;
  if (h === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')}:${lineNumber + 1}`
    : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  byName.set(key, (byName.get(key) ?? 0) + h);
  total += h;
}
const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
// Shares of busy time: idle samples say only how long the profile ran.
const busy = total - (byName.get('(idle)') ?? 0);
process.stdout.write(`${total} samples, ${busy} busy; % of busy time:\n`);
for (const [name, h] of top) {
  if (name !== '(idle)') process.stdout.write(`${((100 * h) / busy).toFixed(1).padStart(5)}%  ${name}\n`);
}
