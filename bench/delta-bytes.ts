// Bytes on the wire for a changing JSON document, with and without Fossil deltas: two SDK clients
// (JSON over WebSocket) on a channel that allows deltas, one asking for them, one not, each counting
// the bytes of every WebSocket message it receives after subscribing.
// Run: npx tsx bench/delta-bytes.ts [publications=100] [rows=52]. Loopback only, a few seconds.
import { Centrifuge, type Subscription } from 'centrifuge';
import WebSocket from 'ws';
import { OPEN_NAMESPACE } from '../src/config/schemas.js';
import { createHerald } from '../src/server.js';

const [pubs = 100, rows = 52] = process.argv.slice(2).map(Number);
const herald = await createHerald({
  port: 0,
  host: '127.0.0.1',
  logLevel: 'silent',
  mqttPort: 0,
  channelOptions: { 'doc:': { allowedDeltaTypes: ['fossil'] } },
  namespaces: { doc: OPEN_NAMESPACE },
});
const url = `ws://127.0.0.1:${herald.address().port}/connection/websocket`;

/** A document of about 2 KB (52 rows) in which one field changes per publication. */
const doc = (version: number) => ({
  version,
  updatedBy: 'editor-7',
  rows: Array.from({ length: rows }, (_, i) => ({ id: i, label: `row ${i}`, value: i * 7 })),
});

interface Counted {
  sub: Subscription;
  bytes: number;
  seen: number;
}

function counted(delta: boolean): Counted {
  const out = { bytes: 0, seen: 0 } as Counted;
  class CountingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data: Buffer) => {
        out.bytes += data.length;
      });
    }
  }
  const c = new Centrifuge(url, { websocket: CountingWebSocket });
  out.sub = c.newSubscription('doc:bench', delta ? { delta: 'fossil' } : {});
  out.sub.on('publication', () => out.seen++);
  out.sub.subscribe();
  c.connect();
  return out;
}

const full = counted(false);
const delta = counted(true);
await Promise.all([full.sub.ready(), delta.sub.ready()]);
full.bytes = 0;
delta.bytes = 0;
for (let v = 1; v <= pubs; v++) await herald.hub.publish('doc:bench', { data: doc(v) });
while (full.seen < pubs || delta.seen < pubs) await new Promise((r) => setImmediate(r));

const docBytes = Buffer.byteLength(JSON.stringify(doc(pubs)));
const stats = delta.sub.deltaStats();
console.log(`document: ${docBytes} bytes of JSON, ${pubs} publications, one field changing each time`);
console.log(`full:  ${full.bytes} bytes received (${Math.round(full.bytes / pubs)} per publication)`);
console.log(
  `delta: ${delta.bytes} bytes received (${Math.round(delta.bytes / pubs)} per publication; ` +
    `${stats.numFullPayloads} whole, ${stats.numDeltaPayloads} deltas)`,
);
console.log(`ratio: ${(delta.bytes / full.bytes).toFixed(3)}`);
process.exit(0);
