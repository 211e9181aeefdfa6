import { randomBytes } from 'node:crypto';

// The Redis engine sends a fresh epoch candidate with every publish (it becomes the cluster's epoch
// only when Redis lost it), so drawing one must be cheap: 4 bytes at a time from a pool filled by
// one randomBytes call per 1,024 epochs instead of one synchronous crypto call per publish. Every
// candidate is still fresh random bytes, never handed out twice.
const POOL_EPOCHS = 1024;
let pool = Buffer.alloc(0);
let next = 0;

/** A short random stream epoch: changing it tells clients their position is from a lost stream. */
export function newEpoch(): string {
  if (next + 4 > pool.length) {
    pool = randomBytes(4 * POOL_EPOCHS);
    next = 0;
  }
  next += 4;
  return pool.toString('hex', next - 4, next);
}
