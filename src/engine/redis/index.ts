// The clustered engine and the one way Herald connects to Redis.
export { filterToGlob } from './bus.js';
export { createRedisConnection, redactUrl } from './connection.js';
export { RedisEngine, type RedisEngineOptions } from './engine.js';
