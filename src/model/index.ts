// The shared vocabulary of the channel model: the nouns every floor speaks (hub, engines, protocol,
// doors). It imports nothing above itself, so no import runs from a lower floor to a higher one.
export * from './channel.js';
export * from './channel-name.js';
export * from './delivery.js';
export * from './engine.js';
export * from './logger.js';
export * from './mqtt-store.js';
export * from './publication.js';
