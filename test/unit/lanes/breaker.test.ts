import { describe, expect, it } from 'vitest';
import { Breaker } from '../../../src/lanes/breaker.ts';

const policy = { errorThresholdPercentage: 50, volumeThreshold: 4, windowMs: 10_000, resetTimeoutMs: 5_000 };

/** Run a script of results against a fresh breaker; returns its state after each step. */
function run(steps: ('ok' | 'fail')[], t0 = 0, dt = 10): string[] {
  const b = new Breaker(policy);
  return steps.map((s, i) => {
    const now = t0 + i * dt;
    const probe = b.start(now);
    b.finish(now, s === 'fail', probe);
    return b.state(now);
  });
}

describe('Breaker (pure, time passed in)', () => {
  it.each<[string, ('ok' | 'fail')[], string]>([
    ['stays closed below the volume threshold', ['fail', 'fail', 'fail'], 'closed'],
    ['opens at the threshold over enough volume', ['fail', 'fail', 'fail', 'fail'], 'open'],
    ['50 % is not more than 50 %', ['fail', 'ok', 'fail', 'ok'], 'closed'],
    ['more than 50 % opens', ['fail', 'ok', 'fail', 'fail'], 'open'],
    ['successes keep it closed', ['ok', 'ok', 'ok', 'ok', 'fail'], 'closed'],
  ])('%s', (_name, steps, last) => {
    expect(run(steps).at(-1)).toBe(last);
  });

  it('forgets failures that fell out of the window', () => {
    const b = new Breaker(policy);
    for (let i = 0; i < 3; i++) b.finish(i, true, false);
    b.finish(20_000, true, false); // 3 old failures are out of the 10 s window
    expect(b.state(20_000)).toBe('closed');
  });

  it('open → half-open after the reset time → exactly one probe → closed on success', () => {
    const b = new Breaker(policy);
    for (let i = 0; i < 4; i++) b.finish(i, true, false);
    expect(b.state(10)).toBe('open');
    expect(b.mayStart(10)).toBe(false);
    expect(b.reopensAt()).toBe(5003);
    expect(b.state(5003)).toBe('half-open');
    expect(b.mayStart(5003)).toBe(true);
    const probe = b.start(5003);
    expect(probe).toBe(true);
    expect(b.mayStart(5004)).toBe(false); // one probe at a time
    b.finish(5100, false, probe);
    expect(b.state(5100)).toBe('closed');
    expect(b.mayStart(5100)).toBe(true);
  });

  it('a failed probe opens it again for another reset period', () => {
    const b = new Breaker(policy);
    for (let i = 0; i < 4; i++) b.finish(i, true, false);
    const probe = b.start(6000);
    b.finish(6100, true, probe);
    expect(b.state(6100)).toBe('open');
    expect(b.reopensAt()).toBe(11_100);
  });

  it('an abandoned probe frees the slot; answers of requests started before it opened do not decide', () => {
    const b = new Breaker(policy);
    for (let i = 0; i < 4; i++) b.finish(i, true, false);
    const probe = b.start(6000);
    b.abandon(probe);
    expect(b.mayStart(6001)).toBe(true);
    b.finish(6002, false, false); // a late answer of an old request
    expect(b.state(6002)).toBe('half-open');
  });
});
