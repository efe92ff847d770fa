/**
 * Writes package journeys into `package_status` at a steady rate: journeys are built (journey.ts),
 * interleaved (mixer.ts), paced (pacer.ts) and inserted one multi-row INSERT per batch (insert.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { insertRows } from './insert.ts';
import type { Queryable } from './insert.ts';
import { buildJourney, packageId } from './journey.ts';
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
  packagesCompleted: number;
  events: number;
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
      return buildJourney(rng, {
        packageId: packageId(options.idPrefix, sequence),
        customerId: rng.pick(options.customers),
        ...(options.hops === null ? {} : { hops: options.hops }),
      });
    },
  });

  const startedAt = now();
  const progress = (): GeneratorProgress => ({
    quantity: options.quantity,
    packagesStarted: mixer.started,
    packagesCompleted: mixer.completed,
    events,
    batches,
    elapsedMs: now() - startedAt,
  });
  let events = 0;
  let batches = 0;

  // On abort no new journey starts, and those on the road are finished at full speed (no pacing), so no
  // package is left half-delivered and shutdown stays quick.
  while (!mixer.done) {
    const batch = mixer.nextBatch(batchSize);
    const waitMs = pacer.reserve(batch.length, now());
    if (waitMs > 0 && !options.signal?.aborted) await pause(waitMs, options.signal);
    await insertRows(options.db, batch);
    events += batch.length;
    batches++;
    options.onProgress?.(progress());
  }
  return progress();
}
