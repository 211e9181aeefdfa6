// The history query semantics, shared by every engine so they cannot disagree.
import type { HistoryQuery, Publication } from '../model/index.js';

/**
 * Picks from `kept` (oldest first) what a query asks for. When `since` names another epoch its
 * offset means nothing in this stream, so the query reads as if it had no `since`.
 */
export function selectHistory(kept: Publication[], query: HistoryQuery, epoch: string): Publication[] {
  const { limit, reverse } = query;
  if (limit === 0) return [];
  const since = query.since && query.since.epoch === epoch ? query.since.offset : undefined;
  let out: Publication[];
  if (reverse) {
    out = since === undefined ? kept.slice() : kept.filter((p) => p.offset < since);
    out.reverse();
  } else {
    out = since === undefined ? kept : kept.filter((p) => p.offset > since);
  }
  if (limit !== undefined && limit > 0 && out.length > limit) out = out.slice(0, limit);
  return out === kept ? kept.slice() : out;
}
