import { describe, expect, it } from 'vitest';
import { Alarm, within } from '../../src/clock.ts';
import type { Clock } from '../../src/clock.ts';

/** A clock that records the timers asked of it; `fire` runs the ones due by `t`. */
function recordingClock() {
  let now = 0;
  let armed = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => now,
    after(ms, fn) {
      armed += 1;
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
  };
  return {
    clock,
    armed: () => armed,
    live: () => timers.filter((t) => t.live).length,
    fire(t: number) {
      now = t;
      for (const x of timers) {
        if (!x.live || x.at > t) continue;
        x.live = false;
        x.fn();
      }
    },
  };
}

describe('Alarm', () => {
  it('at() keeps the sooner deadline', () => {
    const c = recordingClock();
    const fired: number[] = [];
    const a = new Alarm(c.clock, () => fired.push(c.clock.now()));
    a.at(100);
    a.at(200); // later: ignored
    a.at(50); // sooner: re-armed
    expect(c.live()).toBe(1);
    c.fire(60);
    expect(fired).toEqual([60]);
    c.fire(300);
    expect(fired).toEqual([60]);
  });

  it.each([
    { name: 'the same deadline keeps its timer', first: 100, then: 100, timers: 1, firesAt: 100 },
    { name: 'a later deadline replaces a sooner one', first: 100, then: 200, timers: 2, firesAt: 200 },
    { name: 'a sooner deadline replaces a later one', first: 200, then: 100, timers: 2, firesAt: 100 },
    { name: 'no deadline disarms it', first: 100, then: Infinity, timers: 1, firesAt: null },
  ])('reset(): $name', ({ first, then, timers, firesAt }) => {
    const c = recordingClock();
    const fired: number[] = [];
    const a = new Alarm(c.clock, () => fired.push(c.clock.now()));
    a.reset(first);
    a.reset(then);
    expect(c.armed()).toBe(timers);
    expect(c.live()).toBe(firesAt === null ? 0 : 1);
    for (const t of [50, 100, 150, 200, 250]) c.fire(t);
    expect(fired).toEqual(firesAt === null ? [] : [firesAt]);
  });
});

describe('within', () => {
  it('is done when the promise settles first, and clears its timer', async () => {
    const c = recordingClock();
    expect(await within(c.clock, Promise.resolve(), 1000)).toBe('done');
    expect(c.live()).toBe(0);
  });

  it('times out when the clock passes first', async () => {
    const c = recordingClock();
    const waiting = within(c.clock, new Promise(() => {}), 1000);
    c.fire(999);
    c.fire(1000);
    expect(await waiting).toBe('timeout');
  });
});
