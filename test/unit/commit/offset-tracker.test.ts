import { describe, expect, it } from 'vitest';
import { OffsetTracker, PartitionTracker } from '../../../src/commit/offset-tracker.ts';

describe('PartitionTracker', () => {
  it('commits only a fully settled prefix', () => {
    const t = new PartitionTracker();
    t.track(10n, 1);
    t.track(11n, 2);
    t.track(12n, 1);
    expect(t.committable()).toBeNull();
    t.settle(12n);
    expect(t.committable()).toBeNull(); // 10 and 11 still open
    t.settle(10n);
    expect(t.committable()).toBe(11n);
    t.settle(11n);
    expect(t.committable()).toBe(11n); // 11 needs two settlements
    t.settle(11n);
    expect(t.committable()).toBe(13n);
    expect(t.uncommitted).toBe(0);
  });

  it('messages without deliveries are settled at once', () => {
    const t = new PartitionTracker();
    t.track(0n, 0);
    t.track(1n, 0);
    expect(t.committable()).toBe(2n);
  });

  it('a stuck message holds the point however many follow it', () => {
    const t = new PartitionTracker();
    t.track(0n, 1);
    for (let i = 1n; i < 5000n; i++) t.track(i, 0);
    expect(t.committable()).toBeNull();
    expect(t.uncommitted).toBe(5000);
    t.settle(0n);
    expect(t.committable()).toBe(5000n);
  });

  it('rejects offsets that go backwards and settlements of unknown offsets', () => {
    const t = new PartitionTracker();
    t.track(5n, 1);
    expect(() => t.track(5n, 1)).toThrow(RangeError);
    expect(() => t.settle(4n)).toThrow(RangeError);
  });

  it('compacts its memory as the prefix moves (long runs stay cheap)', () => {
    const t = new PartitionTracker();
    for (let i = 0n; i < 100_000n; i++) {
      t.track(i, 1);
      t.settle(i);
    }
    expect(t.committable()).toBe(100_000n);
    expect(t.uncommitted).toBe(0);
  });
});

describe('OffsetTracker', () => {
  it('reports each moved partition once until it moves again', () => {
    const o = new OffsetTracker();
    o.partition('a', 0).track(0n, 0);
    o.partition('a', 1).track(7n, 1);
    expect(o.pendingCommits()).toEqual([{ topic: 'a', partition: 0, offset: 1n }]);
    o.markCommitted('a', 0, 1n);
    expect(o.pendingCommits()).toEqual([]);
    o.partition('a', 1).settle(7n);
    expect(o.pendingCommits()).toEqual([{ topic: 'a', partition: 1, offset: 8n }]);
  });

  it('topic names containing colons survive', () => {
    const o = new OffsetTracker();
    o.partition('x:y', 3).track(0n, 0);
    expect(o.pendingCommits()).toEqual([{ topic: 'x:y', partition: 3, offset: 1n }]);
  });

  it('forgets revoked partitions', () => {
    const o = new OffsetTracker();
    o.partition('a', 0).track(0n, 0);
    o.partition('a', 1).track(0n, 0);
    o.forget(new Set([OffsetTracker.key('a', 0)]));
    expect(o.pendingCommits().map((p) => p.partition)).toEqual([1]);
  });
});
