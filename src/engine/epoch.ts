import { randomBytes } from 'node:crypto';

/** A short random stream epoch: changing it tells clients their position is from a lost stream. */
export function newEpoch(): string {
  return randomBytes(4).toString('hex');
}
