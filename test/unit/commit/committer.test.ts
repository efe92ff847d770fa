import { describe, expect, it } from 'vitest';
import { Committer } from '../../../src/commit/committer.ts';
import { OffsetTracker } from '../../../src/commit/offset-tracker.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/report/logger.ts';
import { systemClock } from '../../../src/clock.ts';

describe('Committer', () => {
  it('commits the settled prefix, and a partition that is no longer ours leaves the uncommitted gauge', async () => {
    const offsets = new OffsetTracker();
    const committed: string[] = [];
    const metrics = createMetrics({ defaultMetrics: false });
    const committer = new Committer({
      offsets,
      source: { commit: async (o) => void committed.push(...o.map((x) => `${x.partition}@${x.offset}`)) },
      metrics,
      log: createLogger('silent'),
      clock: systemClock,
      intervalMs: 1000,
    });
    const a = offsets.partition('t', 0);
    const b = offsets.partition('t', 1);
    a.track(0n, 1);
    a.settle(0n);
    b.track(0n, 1); // unsettled: 1 uncommitted
    await committer.commitNow();
    expect(committed).toEqual(['0@1']);
    const gauge = async () =>
      (await metrics.uncommitted.get()).values.map((v) => `${v.labels.partition}=${v.value}`).sort();
    expect(await gauge()).toEqual(['0=0', '1=1']);
    offsets.forget(new Set(['t:1'])); // revoked
    await committer.commitNow();
    expect(await gauge()).toEqual(['0=0']);
  });
});
