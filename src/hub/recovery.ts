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
 * Whether the read stopped at `limit` before the stream's top: more follows the last publication
 * given, in its epoch, and a resume from there reads the next part. Whatever the since position
 * was: after an epoch change the new epoch's history is read in parts too, never skipped.
 */
export function isCutAtLimit(h: HistoryResult, limit: number | undefined): boolean {
  if (limit === undefined || limit <= 0 || h.publications.length !== limit) return false;
  return h.publications[limit - 1].offset < h.position.offset;
}
