import { MemoryRetryStore } from '../../src/store/memory.ts';
import { storeConformance } from './conformance.ts';

storeConformance('memory', async () => new MemoryRetryStore());
