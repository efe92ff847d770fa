import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../mock-customers/rate-limiter.ts';

function clock(start = 1_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('allows a burst of one second worth, then refuses with Retry-After', () => {
    const time = clock();
    const bucket = new TokenBucket(5, time.now);
    const verdicts = Array.from({ length: 7 }, () => bucket.take());
    expect(verdicts.slice(0, 5)).toEqual(Array(5).fill({ allowed: true }));
    expect(verdicts.slice(5)).toEqual([
      { allowed: false, retryAfterSeconds: 1 },
      { allowed: false, retryAfterSeconds: 1 },
    ]);
  });

  it('refills at the rate', () => {
    const time = clock();
    const bucket = new TokenBucket(10, time.now);
    for (let i = 0; i < 10; i += 1) bucket.take();
    expect(bucket.take().allowed).toBe(false);
    time.advance(99);
    expect(bucket.take().allowed).toBe(false);
    time.advance(2);
    expect(bucket.take().allowed).toBe(true);
    expect(bucket.take().allowed).toBe(false);
  });

  it('never holds more than its capacity', () => {
    const time = clock();
    const bucket = new TokenBucket(3, time.now);
    time.advance(60_000);
    const allowed = Array.from({ length: 10 }, () => bucket.take()).filter((v) => v.allowed).length;
    expect(allowed).toBe(3);
  });

  it.each([
    [0.2, 5],
    [0.5, 2],
    [1, 1],
    [100, 1],
  ])('rate %f/s: Retry-After is the whole seconds to the next token (%i)', (rate, seconds) => {
    const time = clock();
    const bucket = new TokenBucket(rate, time.now);
    while (bucket.take().allowed) {
      /* drain */
    }
    expect(bucket.take()).toEqual({ allowed: false, retryAfterSeconds: seconds });
  });

  it('a rate below 1/s still lets the first request through', () => {
    const bucket = new TokenBucket(0.1, clock().now);
    expect(bucket.take().allowed).toBe(true);
    expect(bucket.take()).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('refuses a non-positive rate', () => {
    expect(() => new TokenBucket(0, clock().now)).toThrow(RangeError);
  });
});
