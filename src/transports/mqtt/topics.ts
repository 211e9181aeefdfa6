// Topic names and filters (MQTT 4.7), pure: what is valid, how `$share/<group>/<filter>` splits,
// and whether a filter matches a topic. Levels are capped so that a filter of 60k `/` cannot make
// matching or the subscription trie pay per level.
import { channelNameProblem, filterProblem } from '../../model/index.js';

/** Most levels a topic or filter may have (a/b/c has 3). */
export const MAX_LEVELS = 128;

function levelCount(s: string): number {
  let n = 1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 0x2f) n++;
  return n;
}

/** Why a client may not PUBLISH to this topic name; `$` topics are answered separately. */
export function topicProblem(topic: string, maxLength: number): string | undefined {
  if (topic.length === 0) return 'empty topic';
  if (topic.startsWith('$')) {
    if (/[+#\0]/.test(topic)) return 'topic contains a wildcard or NUL';
    return undefined;
  }
  const problem = channelNameProblem(topic, maxLength);
  if (problem) return problem;
  if (levelCount(topic) > MAX_LEVELS) return `topic has more than ${MAX_LEVELS} levels`;
  return undefined;
}

export interface ParsedFilter {
  /** The filter that matches topics (without `$share/<group>/`). */
  filter: string;
  group?: string;
}

/** Splits and validates a SUBSCRIBE filter; a string is why it is refused. */
export function parseFilter(raw: string, maxLength: number): ParsedFilter | string {
  let filter = raw;
  let group: string | undefined;
  if (raw.startsWith('$share/')) {
    const slash = raw.indexOf('/', 7);
    group = raw.slice(7, slash < 0 ? undefined : slash);
    if (slash < 0 || group.length === 0 || /[+#]/.test(group)) return 'bad $share/<group>/<filter>';
    filter = raw.slice(slash + 1);
  }
  const problem = filterProblem(filter, maxLength);
  if (problem) return problem;
  if (filter.includes('\0')) return 'filter contains NUL';
  if (levelCount(filter) > MAX_LEVELS) return `filter has more than ${MAX_LEVELS} levels`;
  return group === undefined ? { filter } : { filter, group };
}

/** MQTT matching with the `$` rule: a wildcard first level never matches a `$` topic (4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 0x24 && (filter[0] === '+' || filter[0] === '#')) return false;
  if (filter === '#') return true;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
