// `batch`: several API calls in one request. Two command shapes are accepted: Centrifugo's current
// `{"publish": {...}}` (answered `{"publish": result}`) and the older `{"method", "params"}`
// (answered `{"result": result}`); either way a failed command is answered `{"error": {...}}`.
import { z } from 'zod';
import { HeraldError, toHeraldError } from '../errors.js';
import { type ApiContext, callMethod } from './methods.js';

const batchParams = z.object({
  commands: z.array(z.record(z.string(), z.unknown())),
  parallel: z.boolean().optional(),
});

async function runCommand(ctx: ApiContext, cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  const legacy = typeof cmd.method === 'string';
  const keys = Object.keys(cmd);
  try {
    if (legacy) return { result: await callMethod(ctx, cmd.method as string, cmd.params) };
    if (keys.length !== 1) throw new HeraldError('BAD_REQUEST', 'a batch command names exactly one method');
    const name = keys[0];
    if (name === 'batch') throw new HeraldError('BAD_REQUEST', 'batches do not nest');
    return { [name]: await callMethod(ctx, name, cmd[name]) };
  } catch (err) {
    return { error: toHeraldError(err).toJSON() };
  }
}

/** Answers `{replies: [...]}` in command order; with `parallel` the commands run concurrently. */
export async function runBatch(
  ctx: ApiContext,
  params: unknown,
): Promise<{ replies: Record<string, unknown>[] }> {
  const parsed = batchParams.safeParse(params ?? {});
  if (!parsed.success) throw new HeraldError('BAD_REQUEST', 'batch takes {"commands": [ {...}, ... ]}');
  const { commands, parallel } = parsed.data;
  const max = ctx.config.maxBatchCommands;
  if (commands.length > max) {
    throw new HeraldError('LIMIT_EXCEEDED', `at most ${max} commands per batch, got ${commands.length}`);
  }
  // Many broadcasts in one batch are one big broadcast: the same bound holds for all of them.
  const named = commands.reduce((n, c) => n + broadcastChannels(c), 0);
  if (named > ctx.config.maxBroadcastChannels) {
    throw new HeraldError(
      'LIMIT_EXCEEDED',
      `at most ${ctx.config.maxBroadcastChannels} broadcast channels per batch, got ${named}`,
    );
  }
  if (parallel) return { replies: await Promise.all(commands.map((c) => runCommand(ctx, c))) };
  const replies: Record<string, unknown>[] = [];
  for (const c of commands) replies.push(await runCommand(ctx, c));
  return { replies };
}

/** How many channels a batch command broadcasts to (0 for anything else or a malformed one). */
function broadcastChannels(cmd: Record<string, unknown>): number {
  const params = cmd.method === 'broadcast' ? cmd.params : cmd.broadcast;
  const channels = (params as { channels?: unknown } | undefined)?.channels;
  return Array.isArray(channels) ? channels.length : 0;
}
