import { MemoryEngine } from '../../src/engine/memory.js';
import { engineSuite } from './engine-suite.js';

engineSuite('memory', async () => ({ engine: new MemoryEngine() }));
