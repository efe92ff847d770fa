import { MemoryRetryStore } from '../../src/store/memory.ts';
import { DEFAULT_LIMITS } from '../../src/store/port.ts';
import { limitsConformance, storeConformance } from './conformance.ts';

storeConformance(
  'memory',
  async (limits, onTrimmed) => new MemoryRetryStore(limits ?? DEFAULT_LIMITS, onTrimmed),
);

// One process's memory is the store every holder shares.
limitsConformance('memory', async () => {
  const store = new MemoryRetryStore();
  return { client: async () => store };
});
