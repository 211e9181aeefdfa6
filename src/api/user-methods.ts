// The server API's per-user control: subscribe, unsubscribe, disconnect and refresh a user's
// connections (all of them, or one `client`), on every node of the cluster. Request and reply
// shapes are Centrifugo's; every reply is `{}`, whether or not the user had connections.
import { z } from 'zod';
import type { Hub } from '../hub/hub.js';
import type { UserCommand } from '../hub/user-control.js';

const user = z.string({ error: 'user must be a string' }).min(1, 'user is required');
const channel = z.string({ error: 'channel must be a string' });
const target = { user, client: z.string().optional(), session: z.string().optional() };

/** Centrifugo's default for an API disconnect: force disconnect, no reconnect. */
const DEFAULT_DISCONNECT = { code: 3503, reason: 'force disconnect' };
/** A close frame's reason must fit 123 bytes. */
const MAX_REASON_BYTES = 123;

export const userSchemas = {
  subscribe: z.object({ ...target, channel }),
  unsubscribe: z.object({ ...target, channel }),
  disconnect: z.object({
    ...target,
    whitelist: z.array(z.string()).optional(),
    disconnect: z
      .object({
        // 3000-3999 are the protocol's, 4000-4999 the application's (as Centrifugo allows).
        code: z.number().int().min(3000).max(4999),
        reason: z
          .string()
          .refine(
            (r) => Buffer.byteLength(r) <= MAX_REASON_BYTES,
            `reason longer than ${MAX_REASON_BYTES} bytes`,
          ),
      })
      .optional(),
  }),
  refresh: z.object({
    ...target,
    expired: z.boolean().optional(),
    /** Unix seconds; absent or 0: the connection no longer expires. */
    expire_at: z.number().int().min(0).optional(),
  }),
};

/** As the SDK reads a code: 3500-3999 and 4500-4999 mean "do not reconnect". */
const reconnects = (code: number) => !((code >= 3500 && code < 4000) || (code >= 4500 && code < 5000));

const targetOf = (p: { user: string; client?: string }) =>
  p.client ? { user: p.user, client: p.client } : { user: p.user };

export async function subscribeUser(hub: Hub, p: z.infer<typeof userSchemas.subscribe>) {
  hub.validateChannel(p.channel);
  return run(hub, { op: 'subscribe', ...targetOf(p), channel: p.channel });
}

export async function unsubscribeUser(hub: Hub, p: z.infer<typeof userSchemas.unsubscribe>) {
  hub.validateChannel(p.channel);
  return run(hub, { op: 'unsubscribe', ...targetOf(p), channel: p.channel });
}

export async function disconnectUser(hub: Hub, p: z.infer<typeof userSchemas.disconnect>) {
  const d = p.disconnect ?? DEFAULT_DISCONNECT;
  const cmd: UserCommand = {
    op: 'disconnect',
    ...targetOf(p),
    code: d.code,
    reason: d.reason,
    reconnect: reconnects(d.code),
  };
  if (p.whitelist?.length) cmd.except = p.whitelist;
  return run(hub, cmd);
}

export async function refreshUser(hub: Hub, p: z.infer<typeof userSchemas.refresh>) {
  return run(hub, {
    op: 'refresh',
    ...targetOf(p),
    expired: p.expired === true,
    expiresAt: (p.expire_at ?? 0) * 1000,
  });
}

async function run(hub: Hub, cmd: UserCommand): Promise<object> {
  await hub.users.apply(cmd);
  return {};
}
