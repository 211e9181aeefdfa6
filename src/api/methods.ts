// The server API's methods: each one a params schema and a call on the hub. The shapes follow
// Centrifugo's server HTTP API (snake_case), so its server-side client libraries work unchanged.
import { z } from 'zod';
import type { Config } from '../config.js';
import { HeraldError, toHeraldError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import type { HistoryQuery, PublishRequest } from '../model/index.js';
import { fromBytes } from '../protocol/payload.js';
import { clientInfoJson } from '../protocol/publication.js';
import { globMatch } from './glob.js';
import { disconnectUser, refreshUser, subscribeUser, unsubscribeUser, userSchemas } from './user-methods.js';

/** What every method runs against: the hub, and the limits it enforces. */
export interface ApiContext {
  readonly hub: Hub;
  readonly config: Pick<Config, 'maxPatternLength' | 'maxBroadcastChannels' | 'maxBatchCommands'>;
}

interface Method<S extends z.ZodTypeAny = z.ZodTypeAny> {
  params: S;
  run(ctx: ApiContext, params: z.infer<S>): Promise<unknown>;
}
const method = <S extends z.ZodTypeAny>(
  params: S,
  run: (ctx: ApiContext, p: z.infer<S>) => Promise<unknown>,
): Method<S> => ({
  params,
  run,
});

const channel = z.string({ error: 'channel must be a string' });
const position = z.object({ offset: z.number().int().min(0), epoch: z.string() });
// Either JSON `data` or base64 `b64data` (binary payloads), as in Centrifugo.
const payload = {
  data: z.unknown().optional(),
  b64data: z.string().optional(),
};

function publishRequest(p: { data?: unknown; b64data?: string }): PublishRequest {
  if (p.b64data !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(p.b64data))
      throw new HeraldError('BAD_REQUEST', 'b64data is not base64');
    return fromBytes(Buffer.from(p.b64data, 'base64'), true);
  }
  if (p.data === undefined) throw new HeraldError('BAD_REQUEST', 'data is required');
  return { data: p.data };
}

async function publishOne(hub: Hub, ch: string, req: PublishRequest) {
  const pub = await hub.publish(ch, req);
  return { offset: pub.offset, epoch: pub.epoch };
}

export const methods: Record<string, Method> = {
  publish: method(z.object({ channel, ...payload }), async ({ hub }, p) =>
    publishOne(hub, p.channel, publishRequest(p)),
  ),

  broadcast: method(z.object({ channels: z.array(channel), ...payload }), async ({ hub, config }, p) => {
    // Refused whole, before anything is published: a partial broadcast would be worse than none.
    const max = config.maxBroadcastChannels;
    if (p.channels.length > max) {
      throw new HeraldError(
        'LIMIT_EXCEEDED',
        `at most ${max} channels per broadcast, got ${p.channels.length}`,
      );
    }
    const req = publishRequest(p);
    // Every channel is tried: one bad name must not stop the others, and each gets its own answer.
    const responses = await Promise.all(
      p.channels.map((c) =>
        publishOne(hub, c, req).then(
          (result) => ({ result }),
          (err) => ({ error: toHeraldError(err).toJSON() }),
        ),
      ),
    );
    return { responses };
  }),

  history: method(
    z.object({
      channel,
      limit: z.number().int().min(-1).optional(),
      since: position.optional(),
      reverse: z.boolean().optional(),
    }),
    async ({ hub }, p) => {
      // As in Centrifugo: no limit (or 0) = only the stream position; -1 = everything kept.
      const query: HistoryQuery = { limit: p.limit === undefined ? 0 : p.limit === -1 ? undefined : p.limit };
      if (p.since) query.since = p.since;
      if (p.reverse) query.reverse = true;
      const h = await hub.history(p.channel, query);
      if (p.since && p.since.epoch !== h.position.epoch) {
        throw new HeraldError('UNRECOVERABLE_POSITION', `epoch is now ${h.position.epoch}`);
      }
      return {
        publications: h.publications.map((pub) => {
          const out: { data: unknown; offset: number; info?: unknown } = {
            data: pub.data,
            offset: pub.offset,
          };
          if (pub.info) out.info = clientInfoJson(pub.info);
          return out;
        }),
        offset: h.position.offset,
        epoch: h.position.epoch,
      };
    },
  ),

  history_remove: method(z.object({ channel }), async ({ hub }, p) => {
    await hub.removeHistory(p.channel);
    return {};
  }),

  presence: method(z.object({ channel }), async ({ hub }, p) => {
    const present = await hub.presence(p.channel);
    const out: Record<string, unknown> = {};
    for (const [id, info] of Object.entries(present)) out[id] = clientInfoJson(info);
    return { presence: out };
  }),

  presence_stats: method(z.object({ channel }), async ({ hub }, p) => {
    const s = await hub.presenceStats(p.channel);
    return { num_clients: s.numClients, num_users: s.numUsers };
  }),

  channels: method(z.object({ pattern: z.string().optional() }), async ({ hub, config }, p) => {
    const { pattern } = p;
    // Matching costs pattern length x name length per channel: bound the one the caller controls.
    if (pattern && pattern.length > config.maxPatternLength) {
      throw new HeraldError('BAD_REQUEST', `pattern longer than ${config.maxPatternLength} characters`);
    }
    const out: Record<string, { num_clients: number }> = {};
    const names = (await hub.channelsList()).filter((name) => !pattern || globMatch(pattern, name));
    const counts = await hub.channelCounts(names);
    names.forEach((name, i) => {
      out[name] = { num_clients: counts[i] };
    });
    return { channels: out };
  }),

  subscribe: method(userSchemas.subscribe, ({ hub }, p) => subscribeUser(hub, p)),
  unsubscribe: method(userSchemas.unsubscribe, ({ hub }, p) => unsubscribeUser(hub, p)),
  disconnect: method(userSchemas.disconnect, ({ hub }, p) => disconnectUser(hub, p)),
  refresh: method(userSchemas.refresh, ({ hub }, p) => refreshUser(hub, p)),

  info: method(z.object({}), async ({ hub }) => {
    const nodes = await hub.nodes();
    return {
      nodes: nodes.map((n) => ({
        uid: n.name,
        name: n.name,
        num_clients: n.numClients,
        num_subs: n.numSubscriptions,
        num_channels: n.numChannels,
        uptime: n.uptime,
      })),
    };
  }),
};

/** Runs one method with raw params; throws a HeraldError the caller turns into `{error}`. */
export async function callMethod(ctx: ApiContext, name: string, params: unknown): Promise<unknown> {
  const m = Object.hasOwn(methods, name) ? methods[name] : undefined;
  if (!m) throw new HeraldError('METHOD_NOT_FOUND', name);
  const parsed = m.params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new HeraldError('BAD_REQUEST', `${where}${issue.message}`);
  }
  return m.run(ctx, parsed.data);
}
