// Subscribers are kept grouped by wire format (so a publication is encoded once per format); the
// channel and pattern registries share how one leaves its group.
import type { FrameFormat, Subscriber } from '../model/index.js';

interface Group {
  delete(subscriber: Subscriber): boolean;
  readonly size: number;
}

/** Removes the subscriber from its format's group, dropping the group when it empties. */
export function leaveGroup(groups: Map<FrameFormat, Group>, subscriber: Subscriber): boolean {
  const format = subscriber.format as FrameFormat;
  const group = groups.get(format);
  if (!group?.delete(subscriber)) return false;
  if (group.size === 0) groups.delete(format);
  return true;
}
