// Every in-process target, in the order a run takes them.
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
  centrifugeCommands,
  cursor,
  query,
  api,
  tokens,
  mqttPackets,
  wsFrames,
  payload,
];
