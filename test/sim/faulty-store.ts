/**
 * The store as one integrator process sees it: the shared store (the simulation's "Redis"), with the
 * faults a real one has — error replies to writes (memory full under noeviction, a read-only replica after
 * a failover) and stalls (every reply late) — and the process's death: a killed process's calls never
 * reach the store, and answers to calls it made never reach it.
 */
import type { Clock } from '../../src/clock.ts';
import type { RetryStore } from '../../src/store/port.ts';

export interface StoreWeather {
  /** Writes fail with an error reply. */
  refuseWrites: boolean;
  /**
   * Processes (slots) whose calls on the shared limits fail: cut off from them while the others are not
   * (a replica partitioned from Redis: it must stop sending before the others get its permits): with an
   * error reply, or no answer until the fault ends and then the connection's error (a hung connection).
   */
  refuseLimits: Map<number, 'refuse' | 'hang'>;
  /** Every call is answered this much later. */
  stallMs: number;
}

const WRITES = new Set([
  'takeOver',
  'park',
  'appendIfParked',
  'claim',
  'settle',
  'addDeadLetter',
  'replayDeadLetters',
  'discardDeadLetters',
  'recordPoison',
]);

/** The shared limits: writes too (refused with the others), and refused on their own by `refuseLimits`. */
const LIMITS = new Set(['syncLimits', 'releaseLimits', 'setPaused']);

export function processStore(
  inner: RetryStore,
  weather: StoreWeather,
  clock: Clock,
  alive: () => boolean,
  trace: (line: string) => void = () => {},
  /** A write was refused as stale: this process was fenced (a rebalance reached it late). */
  onStale: () => void = () => {},
  slot = 0,
): RetryStore {
  const never = new Promise<never>(() => {});
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close') return value;
      const name = String(prop);
      return (...args: unknown[]) => {
        if (!alive()) return never;
        const call = async () => {
          if (weather.refuseLimits.get(slot) === 'hang' && LIMITS.has(name)) {
            // No answer while the fault lasts, then the connection's error (the call never ran).
            trace(`store.${name} HUNG`);
            await new Promise<void>((resolve) => {
              const check = () =>
                weather.refuseLimits.get(slot) === 'hang' ? clock.after(50, check) : resolve();
              check();
            });
            throw new Error('Connection is closed.');
          }
          if ((weather.refuseWrites || weather.refuseLimits.has(slot)) && LIMITS.has(name)) {
            trace(`store.${name} REFUSED`);
            throw new Error('OOM command not allowed when used memory > maxmemory');
          }
          if (weather.refuseWrites && WRITES.has(name)) {
            if (WRITES.has(name)) trace(`store.${name} REFUSED ${describe(args)}`);
            throw new Error('OOM command not allowed when used memory > maxmemory');
          }
          const res = await (value as (...a: unknown[]) => Promise<unknown>)
            .apply(target, args)
            .catch((err: unknown) => {
              if (WRITES.has(name)) trace(`store.${name} ${(err as Error).name} ${describe(args)}`);
              if ((err as { code?: string }).code === 'STALE_EPOCH') onStale();
              throw err;
            });
          if (WRITES.has(name) || LIMITS.has(name))
            trace(`store.${name} ok ${describe(args)} → ${describe([res])}`);
          return res;
        };
        const stall = weather.stallMs;
        const result =
          stall > 0 ? new Promise<void>((r) => clock.after(stall, () => r())).then(call) : call();
        // A dead process hears nothing more.
        return result.then(
          (v) => (alive() ? v : never),
          (err: unknown) => (alive() ? Promise.reject(err) : never),
        );
      };
    },
  });
}

/** A short line for the trace: delivery ids cut to their last characters. */
function describe(args: unknown[]): string {
  return (
    JSON.stringify(args, (k, v: unknown) => {
      if (
        k === 'body' ||
        k === 'customer' ||
        k === 'firstSeenAt' ||
        k === 'commitTsMs' ||
        k === 'lastError' ||
        k === 'label' ||
        k === 'eventId'
      )
        return undefined;
      if (k === 'deliveryId' && typeof v === 'string') return v.slice(-6);
      if (k === 'shard' && typeof v === 'string') return v.slice(-2);
      return v;
    })?.slice(0, 300) ?? ''
  );
}
