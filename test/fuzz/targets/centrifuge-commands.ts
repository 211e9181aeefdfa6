// The WebSocket channel protocol's JSON command decoder: any text frame decodes to well-formed
// commands or is refused as a bad request; nothing else may escape it.
import { type Command, decodeFrame, METHODS } from '../../../src/protocol/centrifuge/commands.js';
import { deepNesting, mutateText, randomJson, randomJsonText } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, expectHeraldError, type Target } from '../runner.js';

const FIELDS = [
  'channel',
  'token',
  'data',
  'name',
  'version',
  'recover',
  'epoch',
  'offset',
  'positioned',
  'recoverable',
  'join_leave',
  'limit',
  'since',
  'reverse',
  'method',
];
const WORDS = ['news', 'chat:1', '$private', '', 'a'.repeat(300), '0', '18446744073709551615', '4294967296'];

function command(rng: Rng): unknown {
  const cmd: Record<string, unknown> = {};
  if (rng.chance(0.9)) cmd.id = rng.chance(0.7) ? rng.int(0, 1000) : randomJson(rng, { maxDepth: 1 });
  const n = rng.chance(0.8) ? 1 : rng.int(0, 3);
  for (let i = 0; i < n; i++) {
    const m = rng.chance(0.9) ? rng.pick(METHODS) : rng.pick(['pong', 'unknown', 'batch', '__proto__']);
    cmd[m] = rng.chance(0.85)
      ? randomJson(rng, { keys: FIELDS, words: WORDS, maxDepth: 3 })
      : randomJson(rng);
  }
  return cmd;
}

function frame(rng: Rng): string {
  const r = rng.float();
  if (r < 0.05) return deepNesting(rng);
  if (r < 0.15) return randomJsonText(rng);
  const lines: string[] = [];
  const n = rng.chance(0.8) ? 1 : rng.int(0, 5);
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(command(rng)));
  let text = lines.join(rng.pick(['\n', '\n\n', '\r\n', ' \n']));
  if (rng.chance(0.35)) text = mutateText(rng, text);
  return text;
}

function checkShape(c: Command, text: string): void {
  if (!Number.isInteger(c.id) || c.id < 0 || c.id > 0xffffffff)
    throw new Defect(`id ${c.id} out of range`, text);
  if (c.method !== 'pong' && c.method !== 'unknown' && !(METHODS as readonly string[]).includes(c.method))
    throw new Defect(`unknown method ${c.method}`, text);
  const p = c.params as Record<string, unknown>;
  if ('channel' in p && typeof p.channel !== 'string') throw new Defect('channel is not a string', text);
  if (c.method === 'subscribe' && (!Number.isSafeInteger(c.params.offset) || c.params.offset < 0))
    throw new Defect('subscribe offset is not a safe non-negative integer', text);
  if (c.method === 'history' && c.params.limit !== undefined && !Number.isSafeInteger(c.params.limit))
    throw new Defect('history limit is not an integer', text);
  if (c.method !== 'send' && c.method !== 'pong' && c.id === 0)
    throw new Defect(`${c.method} decoded without id`, text);
}

export const centrifugeCommands: Target = {
  name: 'centrifuge-commands',
  weight: 25,
  run(rng) {
    const text = frame(rng);
    let commands: Command[];
    try {
      commands = decodeFrame(text);
    } catch (err) {
      expectHeraldError(err, ['BAD_REQUEST'], text);
      return;
    }
    if (commands.length === 0) throw new Defect('decoded to no commands', text);
    for (const c of commands) checkShape(c, text);
  },
};
