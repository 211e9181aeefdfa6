// Payload mapping and SSE framing: bytes survive fromBytes/toBytes exactly, JSON data survives the
// bytes view, and every publication's SSE event parses (as a browser parses it) back to the same
// publication, with an id that is a valid cursor for its channel.
import { deepStrictEqual } from 'node:assert/strict';
import type { Publication } from '../../../src/model/index.js';
import { decodeCursor } from '../../../src/protocol/cursor.js';
import { fromBytes, toBytes } from '../../../src/protocol/payload.js';
import { publicationJson } from '../../../src/protocol/publication.js';
import { publicationFrame } from '../../../src/protocol/sse.js';
import { mutateBytes, randomJson, randomJsonText, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';

/** The WHATWG event-stream parser, for one event: data lines joined by LF, and the last id. */
function parseEvent(text: string): { data: string; id: string; event: string } {
  const data: string[] = [];
  let id = '';
  let event = 'message';
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'event') event = value;
  }
  return { data: data.join('\n'), id, event };
}

function bytesInput(rng: Rng): Buffer {
  const r = rng.float();
  if (r < 0.3) return rng.bytes(rng.size(200));
  if (r < 0.6) return Buffer.from(randomJsonText(rng));
  if (r < 0.8) return Buffer.from(randomString(rng, [], 64));
  return mutateBytes(rng, Buffer.from(randomJsonText(rng)));
}

export const payload: Target = {
  name: 'payload-sse',
  weight: 15,
  run(rng) {
    const bytes = bytesInput(rng);
    const req = fromBytes(bytes, rng.chance(0.5));
    if (!toBytes(req).equals(bytes)) throw new Defect('bytes did not survive fromBytes/toBytes', bytes);

    // JSON data without the original bytes (an API publish) gives back the same JSON.
    const data = rng.chance(0.5) ? req.data : randomJson(rng);
    if (typeof data !== 'string') {
      const back = fromBytes(toBytes({ data })).data;
      try {
        deepStrictEqual(back, JSON.parse(JSON.stringify(data)));
      } catch {
        throw new Defect('JSON data did not survive toBytes/fromBytes', data);
      }
    }

    const pub: Publication = {
      channel: randomString(rng, ['news', '__proto__', 'a\nb']),
      offset: rng.int(1, 1e9),
      epoch: randomString(rng, ['e']),
      data,
      time: Date.now(),
    } as Publication;
    const frame = publicationFrame(pub);
    const ev = parseEvent(frame.fields.toString() + frame.soloId.toString());
    if (ev.event !== 'message') throw new Defect(`event type ${ev.event}`, data);
    try {
      deepStrictEqual(JSON.parse(ev.data), JSON.parse(JSON.stringify(publicationJson(pub))));
    } catch {
      throw new Defect('SSE event does not parse back to the publication', pub);
    }
    const pos = decodeCursor(ev.id).get(pub.channel);
    if (!pos || pos.offset !== pub.offset || pos.epoch !== pub.epoch)
      throw new Defect('SSE id is not the publication position', pub);
    const chunk = frame.soloChunk.toString('latin1');
    const size = Number.parseInt(chunk.slice(0, chunk.indexOf('\r\n')), 16);
    if (size !== frame.fields.length + frame.soloId.length) throw new Defect('chunk size line is wrong', pub);
  },
};
