/**
 * The lane's share of its customer's limits (src/lanes/limits.ts), against the real memory store shared by
 * several holders (processes), on virtual time: permits never sum above `concurrency`, no request starts
 * without a lease (and none that would outlive it), the breaker and the pause are the customer's, a
 * half-open probe goes from one holder only, rate tokens stay within the bucket, a release gives the
 * permits back at once.
 */
import { describe, expect, it } from 'vitest';
import { LaneLimits, leaseTiming } from '../../../src/lanes/limits.ts';
import type { CustomerConfig } from '../../../src/config/customers.ts';
import { MemoryRetryStore } from '../../../src/store/memory.ts';
import type { RetryStore } from '../../../src/store/port.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/report/logger.ts';
import { SimClock } from '../../sim/clock.ts';

const T0 = 1_800_000_000_000;

function customer(over: Partial<CustomerConfig> = {}): CustomerConfig {
  return {
    id: 'c1',
    url: 'http://customer.invalid/hook',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    match: '*',
    concurrency: 4,
    ratePerSecond: null,
    timeoutMs: 500,
    maxInMemory: 100,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 4, windowMs: 10_000, resetTimeoutMs: 1000 },
    ...over,
  };
}

/** A holder: its limits client, and the demand its lane would report. */
class Holder {
  out = 0;
  ready = 0;
  grants = 0;
  /** When the lane was told to cut its requests out. */
  cuts: number[] = [];
  readonly limits: LaneLimits;
  constructor(name: string, store: RetryStore, clock: SimClock, cfg: CustomerConfig) {
    this.limits = new LaneLimits({
      cfg,
      store,
      clock,
      random: () => 0.5,
      log: createLogger('silent'),
      metrics: createMetrics({ defaultMetrics: false }),
      holder: name,
      demand: () => ({ out: this.out, ready: this.ready }),
      granted: () => {
        this.grants += 1;
        this.pump();
      },
      cutOff: () => {
        this.cuts.push(clock.now());
        this.out = 0;
      },
    });
  }
  /** Start what the limits allow (as the dispatcher does); returns how many started. */
  sent: number[] = [];
  probes = 0;
  pump(): number {
    let n = 0;
    while (this.ready > 0 && this.limits.mayStart(this.clockNow(), this.out)) {
      if (this.limits.start(this.clockNow())) this.probes += 1;
      this.ready -= 1;
      this.out += 1;
      this.sent.push(this.clockNow());
      n += 1;
    }
    this.limits.poke();
    return n;
  }
  clockNow = () => 0;
  /** One request answered. */
  answer(failure: boolean, probe = false): void {
    this.out -= 1;
    this.limits.finish(this.clockNow(), failure, probe);
  }
}

function world(cfg = customer(), names = ['a', 'b']) {
  const clock = new SimClock(T0);
  const store = new MemoryRetryStore();
  let refuse = false;
  const faulty = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'syncLimits' || typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        refuse
          ? Promise.reject(new Error('store down'))
          : (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
    },
  });
  const holders = names.map((n) => {
    const h = new Holder(n, faulty, clock, cfg);
    h.clockNow = () => clock.now();
    return h;
  });
  return {
    clock,
    store,
    holders,
    setRefuse: (r: boolean) => (refuse = r),
    run: (ms: number) => clock.run(clock.now() + ms),
  };
}

