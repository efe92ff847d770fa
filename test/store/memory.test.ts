import { MemoryRetryStore } from '../../src/store/memory.ts';
import { DEFAULT_LIMITS } from '../../src/store/port.ts';
import { storeConformance } from './conformance.ts';

storeConformance(
  'memory',
  async (limits, onTrimmed) => new MemoryRetryStore(limits ?? DEFAULT_LIMITS, onTrimmed),
);
