// Public API for embedding Herald in another program.
export { type Config, type ConfigInput, resolveConfig } from './config.js';
export { MemoryEngine } from './engine/memory.js';
export { RedisEngine, type RedisEngineOptions } from './engine/redis/index.js';
export { ErrorCodes, HeraldError } from './errors.js';
export { Hub } from './hub/hub.js';
export type { ClientInfo, Engine, Publication, StreamPosition } from './model/index.js';
export { createHerald, Herald } from './server.js';
