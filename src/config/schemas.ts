// The value shapes options are made of: numbers, booleans, lists, JSON, durations with units, proxy
// addresses, origins, per-channel overrides and namespace policies. Pure zod, no option names.
import { isIP } from 'node:net';
import { z } from 'zod';

export const port = z.coerce
  .number({ error: 'expected a port number from 0 to 65535' })
  .int({ error: 'expected a whole port number from 0 to 65535' })
  .min(0, { error: 'expected a port number from 0 to 65535' })
  .max(65535, { error: 'expected a port number from 0 to 65535' });
export const positiveInt = z.coerce
  .number({ error: 'expected a whole number above 0' })
  .int({ error: 'expected a whole number above 0' })
  .positive({ error: 'expected a whole number above 0' });
export const nonNegativeInt = z.coerce
  .number({ error: 'expected a whole number, 0 or more' })
  .int({ error: 'expected a whole number, 0 or more' })
  .min(0, { error: 'expected a whole number, 0 or more' });
export const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());
export const splitList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;
export const list = z.preprocess(splitList, z.array(z.string()));
export const jsonOf = <T extends z.ZodTypeAny>(inner: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch (err) {
      // JSON.parse quotes the text it read, and some of these options hold passwords.
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      const where = at === undefined ? '' : ` at character ${Number(at) + 1}`;
      ctx.addIssue({ code: 'custom', message: `not valid JSON${where}; give a JSON object` });
      return z.NEVER;
    }
  }, inner);

export type DurationUnit = 'ms' | 's';
export const MS_PER = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** The longest delay Node's timers keep (2^31-1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const unitName = (unit: DurationUnit) => (unit === 'ms' ? 'milliseconds' : 'seconds');
export const DURATION_FORMS = '250ms, 30s, 5m, 1h or 2d';

/** "90s" -> 90 in seconds; a plain "90" is already in `unit`. Undefined when it is not a duration. */
export function parseDuration(text: string, unit: DurationUnit): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === undefined) return n;
  const v = (n * MS_PER[m[2] as keyof typeof MS_PER]) / MS_PER[unit];
  // 0.3s is 300.00000000000006 ms in binary floating point; it means 300.
  const whole = Math.round(v);
  return Math.abs(v - whole) < 1e-9 ? whole : v;
}

/**
 * A duration option: a string with a unit ("250ms", "30s", "5m", "1h", "2d") or a plain number in
 * `unit`, the unit the option has always taken. Either way it becomes a whole number of `unit`, the
 * same number consumers always got. `maxMs` defaults to what a Node timer can hold.
 */
export function duration(unit: DurationUnit, { min = 1, maxMs = MAX_TIMER_MS } = {}) {
  const name = unitName(unit);
  const max = Math.floor(maxMs / MS_PER[unit]);
  return z.preprocess(
    (v) => (typeof v === 'string' ? (parseDuration(v, unit) ?? v) : v),
    z
      .number({ error: `expected a duration such as ${DURATION_FORMS}, or a number of ${name}` })
      .int({ error: `must be a whole number of ${name}` })
      .min(min, { error: `must be at least ${min} ${name}` })
      .max(max, { error: `must be at most ${max} ${name}` }),
  );
}

/** Bounds of a time to live handed to the engine rather than to a timer: no timer limit applies. */
export const TTL = { maxMs: Number.MAX_SAFE_INTEGER };

/** Proxy entries as fastify (proxy-addr) takes them: an address, a CIDR, or a named range. */
export const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];
export function proxyEntryProblem(entry: string): string | undefined {
  if (PROXY_RANGES.includes(entry)) return undefined;
  const [ip, bits, ...more] = entry.split('/');
  const family = isIP(ip);
  if (family === 0 || more.length > 0) return `"${entry}" is not an IP address or CIDR`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}" has a prefix length outside 0-${max}`;
  return undefined;
}
export const trustProxy = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    return ['', 'false', 'no', 'off', '0'].includes(s) ? false : splitList(v);
  },
  z.union(
    [
      z.literal(false),
      z
        .array(z.string())
        .min(1)
        .superRefine((entries, ctx) => {
          for (const e of entries) {
            const problem = proxyEntryProblem(e);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          }
        }),
    ],
    {
      error:
        "expected false or a list of proxy addresses/CIDRs (not true: that would believe any client's X-Forwarded-For)",
    },
  ),
);

/** Explicit origins only: a wildcard, or "null" (any sandboxed page), would hand the API to every site. */
export const apiOrigins = z.preprocess(
  splitList,
  z.array(
    z
      .string()
      .transform((o) => o.toLowerCase().replace(/\/$/, ''))
      .pipe(
        z
          .string()
          .regex(/^https?:\/\/[^/\s*]+$/, 'an origin is scheme://host[:port], with no path and no "*"'),
      ),
  ),
);

/** Per channel-name-prefix overrides, e.g. {"news:": {"historySize": 1000}}. */
export const channelOptions = z.strictObject({
  historySize: nonNegativeInt.optional(),
  historyTtl: duration('s', { ...TTL, min: 0 }).optional(),
  allowClientPublish: bool.optional(),
  joinLeave: bool.optional(),
  allowedDeltaTypes: z.array(z.literal('fossil')).optional(),
  writeDelay: duration('ms', { min: 0 }).optional(),
});
export type ChannelOptionsOverride = z.infer<typeof channelOptions>;

/**
 * Who may do what in one namespace (Centrifugo's option names). Unknown keys are errors: a
 * misspelt permission must not silently leave a namespace closed, or open.
 */
export const namespacePolicy = z.strictObject({
  allow_subscribe_for_client: bool.optional(),
  allow_subscribe_for_anonymous: bool.optional(),
  allow_publish_for_client: bool.optional(),
  allow_publish_for_subscriber: bool.optional(),
  allow_publish_for_anonymous: bool.optional(),
  allow_history_for_client: bool.optional(),
  allow_history_for_subscriber: bool.optional(),
  allow_history_for_anonymous: bool.optional(),
  allow_presence_for_client: bool.optional(),
  allow_presence_for_subscriber: bool.optional(),
  allow_presence_for_anonymous: bool.optional(),
  allow_user_limited_channels: bool.optional(),
  join_leave: bool.optional(),
  force_push_join_leave: bool.optional(),
  presence_show_info: bool.optional(),
});
export type NamespacePolicy = z.infer<typeof namespacePolicy>;

/** Everything allowed to every client: the seed's chat room, and test servers not about security. */
export const OPEN_NAMESPACE: NamespacePolicy = {
  allow_subscribe_for_client: true,
  allow_subscribe_for_anonymous: true,
  allow_publish_for_client: true,
  allow_publish_for_anonymous: true,
  allow_history_for_client: true,
  allow_history_for_anonymous: true,
  allow_presence_for_client: true,
  allow_presence_for_anonymous: true,
};
