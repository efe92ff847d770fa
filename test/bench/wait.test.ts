/**
 * The bench's drain rule (bench/figures/common.ts `waitUnique`): with a fixed limit it gives up at the
 * limit; with `{ stallMs, capMs }` it waits while unique deliveries keep arriving, calls a ledger that
 * stopped moving `stalled` (what is missing is lost), and one still moving at the cap not stalled (late).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainEnd, waitUnique } from '../../bench/figures/common.ts';
import type { WaitLimit } from '../../bench/figures/common.ts';
import type { MockCustomersProcess } from '../../bench/world.ts';

/**
 * Runs `waitUnique` against a ledger whose unique count follows `uniqueAt(ms since start)`, on fake time;
 * returns its result and how long it waited.
 */
async function waitFor(
  uniqueAt: (ms: number) => number,
  want: number,
  limit: WaitLimit,
): Promise<{ value: Awaited<ReturnType<typeof waitUnique>>; ms: number }> {
  const start = Date.now();
  const mocks = {
    stats: async () => ({ unique: uniqueAt(Date.now() - start), received: 0, duplicates: 0, outOfOrder: 0 }),
  } as unknown as MockCustomersProcess;
  let value: Awaited<ReturnType<typeof waitUnique>> | undefined;
  void waitUnique(mocks, 'c', want, limit).then((v) => (value = v));
  while (value === undefined) await vi.advanceTimersByTimeAsync(100);
  return { value, ms: Date.now() - start };
}

describe('waitUnique', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('returns as soon as everything arrived', async () => {
    const { value, ms } = await waitFor((t) => Math.floor(t / 100), 20, { stallMs: 1000, capMs: 60_000 });
    expect(value).toMatchObject({ unique: 20, timedOut: false, stalled: false });
    expect(ms).toBeLessThan(2500);
  });

  it('a fixed limit gives up at the limit even while deliveries arrive', async () => {
    const { value, ms } = await waitFor((t) => Math.floor(t / 100), 1000, 5000);
    expect(value.timedOut).toBe(true);
    expect(value.stalled).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(5000);
    expect(ms).toBeLessThan(6000);
  });

  it('keeps waiting past any fixed limit while deliveries arrive, and stops at the cap: late, not stalled', async () => {
    const { value, ms } = await waitFor((t) => Math.floor(t / 500), 1000, { stallMs: 2000, capMs: 30_000 });
    expect(value).toMatchObject({ timedOut: true, stalled: false });
    expect(value.unique).toBeGreaterThanOrEqual(59);
    expect(ms).toBeGreaterThanOrEqual(30_000);
  });

  it('gives up once nothing new arrived for stallMs: stalled', async () => {
    const { value, ms } = await waitFor((t) => Math.min(10, Math.floor(t / 100)), 20, {
      stallMs: 3000,
      capMs: 60_000,
    });
    expect(value).toMatchObject({ unique: 10, timedOut: true, stalled: true });
    expect(ms).toBeGreaterThanOrEqual(1000 + 3000);
    expect(ms).toBeLessThan(1000 + 3000 + 1000);
  });
});

describe('drainEnd', () => {
  const limit = { stallMs: 30_000, capMs: 600_000 };
  it.each([
    ['nothing missing', { unique: 10, stalled: false }, ''],
    ['stalled', { unique: 7, stalled: true }, 'deliveries had stopped for 30 s'],
    [
      'cut at the cap',
      { unique: 7, stalled: false },
      'the 600 s drain cap was reached with deliveries still arriving',
    ],
  ])('%s', (_name, got, want) => expect(drainEnd(got, 10, limit)).toBe(want));
});
