/**
 * Interleaves many packages' journeys the way a real carrier's writes interleave, without ever reordering
 * one package's steps.
 *
 * Up to `concurrency` journeys are "on the road" at once. Each batch takes the next step of up to `max`
 * distinct journeys, chosen at random, so one package never appears twice in a batch (one INSERT statement):
 * its steps land in separate transactions, with increasing `id` and `created_at`. Finished journeys leave,
 * new ones join from `nextJourney()` until it returns null.
 */
import type { Rng } from './random.ts';
import type { PackageStatusInsert } from '../package-status.ts';

interface OnTheRoad {
  steps: PackageStatusInsert[];
  cursor: number;
}

export interface MixerOptions {
  rng: Rng;
  concurrency: number;
  /** The next journey to start, or null when there are no more. */
  nextJourney: () => PackageStatusInsert[] | null;
}

export class JourneyMixer {
  readonly #rng: Rng;
  readonly #concurrency: number;
  readonly #nextJourney: () => PackageStatusInsert[] | null;
  #active: OnTheRoad[] = [];
  #exhausted = false;
  #started = 0;
  #completed = 0;

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

  /** Journeys whose last step has been handed out. */
  get completed(): number {
    return this.#completed;
  }

  /** True once every journey has been handed out completely. */
  get done(): boolean {
    this.#refill();
    return this.#active.length === 0;
  }

  /** The next steps to insert, one per package, at most `max`; empty when done. */
  nextBatch(max: number): PackageStatusInsert[] {
    this.#refill();
    // Partial Fisher–Yates: the first `take` entries become a random choice of distinct journeys.
    const take = Math.min(max, this.#active.length);
    for (let i = 0; i < take; i++) {
      const j = this.#rng.int(i, this.#active.length - 1);
      const a = this.#active[i] as OnTheRoad;
      this.#active[i] = this.#active[j] as OnTheRoad;
      this.#active[j] = a;
    }
    const batch: PackageStatusInsert[] = [];
    for (const journey of this.#active.slice(0, take)) {
      batch.push(journey.steps[journey.cursor] as PackageStatusInsert);
      journey.cursor++;
    }
    const before = this.#active.length;
    this.#active = this.#active.filter((j) => j.cursor < j.steps.length);
    this.#completed += before - this.#active.length;
    return batch;
  }

  #refill(): void {
    while (!this.#exhausted && this.#active.length < this.#concurrency) {
      const steps = this.#nextJourney();
      if (steps === null) {
        this.#exhausted = true;
      } else if (steps.length > 0) {
        this.#active.push({ steps, cursor: 0 });
        this.#started++;
      }
    }
  }
}
