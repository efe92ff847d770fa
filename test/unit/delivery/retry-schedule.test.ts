import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../../src/delivery/retry-schedule.ts';

const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };
const plain = { result: '5xx' as const, retryAfterMs: null };

describe('retryDelay', () => {
  it.each<[number, number, number]>([
    // attempts, random, expected delay: step/2 + random·step/2, step = base·2^(n-1)
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0.5, 1500],
    [3, 0, 2000],
    [4, 1, 8000],
  ])('after %i attempts with random %s waits %i ms', (attempts, r, expected) => {
    expect(retryDelay(attempts, plain, policy, () => r)).toEqual({ giveUp: false, delayMs: expected });
  });

  it('never exceeds maxDelayMs, however many attempts', () => {
    const p = { maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 60_000 };
    for (let n = 1; n < 99; n++) {
      const plan = retryDelay(n, plain, p, () => 1);
      expect(plan.giveUp === false && plan.delayMs).toBeLessThanOrEqual(60_000);
    }
  });

  it('gives up once maxAttempts are spent', () => {
    expect(retryDelay(5, plain, policy, () => 0)).toEqual({ giveUp: true });
    expect(retryDelay(4, plain, policy, () => 0).giveUp).toBe(false);
  });

  it('waits twice as long after a timeout or a 429 without Retry-After', () => {
    expect(retryDelay(1, { result: 'timeout', retryAfterMs: null }, policy, () => 0)).toEqual({
      giveUp: false,
      delayMs: 1000,
    });
    expect(retryDelay(2, { result: 'rate_limited', retryAfterMs: null }, policy, () => 0)).toEqual({
      giveUp: false,
      delayMs: 2000,
    });
  });

  it('honours Retry-After as a floor, clamped to maxDelayMs', () => {
    expect(retryDelay(1, { result: 'rate_limited', retryAfterMs: 5000 }, policy, () => 0)).toEqual({
      giveUp: false,
      delayMs: 5000,
    });
    expect(retryDelay(1, { result: 'rate_limited', retryAfterMs: 86_400_000 }, policy, () => 0)).toEqual({
      giveUp: false,
      delayMs: 60_000,
    });
    // A short Retry-After does not shorten the backoff.
    expect(retryDelay(4, { result: '5xx', retryAfterMs: 10 }, policy, () => 0)).toEqual({
      giveUp: false,
      delayMs: 4000,
    });
  });
});
