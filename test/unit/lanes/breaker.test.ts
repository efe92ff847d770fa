import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createBreaker,
  CountedFailure,
  isBreakerRejection,
  mayDispatch,
  stateOf,
} from '../../../src/lanes/breaker.ts';
import type { Outcome } from '../../../src/delivery/outcome.ts';

const ok: Outcome = {
  result: '2xx',
  decision: 'delivered',
  breakerFailure: false,
  status: 200,
  retryAfterMs: null,
  detail: '',
};
const bad: Outcome = {
  result: '5xx',
  decision: 'retry',
  breakerFailure: true,
  status: 500,
  retryAfterMs: null,
  detail: '',
};
const policy = { errorThresholdPercentage: 50, volumeThreshold: 4, windowMs: 10_000, resetTimeoutMs: 5_000 };

describe('mayDispatch', () => {
  it.each<[Parameters<typeof mayDispatch>[0], boolean, boolean]>([
    ['closed', false, true],
    ['closed', true, true],
    ['half-open', true, true],
    ['half-open', false, false],
    ['open', true, false],
    ['open', false, false],
  ])('%s with probe slot free=%s → %s', (state, free, expected) => {
    expect(mayDispatch(state, free)).toBe(expected);
  });
});

describe('breaker transitions (opossum, controlled clock)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const fire = (b: ReturnType<typeof createBreaker>, o: Outcome) =>
    b
      .fire(async () => {
        if (o.breakerFailure) throw new CountedFailure(o);
        return o;
      })
      .catch((e: unknown) => e);

  it('closed → open after the threshold over enough volume → half-open after the reset → one probe decides', async () => {
    const b = createBreaker(policy, 't', (run) => run());
    await fire(b, bad);
    await fire(b, bad);
    await fire(b, bad);
    expect(stateOf(b)).toBe('closed'); // below volumeThreshold
    await fire(b, bad);
    expect(stateOf(b)).toBe('open');
    expect(isBreakerRejection(await fire(b, ok))).toBe(true); // nothing goes while open

    vi.advanceTimersByTime(5_000);
    expect(stateOf(b)).toBe('half-open');
    expect(mayDispatch(stateOf(b), b.pendingClose)).toBe(true);
    const probe = fire(b, bad);
    expect(mayDispatch(stateOf(b), b.pendingClose)).toBe(false); // only one probe
    await probe;
    expect(stateOf(b)).toBe('open'); // failed probe re-opens

    vi.advanceTimersByTime(5_000);
    await fire(b, ok);
    expect(stateOf(b)).toBe('closed');
    b.shutdown();
  });

  it('successes keep it closed; 4xx-like outcomes (not breaker failures) never count', async () => {
    const b = createBreaker(policy, 't', (run) => run());
    const permanent: Outcome = { ...ok, result: '4xx', decision: 'dead', status: 400 };
    for (let i = 0; i < 20; i++) await fire(b, permanent);
    expect(stateOf(b)).toBe('closed');
    for (let i = 0; i < 20; i++) await fire(b, i % 3 === 0 ? bad : ok);
    expect(stateOf(b)).toBe('closed');
    b.shutdown();
  });

  it('failures outside the window are forgotten', async () => {
    const b = createBreaker(policy, 't', (run) => run());
    await fire(b, bad);
    await fire(b, bad);
    await fire(b, bad);
    vi.advanceTimersByTime(11_000);
    await fire(b, bad);
    await fire(b, ok);
    await fire(b, ok);
    expect(stateOf(b)).toBe('closed');
    b.shutdown();
  });
});
