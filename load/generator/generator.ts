/**
 * Writes package journeys into `package_status` at a steady rate: journeys are planned (journey.ts, with
 * their reroutes and cancellations), interleaved (mixer.ts), paced (pacer.ts) and written one INSERT per
 * batch, then its UPDATEs and DELETEs (insert.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeBatch } from './insert.ts';
import type { Queryable } from './insert.ts';
import { NO_CHANGES, packageId, planJourney } from './journey.ts';
import type { ChangeOdds } from './journey.ts';
import { JourneyMixer } from './mixer.ts';
import { Pacer, defaultBatchSize } from './pacer.ts';
import { createRng } from './random.ts';

export interface GeneratorOptions {
  db: Queryable;
  /** Number of packages; null = keep going until `signal` aborts. */
  quantity: number | null;
  /** Events (rows) per second. */
  rate: number;
  customers: readonly string[];
  /** 'In Transit' steps per package; null = 2–5 at random. */
  hops: number | null;
  /** Chance per package of a reroute (UPDATE) and of a cancellation (DELETE of its rows); default none. */
  changes?: ChangeOdds;
  seed: number;
  /** Tracking codes are `<idPrefix>-000001`, `<idPrefix>-000002`, … */
  idPrefix: string;
  /** Rows per INSERT; default about rate/10. */
  batchSize?: number;
  /** Journeys under way at once; default max(64, 2 × batchSize). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: GeneratorProgress) => void;
  /** Injected clock, for tests. */
  now?: () => number;
}

export interface GeneratorProgress {
  quantity: number | null;
  packagesStarted: number;
  /** Packages that are over: delivered, or cancelled. */
  packagesCompleted: number;
  packagesCancelled: number;
  /** Rows written: inserted + updated + deleted (each is one change event). */
  events: number;
  inserted: number;
  updated: number;
  deleted: number;
  batches: number;
  elapsedMs: number;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

export async function runGenerator(options: GeneratorOptions): Promise<GeneratorProgress> {
  const now = options.now ?? (() => performance.now());
  if (options.customers.length === 0) throw new RangeError('at least one customer is needed');
  const rng = createRng(options.seed);
  const batchSize = options.batchSize ?? defaultBatchSize(options.rate);
  const pacer = new Pacer(options.rate);
  let sequence = 0;
  const mixer = new JourneyMixer({
    rng,
    concurrency: options.concurrency ?? Math.max(64, batchSize * 2),
    nextJourney: () => {
      if (options.signal?.aborted) return null;
      if (options.quantity !== null && sequence >= options.quantity) return null;
      sequence++;
      return planJourney(
        rng,
        {
          packageId: packageId(options.idPrefix, sequence),
          customerId: rng.pick(options.customers),
          ...(options.hops === null ? {} : { hops: options.hops }),
        },
        options.changes ?? NO_CHANGES,
      );
    },
  });

  const startedAt = now();
  const progress = (): GeneratorProgress => ({
    quantity: options.quantity,
    packagesStarted: mixer.started,
    packagesCompleted: mixer.completed,
    packagesCancelled: mixer.cancelled,
    events: inserted + updated + deleted,
    inserted,
    updated,
    deleted,
    batches,
    elapsedMs: now() - startedAt,
  });
  let inserted = 0;
  let updated = 0;
  let deleted = 0;
  let batches = 0;

  // On abort no new journey starts, and those on the road are finished at full speed (no pacing), so no
  // package is left half-delivered and shutdown stays quick.
  while (!mixer.done) {
    const batch = mixer.nextBatch(batchSize);
    // Deletes are paced as one event per cancelled package: its row count is known only once deleted.
    const waitMs = pacer.reserve(batch.rows.length + batch.reroutes.length + batch.cancels.length, now());
    if (waitMs > 0 && !options.signal?.aborted) await pause(waitMs, options.signal);
    const written = await writeBatch(options.db, batch);
    inserted += batch.rows.length;
    updated += written.updated;
    deleted += written.deleted;
    batches++;
    options.onProgress?.(progress());
  }
  return progress();
}
