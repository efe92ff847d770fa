import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/delivery/rate-limit.ts';

describe('TokenBucket', () => {
  it('allows a second of burst, then one token per 1/rate seconds', () => {
    const b = new TokenBucket(5, 0);
    expect([0, 0, 0, 0, 0].map(() => b.take(0))).toEqual([0, 0, 0, 0, 0]);
    expect(b.take(0)).toBe(200);
    expect(b.take(100)).toBe(100);
    expect(b.take(200)).toBe(0);
    expect(b.take(200)).toBe(200);
  });

  it('does not accumulate more than capacity while idle', () => {
    const b = new TokenBucket(2, 0);
    b.take(0);
    b.take(0);
    const afterIdle = [b.take(60_000), b.take(60_000), b.take(60_000)];
    expect(afterIdle).toEqual([0, 0, 500]);
  });

  it('handles rates below one per second', () => {
    const b = new TokenBucket(0.5, 0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(2000);
    expect(b.take(2000)).toBe(0);
  });

  it('a clock going backwards does not mint tokens', () => {
    const b = new TokenBucket(1, 10_000);
    expect(b.take(10_000)).toBe(0);
    expect(b.take(5_000)).toBe(1000);
  });
});
