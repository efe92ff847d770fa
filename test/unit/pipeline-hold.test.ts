/**
 * The rebalance hold (src/pipeline.ts `onRebalancing`): lanes send nothing new from a rebalance's first
 * signal until the assignment that ends it, or until the hold's time limit after that first signal. A
 * signal raised before an assignment that has since been handled (a commit refused for a rebalance, whose
 * answer arrived late) is about a rebalance that is over, and holds nothing: no assignment would come to
 * release it.
 */
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline.ts';
import type { Lane } from '../../src/lanes/lane.ts';
import { MemoryRetryStore } from '../../src/store/memory.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { createLogger } from '../../src/report/logger.ts';
import { SimClock } from '../sim/clock.ts';

const LIMIT = 30_000;
const TP = { topic: 't', partition: 0 };

function world() {
  const clock = new SimClock();
  const start = clock.now();
  let held = false;
  const changes: string[] = [];
  const lane = {
    id: 'c',
    hold: () => {
      if (!held) changes.push(`hold at ${clock.now() - start}`);
      held = true;
    },
    release: () => {
      if (held) changes.push(`release at ${clock.now() - start}`);
      held = false;
    },
    assign: async () => ({ parked: 0 }),
    revoke: async () => {},
  } as unknown as Lane;
  const pipeline = new Pipeline({
    lanes: [lane],
    customers: [],
    store: new MemoryRetryStore(),
    metrics: createMetrics({ defaultMetrics: false }),
    log: createLogger('silent'),
    clock,
  });
  const at = (ms: number) => clock.run(start + ms);
  return { pipeline, changes, at, held: () => held };
}

describe('the rebalance hold', () => {
  it('ends with the assignment that ends the rebalance', async () => {
    const w = world();
    expect(w.pipeline.onRebalancing(LIMIT)).toBe(true);
    await w.at(2000);
    await w.pipeline.onAssignment([TP]);
    await w.at(LIMIT + 5000);
    expect(w.changes).toEqual(['hold at 0', 'release at 2000']);
  });

  it('ends at its time limit after the first signal when no assignment comes; repeats do not extend it', async () => {
    const w = world();
    expect(w.pipeline.onRebalancing(LIMIT)).toBe(true);
    await w.at(20_000);
    expect(w.pipeline.onRebalancing(LIMIT)).toBe(false); // the same rebalance: no second early commit
    await w.at(LIMIT + 20_000);
    expect(w.changes).toEqual(['hold at 0', `release at ${LIMIT}`]);
  });

  it('ignores a signal raised before an assignment that has been handled since (a late refusal)', async () => {
    const w = world();
    const asOf = w.pipeline.assignmentsSeen; // a commit is sent
    w.pipeline.onRebalancing(LIMIT);
    await w.pipeline.onAssignment([TP]); // the rebalance ends while its refusal travels
    await w.at(100);
    expect(w.pipeline.onRebalancing(LIMIT, asOf)).toBe(false);
    expect(w.held()).toBe(false);
    await w.at(LIMIT + 1000);
    expect(w.changes).toEqual(['hold at 0', 'release at 0']);
  });

  it('holds on a refusal raised since the last assignment (the rebalance is still ahead)', async () => {
    const w = world();
    await w.pipeline.onAssignment([TP]);
    const asOf = w.pipeline.assignmentsSeen;
    await w.at(100);
    expect(w.pipeline.onRebalancing(LIMIT, asOf)).toBe(true);
    expect(w.held()).toBe(true);
    await w.at(500);
    await w.pipeline.onAssignment([TP]);
    expect(w.changes).toEqual(['hold at 100', 'release at 500']);
  });
});
