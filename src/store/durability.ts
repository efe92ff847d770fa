/**
 * What a Redis crash or memory pressure can lose, from its settings (pure). See the README, "Durability
 * of the store".
 *
 *   maxmemory-policy   anything but noeviction lets Redis drop parked work to make room: refused
 *   appendonly no      a crash loses everything since the last RDB snapshot: warned
 *   appendfsync        always: nothing acknowledged is lost; everysec: up to a second; no: up to the OS's flush
 */
import type { Durability } from './port.ts';

export function checkDurability(d: Durability): { refuse: string | null; warnings: string[] } {
  const warnings: string[] = [];
  let refuse: string | null = null;
  if (d.evictionPolicy !== null && d.evictionPolicy !== 'noeviction') {
    refuse =
      `Redis maxmemory-policy is "${d.evictionPolicy}": Redis may evict parked deliveries to free memory, ` +
      'which loses them. Set maxmemory-policy noeviction (a full Redis then refuses writes; the integrator keeps ' +
      'the work and retries).';
  } else if (d.evictionPolicy === null) {
    warnings.push(
      'could not read Redis maxmemory-policy; it must be noeviction, or parked work can be evicted',
    );
  }
  if (d.aof === false) {
    warnings.push(
      'Redis AOF is off (appendonly no): a Redis crash loses parked work written since the last snapshot. ' +
        'Turn on appendonly yes with appendfsync always to lose nothing acknowledged.',
    );
  } else if (d.aof === null) {
    warnings.push('could not read whether Redis AOF is on');
  }
  if (d.aof !== false && d.appendfsync !== null && d.appendfsync !== 'always') {
    warnings.push(
      `Redis appendfsync is "${d.appendfsync}": a crash of the Redis host can lose the last ` +
        `${d.appendfsync === 'everysec' ? 'second' : 'few seconds'} of acknowledged writes (parked, settled). ` +
        'appendfsync always loses none.',
    );
  } else if (d.aof !== false && d.appendfsync === null) {
    warnings.push('could not read Redis appendfsync (CONFIG may be disabled): its loss window is unknown');
  }
  return { refuse, warnings };
}
