import { MemoryEngine } from '../../src/engine/memory.js';
import { engineSuite } from './engine-suite.js';

engineSuite('memory', async () => {
  // The engine's clock is real time plus whatever the expiry tests skip ahead.
  let skipped = 0;
  return {
    engine: new MemoryEngine({ now: () => Date.now() + skipped }),
    passTime: async (ms) => {
      skipped += ms;
    },
  };
});
