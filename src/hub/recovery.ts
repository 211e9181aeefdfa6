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

/**
 * Whether an incomplete recovery is only cut short by the read limit: it starts exactly after
 * `since` in the same epoch and holds `limit` publications, so the rest is still in history.
 */
export function isCutAtLimit(since: StreamPosition, h: HistoryResult, limit: number | undefined): boolean {
  if (limit === undefined || limit <= 0 || h.publications.length !== limit) return false;
  if (since.epoch !== h.position.epoch) return false;
  return (
    h.publications[0].offset === since.offset + 1 && h.publications[limit - 1].offset < h.position.offset
  );
}
