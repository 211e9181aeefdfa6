// A hub on the memory engine for in-process targets: the real hub, no sockets.
import { MemoryEngine } from '../../../src/engine/memory.js';
import { Hub } from '../../../src/hub/hub.js';

export async function memoryHub(): Promise<{ hub: Hub; stop: () => Promise<void> }> {
  const engine = new MemoryEngine();
  // Short history keeps a million random publications from being a memory test of the engine.
  const hub = new Hub(engine, { historySize: 10, historyTtl: 5 });
  await hub.start();
  return { hub, stop: () => hub.close() };
}
