// Public API for embedding Herald in another program.
export { type Config, type ConfigInput, resolveConfig } from './config.js';
export type { Engine } from './engine/engine.js';
export { MemoryEngine } from './engine/memory.js';
export { RedisEngine, type RedisEngineOptions } from './engine/redis.js';
export { ErrorCodes, HeraldError } from './errors.js';
export { Hub } from './hub/hub.js';
export type { ClientInfo, Publication, StreamPosition } from './hub/types.js';
export { createHerald, Herald } from './server.js';
