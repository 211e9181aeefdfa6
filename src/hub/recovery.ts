// What "recovered" means, in one place: the hub decides it, every door reports it.
import type { HistoryResult, StreamPosition } from '../model/index.js';

/** Whether history gave exactly everything after `since`: same epoch and no missing offsets. */
export function isCompleteRecovery(since: StreamPosition, h: HistoryResult): boolean {
  if (since.epoch !== h.position.epoch) return false;
  if (since.offset > h.position.offset) return false; // a position from the future: not ours
  if (since.offset === h.position.offset) return true;
  const first = h.publications[0];
  return (
    first !== undefined &&
    first.offset === since.offset + 1 &&
    h.publications.length === h.position.offset - since.offset
  );
}
