// Connection ids: random UUIDs, unique across the cluster, stored flat. crypto.randomUUID() returns
// a string built from ~15 concatenated pieces that V8 keeps as a tree of cons-strings (~480 bytes
// per id, measured with a heap snapshot of 2,000 idle /chat connections); a session holds its id for
// its whole life, so it is copied once into one flat 36-byte string.
import { randomUUID } from 'node:crypto';

export function connectionId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
