/**
 * Paces sends to `ratePerSecond` events. `reserve(n, now)` books n events and says how long to wait before
 * sending them. Falling behind (a slow database) is made up for by at most `maxCatchUpMs` worth of events,
 * so a stall is not followed by a flood. Pure: the caller passes the clock.
 */
export class Pacer {
  readonly #msPerEvent: number;
  readonly #maxCatchUpMs: number;
  #nextAt: number | null = null;

  constructor(ratePerSecond: number, maxCatchUpMs = 1000) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`rate must be a positive number, got ${ratePerSecond}`);
    }
    this.#msPerEvent = 1000 / ratePerSecond;
    this.#maxCatchUpMs = maxCatchUpMs;
  }

  reserve(events: number, nowMs: number): number {
    if (this.#nextAt === null || this.#nextAt < nowMs - this.#maxCatchUpMs) this.#nextAt = nowMs;
    const waitMs = Math.max(0, this.#nextAt - nowMs);
    this.#nextAt += events * this.#msPerEvent;
    return waitMs;
  }
}

/** Rows per INSERT: about ten statements a second, between 1 and 500 rows each. */
export function defaultBatchSize(ratePerSecond: number): number {
  return Math.min(500, Math.max(1, Math.ceil(ratePerSecond / 10)));
}
