/**
 * Time, injected. Everything in the delivery core reads the time and sets timers through a `Clock`, never
 * through `Date.now` or `setTimeout` directly: production uses `systemClock`; the simulation test runs the
 * same code on virtual time (test/sim/), where a whole day of faults takes milliseconds and replays exactly.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Run `fn` once after `ms`. A pending timer never keeps the process alive. */
  after(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}

/** Waits for `p` at most `ms` on `clock`. */
export async function within(clock: Clock, p: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: Timer | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = clock.after(ms, () => r('timeout'))));
  const res = await Promise.race([p.then(() => 'done' as const), timeout]);
  timer?.cancel();
  return res;
}

/**
 * One timer that is (re)armed for the earliest deadline asked of it: `at(t)` keeps the sooner of the armed
 * time and `t`. Used for "wake me when the next thing is due" instead of polling.
 */
export class Alarm {
  private timer: Timer | null = null;
  private armedFor = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  at(t: number): void {
    if (!Number.isFinite(t) || t >= this.armedFor) return;
    this.timer?.cancel();
    this.armedFor = t;
    this.timer = this.clock.after(Math.max(0, t - this.clock.now()), () => {
      this.timer = null;
      this.armedFor = Infinity;
      this.fire();
    });
  }

  /** Armed for exactly `t` from now on (sooner or later than before); the same deadline keeps its timer. */
  reset(t: number): void {
    if (t === this.armedFor) return;
    this.cancel();
    this.at(t);
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = null;
    this.armedFor = Infinity;
  }
}
