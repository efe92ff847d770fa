import { describe, expect, it } from 'vitest';
import { Committer } from '../../../src/commit/committer.ts';
import { OffsetTracker } from '../../../src/commit/offset-tracker.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/report/logger.ts';
import { systemClock } from '../../../src/clock.ts';
import { RebalanceRefusal } from '../../../src/intake/source.ts';

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

  it.each([
    ['refused for a rebalance', new RebalanceRefusal('ILLEGAL_GENERATION'), [3]],
    ['failed otherwise', new Error('broker down'), []],
  ])(
    'a commit %s tells the assignments seen when it was sent, not when it was answered',
    async (_, error, told) => {
      const offsets = new OffsetTracker();
      let seen = 3;
      const refusals: number[] = [];
      const committer = new Committer({
        offsets,
        source: {
          commit: async () => {
            seen = 4; // an assignment is handled while the answer travels
            throw error;
          },
        },
        metrics: createMetrics({ defaultMetrics: false }),
        log: createLogger('silent'),
        clock: systemClock,
        intervalMs: 1000,
        assignmentsSeen: () => seen,
        onRebalanceRefusal: (asOf) => refusals.push(asOf),
      });
      const p = offsets.partition('t', 0);
      p.track(0n, 1);
      p.settle(0n);
      await committer.commitNow();
      expect(refusals).toEqual(told);
    },
  );
});
