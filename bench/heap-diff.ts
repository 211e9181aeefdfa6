// `tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot N [ROWS]`: what N added connections
// cost in the V8 heap, by object kind (constructor or closure name), in bytes per connection.
// Snapshots come from `npm run bench -- --scenario idle-chat --heap-snapshots`.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function tally(file: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + fType]];
    let name = s.strings[s.nodes[i + fName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else if (type === 'code' || type === 'hidden' || type === 'array')
      name = `(${type}) ${name.slice(0, 40)}`;
    else name = `${type === 'object' ? '' : `(${type}) `}${name.slice(0, 60)}`;
    const e = out.get(name) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += s.nodes[i + fSize];
    out.set(name, e);
  }
  return out;
}

const [beforeFile, afterFile, nArg, rowsArg = '25'] = process.argv.slice(2);
const n = Number(nArg);
const before = tally(beforeFile);
const after = tally(afterFile);
const rows: { name: string; count: number; bytes: number }[] = [];
let total = 0;
for (const [name, a] of after) {
  const b = before.get(name) ?? { count: 0, bytes: 0 };
  const bytes = a.bytes - b.bytes;
  total += bytes;
  rows.push({ name, count: a.count - b.count, bytes });
}
rows.sort((x, y) => y.bytes - x.bytes);
process.stdout.write(`heap growth per connection: ${(total / n).toFixed(0)} bytes (${n} connections)\n`);
process.stdout.write('bytes/conn  objects/conn  kind\n');
for (const r of rows.slice(0, Number(rowsArg))) {
  process.stdout.write(
    `${(r.bytes / n).toFixed(1).padStart(10)}  ${(r.count / n).toFixed(2).padStart(12)}  ${r.name}\n`,
  );
}
