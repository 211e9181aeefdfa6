// Channel names are validated in one place. A channel is also an MQTT topic: `/` separates levels,
// and `+` / `#` are wildcards, so they are never part of a channel name.
import { HeraldError } from '../errors.js';

export const DEFAULT_MAX_CHANNEL_LENGTH = 255;

// Control characters (C0, DEL, C1) and the MQTT wildcards.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f+#]/;

/** Returns a reason the name is not a valid channel, or undefined when it is. */
export function channelNameProblem(
  name: unknown,
  maxLength = DEFAULT_MAX_CHANNEL_LENGTH,
): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'channel name must be a non-empty string';
  if (Buffer.byteLength(name) > maxLength) return `channel name longer than ${maxLength} bytes`;
  if (FORBIDDEN.test(name)) return 'channel name contains a wildcard (+ #) or a control character';
  // `$` topics are the broker's own ($SYS); web doors never see or write them.
  if (name.startsWith('$')) return 'channel names starting with $ are reserved';
  return undefined;
}

/**
 * The last name found valid, and under which limit: a client's publish is checked twice on its way
 * (the policy's check, then the hub's), with the same string.
 */
let lastValid = '';
let lastValidMax: number | undefined;

export function assertChannelName(name: unknown, maxLength?: number): asserts name is string {
  if (name === lastValid && maxLength === lastValidMax && name !== '') return;
  const problem = channelNameProblem(name, maxLength);
  if (problem) throw new HeraldError('BAD_REQUEST', problem);
  lastValid = name as string;
  lastValidMax = maxLength;
}

// Control characters only: in a filter the wildcards are the point.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Returns a reason the MQTT-style subscription filter is not valid, or undefined when it is: `+`
 * must fill a whole level, `#` must be the whole last level (MQTT-4.7.1-1/2).
 */
export function filterProblem(filter: unknown, maxLength = DEFAULT_MAX_CHANNEL_LENGTH): string | undefined {
  if (typeof filter !== 'string' || filter.length === 0) return 'filter must be a non-empty string';
  if (Buffer.byteLength(filter) > maxLength) return `filter longer than ${maxLength} bytes`;
  if (CONTROL.test(filter)) return 'filter contains a control character';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return '# must be the whole last level';
    if (level.includes('+') && level !== '+') return '+ must be a whole level';
  }
  return undefined;
}

/** MQTT-style match of a channel against a subscription filter with `+` and `#`. */
export function matchesFilter(filter: string, channel: string): boolean {
  // MQTT-4.7.2-1: a filter starting with a wildcard never matches a `$` topic.
  if ((filter[0] === '#' || filter[0] === '+') && channel.startsWith('$')) return false;
  if (filter === '#') return true; // the MQTT bridge's filter: matched on every publication
  const f = filter.split('/');
  const c = channel.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i < c.length || i === c.length;
    if (i >= c.length) return false;
    if (f[i] !== '+' && f[i] !== c[i]) return false;
  }
  return f.length === c.length;
}
