/**
 * Interleaves many packages' journeys the way a real carrier's writes interleave, without ever reordering
 * one package's steps.
 *
 * Up to `concurrency` journeys are "on the road" at once. Each batch takes the next step of up to `max`
 * distinct journeys, chosen at random, so one package never appears twice in a batch (one INSERT statement):
 * its steps land in separate transactions, with increasing `id` and `created_at`. A journey's reroute
 * (UPDATE) and cancellation (DELETE) come with the batch that wrote the step they follow, to be run after
 * its INSERT. Finished and cancelled journeys leave, new ones join from `nextJourney()` until it returns null.
 */
import type { Rng } from './random.ts';
import type { JourneyPlan } from './journey.ts';
import type { PackageStatusInsert } from '../package-status.ts';

interface OnTheRoad {
  plan: JourneyPlan;
  cursor: number;
  cancelled: boolean;
}

export interface MixerOptions {
  rng: Rng;
  concurrency: number;
  /** The next journey to start, or null when there are no more. */
  nextJourney: () => JourneyPlan | null;
}

/** One round of writes: the INSERT first, then the reroutes (UPDATE), then the cancellations (DELETE). */
export interface Batch {
  rows: PackageStatusInsert[];
  reroutes: { packageId: string; to: string }[];
  cancels: string[];
}

export class JourneyMixer {
  readonly #rng: Rng;
  readonly #concurrency: number;
  readonly #nextJourney: () => JourneyPlan | null;
  #active: OnTheRoad[] = [];
  #exhausted = false;
  #started = 0;
  #completed = 0;
  #cancelled = 0;

  constructor(options: MixerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.#rng = options.rng;
    this.#concurrency = options.concurrency;
    this.#nextJourney = options.nextJourney;
  }

  /** Journeys started so far. */
  get started(): number {
    return this.#started;
  }

  /** Journeys that are over: their last step handed out, or cancelled. */
  get completed(): number {
    return this.#completed;
  }

  /** Journeys cancelled (counted in `completed` too). */
  get cancelled(): number {
    return this.#cancelled;
  }

  /** True once every journey has been handed out completely. */
  get done(): boolean {
    this.#refill();
    return this.#active.length === 0;
  }

  /** The next steps to write, one per package, at most `max`; empty when done. */
  nextBatch(max: number): Batch {
    this.#refill();
    // Partial Fisher–Yates: the first `take` entries become a random choice of distinct journeys.
    const take = Math.min(max, this.#active.length);
    for (let i = 0; i < take; i++) {
      const j = this.#rng.int(i, this.#active.length - 1);
      const a = this.#active[i] as OnTheRoad;
      this.#active[i] = this.#active[j] as OnTheRoad;
      this.#active[j] = a;
    }
    const batch: Batch = { rows: [], reroutes: [], cancels: [] };
    for (const journey of this.#active.slice(0, take)) {
      const { plan } = journey;
      const step = plan.steps[journey.cursor] as PackageStatusInsert;
      batch.rows.push(step);
      if (plan.reroute?.after === journey.cursor)
        batch.reroutes.push({ packageId: step.package_id, to: plan.reroute.to });
      if (plan.cancel?.after === journey.cursor) {
        batch.cancels.push(step.package_id);
        journey.cancelled = true;
        this.#cancelled++;
      }
      journey.cursor++;
    }
    const before = this.#active.length;
    this.#active = this.#active.filter((j) => !j.cancelled && j.cursor < j.plan.steps.length);
    this.#completed += before - this.#active.length;
    return batch;
  }

  #refill(): void {
    while (!this.#exhausted && this.#active.length < this.#concurrency) {
      const plan = this.#nextJourney();
      if (plan === null) {
        this.#exhausted = true;
      } else if (plan.steps.length > 0) {
        this.#active.push({ plan, cursor: 0, cancelled: false });
        this.#started++;
      }
    }
  }
}