describe('shared limits: the lane side', () => {
  it('the lease is short whatever timeoutMs, and outlives two failed renewals', () => {
    expect(leaseTiming()).toEqual({ leaseMs: 6000, renewMs: 2000, marginMs: 1000 });
    const t = leaseTiming(3000, 200);
    expect(t.leaseMs - t.marginMs).toBeGreaterThanOrEqual(2 * t.renewMs);
  });

  it('nothing starts before the first grant; permits of two holders never sum above concurrency', async () => {
    const w = world();
    const [a, b] = w.holders as [Holder, Holder];
    a.ready = 10;
    b.ready = 10;
    expect(a.limits.mayStart(w.clock.now(), 0)).toBe(false);
    a.limits.begin();
    b.limits.begin();
    for (let i = 0; i < 50; i++) {
      await w.run(100);
      expect(a.out + b.out).toBeLessThanOrEqual(4);
      expect(a.limits.held + b.limits.held).toBeLessThanOrEqual(4);
      // Answers come back; the holders ask again.
      if (a.out > 0) a.answer(false);
      if (b.out > 0) b.answer(false);
      a.ready = 10;
      b.ready = 10;
      a.pump();
      b.pump();
    }
    // Both got a share: once a holder learns (at its next renewal, within 2 s) that another wants permits,
    // it does not refill slots above its fair share before the store has had its word.
    const late = (h: Holder) => h.sent.filter((t) => t >= T0 + 2500).length;
    expect(late(a)).toBeGreaterThan(0);
    expect(late(b)).toBeGreaterThan(0);
    expect(Math.abs(late(a) - late(b))).toBeLessThanOrEqual(Math.max(late(a), late(b)) / 2);
    expect(a.limits.mode).toBe('leased');
  });

  it('a lease that runs out cuts what is out before the store lets its permits go; lost, then leased again', async () => {
    // timeoutMs far beyond the lease: requests still out when it runs out are cut, not waited for.
    const w = world(customer({ timeoutMs: 60_000 }), ['a']);
    const a = w.holders[0]!;
    a.limits.begin();
    await w.run(10);
    expect(a.limits.mode).toBe('leased');
    w.setRefuse(true);
    let lastAllowed = 0;
    while (a.limits.mode === 'leased') {
      if (a.limits.mayStart(w.clock.now(), 0)) lastAllowed = w.clock.now();
      await w.run(50);
    }
    expect(a.limits.mode).toBe('lost');
    expect(a.limits.mayStart(w.clock.now(), 0)).toBe(false);
    expect(a.cuts).toHaveLength(1);
    // Nothing started after the cut, and the cut came before the store lets the permits go.
    const view = await w.store.limitsView('c1', lastAllowed);
    const expiresAt = view.holders.find((h) => h.holder === 'a')?.expiresAt ?? 0;
    expect(lastAllowed).toBeLessThan(a.cuts[0]!);
    expect(a.cuts[0]!).toBeLessThan(expiresAt);
    w.setRefuse(false);
    a.ready = 1;
    a.limits.poke();
    await w.run(3000);
    expect(a.limits.mode).toBe('leased');
    expect(a.out).toBe(1);
  });

  it('the breaker is the customer’s: failures seen by one holder stop the other; one probe in all', async () => {
    const w = world();
    const [a, b] = w.holders as [Holder, Holder];
    a.limits.begin();
    b.limits.begin();
    a.ready = 4;
    await w.run(10);
    expect(a.out).toBeGreaterThan(0);
    while (a.out > 0) a.answer(true);
    a.ready = 4;
    a.pump();
    while (a.out > 0) a.answer(true);
    await w.run(10);
    expect(a.limits.breaker).toBe('open');
    b.ready = 3;
    b.limits.poke();
    await w.run(300);
    expect(b.limits.breaker).toBe('open');
    expect(b.out).toBe(0);
    // After resetTimeoutMs: half-open, and exactly one holder sends the probe.
    a.ready = 3;
    a.limits.poke();
    await w.run(2500);
    expect(a.probes + b.probes).toBe(1);
    expect(a.out + b.out).toBe(1);
    const prober = a.probes === 1 ? a : b;
    prober.answer(false, true);
    await w.run(10);
    expect(prober.limits.breaker).toBe('closed');
    await w.run(2500);
    expect(a.limits.breaker).toBe('closed');
    expect(b.limits.breaker).toBe('closed');
  });

  it('the pause is kept in the store: the other holder follows at its next sync, and a new one starts paused', async () => {
    const w = world(customer(), ['a', 'b']);
    const [a, b] = w.holders as [Holder, Holder];
    a.limits.begin();
    b.limits.begin();
    await w.run(10);
    await a.limits.setPaused({ reason: 'maintenance', at: w.clock.now() });
    expect(a.limits.paused).toMatchObject({ reason: 'maintenance' });
    await w.run(2500);
    expect(b.limits.paused).toMatchObject({ reason: 'maintenance' });
    const c = new Holder('c', w.store, w.clock, customer());
    c.limits.begin();
    await w.run(10);
    expect(c.limits.paused).toMatchObject({ reason: 'maintenance' });
    await b.limits.setPaused(null);
    await w.run(2500);
    expect(a.limits.paused).toBeNull();
  });

  it('rate tokens: two holders together stay within the bucket (one second of burst + the rate)', async () => {
    const w = world(customer({ ratePerSecond: 10, concurrency: 8 }));
    const [a, b] = w.holders as [Holder, Holder];
    a.limits.begin();
    b.limits.begin();
    for (let i = 0; i < 60; i++) {
      a.ready = 5;
      b.ready = 5;
      a.pump();
      b.pump();
      await w.run(50);
      while (a.out > 0) a.answer(false);
      while (b.out > 0) b.answer(false);
    }
    const sends = [...a.sent, ...b.sent].sort((x, y) => x - y);
    const seconds = (sends.at(-1)! - sends[0]!) / 1000;
    expect(sends.length).toBeLessThanOrEqual(10 * seconds + 10);
    expect(sends.length).toBeGreaterThan(10 * seconds * 0.5); // and they do use it
  });

  it('a release gives the permits back at once', async () => {
    const w = world(customer({ concurrency: 2 }));
    const [a, b] = w.holders as [Holder, Holder];
    a.ready = 2;
    a.limits.begin();
    await w.run(10);
    expect(a.limits.held).toBe(2);
    a.answer(false);
    a.answer(false);
    await a.limits.release();
    expect(a.limits.mode).toBe('released');
    b.ready = 2;
    b.limits.begin();
    await w.run(10);
    expect(b.out).toBe(2);
  });
});
