// Every in-process target. Fast ones first: time they leave unused goes to the slow ones after them.
import type { Target } from '../runner.js';
import { api } from './api.js';
import { centrifugeCommands } from './centrifuge-commands.js';
import { cursor } from './cursor.js';
import { mqttPackets } from './mqtt-packets.js';
import { payload } from './payload.js';
import { query } from './query.js';
import { tokens } from './token.js';
import { wsFrames } from './ws-frames.js';

export const inProcessTargets: Target[] = [
  cursor,
  query,
  mqttPackets,
  wsFrames,
  tokens,
  payload,
  centrifugeCommands,
  api,
];
