/**
 * The demo's stand-in for Postgres + Debezium: package journeys (load/generator/journey.ts), interleaved
 * at random like a carrier's writes (SpacedMixer below), paced (load/generator/pacer.ts), each step turned
 * into the Kafka record the Debezium connector would publish for its INSERT (load/debezium-shape.ts: key =
 * package_id, value = the change event without the schema envelope, commit time = now).
 *
 * One package changes at most once per `minStepGapMs` (default 1 s; a real parcel's scans are minutes
 * apart). Without that, two steps of one package a few ms apart would show the integrator's per-package
 * order (the second waits for the first's 300 ms answer) as if it were latency caused by other customers.
 *
 * Unlike `npm run load`, stopping does not finish the journeys under way: the demo stops generating a few
 * seconds before its end so that what was sent can drain, and a burst of final steps would only blur that.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DebeziumChangeFeed } from '../load/debezium-shape.ts';
import { buildJourney, packageId } from '../load/generator/journey.ts';
import { Pacer, defaultBatchSize } from '../load/generator/pacer.ts';
import { createRng } from '../load/generator/random.ts';
import type { Rng } from '../load/generator/random.ts';
import type { PackageStatusInsert } from '../load/package-status.ts';

interface OnTheRoad {
  steps: PackageStatusInsert[];
  cursor: number;
  /** Its next step may go from this time on. */
  readyAt: number;
}

/**
 * Interleaves journeys: each batch takes the next step of distinct journeys chosen at random among those
 * whose previous step is at least `minGapMs` old, starting new journeys when too few are ready. Pure: the
 * caller passes the clock; the randomness is the seeded Rng.
 */
export class SpacedMixer {
  readonly #rng: Rng;
  readonly #minGapMs: number;
  readonly #nextJourney: () => PackageStatusInsert[] | null;
  #active: OnTheRoad[] = [];
  #exhausted = false;
  #started = 0;
  #completed = 0;

  constructor(opts: { rng: Rng; minGapMs: number; nextJourney: () => PackageStatusInsert[] | null }) {
    if (!(opts.minGapMs >= 0)) throw new RangeError(`minGapMs must be ≥ 0, got ${opts.minGapMs}`);
    this.#rng = opts.rng;
    this.#minGapMs = opts.minGapMs;
    this.#nextJourney = opts.nextJourney;
  }

  get started(): number {
    return this.#started;
  }

  get completed(): number {
    return this.#completed;
  }

  /** Journeys under way. */
  get active(): number {
    return this.#active.length;
  }

  /** No journey left to start and every started one handed out completely. */
  get done(): boolean {
    return this.#exhausted && this.#active.length === 0;
  }

  /** When the earliest waiting journey becomes ready (null when none is under way). */
  nextReadyAt(): number | null {
    return this.#active.length === 0 ? null : Math.min(...this.#active.map((j) => j.readyAt));
  }

  /** Up to `max` steps, one per package, of journeys ready at `now`; empty when none is ready. */
  nextBatch(max: number, now: number): PackageStatusInsert[] {
    const ready = this.#active.filter((j) => j.readyAt <= now);
    while (ready.length < max && !this.#exhausted) {
      const steps = this.#nextJourney();
      if (steps === null) {
        this.#exhausted = true;
      } else if (steps.length > 0) {
        const journey = { steps, cursor: 0, readyAt: now };
        this.#active.push(journey);
        ready.push(journey);
        this.#started += 1;
      }
    }
    const take = Math.min(max, ready.length);
    for (let i = 0; i < take; i++) {
      const j = this.#rng.int(i, ready.length - 1);
      const a = ready[i]!;
      ready[i] = ready[j]!;
      ready[j] = a;
    }
    const batch: PackageStatusInsert[] = [];
    for (const journey of ready.slice(0, take)) {
      batch.push(journey.steps[journey.cursor]!);
      journey.cursor += 1;
      journey.readyAt = now + this.#minGapMs;
    }
    const before = this.#active.length;
    this.#active = this.#active.filter((j) => j.cursor < j.steps.length);
    this.#completed += before - this.#active.length;
    return batch;
  }
}

export interface ChangeRecord {
  key: string;
  value: string;
  /** Whose package this is (for counting what was sent to whom). */
  customer: string;
}

export interface DemoGeneratorOptions {
  customers: readonly string[];
  /** Events per second. */
  rate: number;
  /** Packages in all; null = until `signal` aborts. */
  packages: number | null;
  seed: number;
  /** Tracking codes are `<packagePrefix>-000001`, … */
  packagePrefix: string;
  /** Least time between two steps of one package. Default 1000 ms. */
  minStepGapMs?: number;
  /** Hand a batch of records to the intake (resolve when it is accepted). */
  publish: (records: ChangeRecord[]) => Promise<void> | void;
  signal: AbortSignal;
  /** After each published batch, per customer. */
  onSent?: (customer: string, events: number) => void;
  /** Commit-time clock (ms since epoch). Default Date.now. */
  clock?: () => number;
}

export interface DemoGeneratorResult {
  events: number;
  packagesStarted: number;
  packagesCompleted: number;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

export async function runDemoGenerator(opts: DemoGeneratorOptions): Promise<DemoGeneratorResult> {
  if (opts.customers.length === 0) throw new RangeError('at least one customer is needed');
  const clock = opts.clock ?? Date.now;
  const rng = createRng(opts.seed);
  const feed = new DebeziumChangeFeed({ schemas: false, now: clock });
  const pacer = new Pacer(opts.rate);
  const batchSize = defaultBatchSize(opts.rate);
  let sequence = 0;
  let rowId = 0;
  let events = 0;
  const mixer = new SpacedMixer({
    rng,
    minGapMs: opts.minStepGapMs ?? 1000,
    nextJourney: () => {
      if (opts.packages !== null && sequence >= opts.packages) return null;
      sequence += 1;
      return buildJourney(rng, {
        packageId: packageId(opts.packagePrefix, sequence),
        customerId: rng.pick(opts.customers),
      });
    },
  });

  while (!opts.signal.aborted && !mixer.done) {
    const steps = mixer.nextBatch(batchSize, performance.now());
    if (steps.length === 0) {
      // Every package under way changed a moment ago (only when --packages limits the supply).
      const readyAt = mixer.nextReadyAt() ?? performance.now();
      await pause(Math.max(5, readyAt - performance.now()), opts.signal);
      continue;
    }
    const waitMs = pacer.reserve(steps.length, performance.now());
    if (waitMs > 0) await pause(waitMs, opts.signal);
    if (opts.signal.aborted) break;
    const records = steps.map((step): ChangeRecord => {
      rowId += 1;
      const record = feed.insert({ ...step, id: rowId, created_at: new Date(clock()) });
      return { key: record.key, value: record.value ?? '', customer: step.customer_id };
    });
    await opts.publish(records);
    events += records.length;
    if (opts.onSent) {
      const per = new Map<string, number>();
      for (const r of records) per.set(r.customer, (per.get(r.customer) ?? 0) + 1);
      for (const [customer, n] of per) opts.onSent(customer, n);
    }
  }
  return { events, packagesStarted: mixer.started, packagesCompleted: mixer.completed };
}
