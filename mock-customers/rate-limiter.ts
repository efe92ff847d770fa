/**
 * Token bucket with an injected clock: `ratePerSecond` tokens per second, bucket size one second's worth
 * (at least 1 token), starting full. A request takes one token; with less than one token left it is
 * refused with the whole seconds until the next token arrives (≥ 1), which the server sends as Retry-After.
 */
import type { RateVerdict } from './behavior.ts';

export type Clock = () => number;

export class TokenBucket {
  readonly capacity: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly now: Clock,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    this.capacity = Math.max(1, ratePerSecond);
    this.tokens = this.capacity;
    this.last = now();
  }

  take(): RateVerdict {
    const at = this.now();
    const elapsedSeconds = Math.max(0, at - this.last) / 1000;
    this.last = at;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.ratePerSecond);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true };
    }
    const secondsToNextToken = (1 - this.tokens) / this.ratePerSecond;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(secondsToNextToken)) };
  }
}
