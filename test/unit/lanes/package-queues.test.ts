import { describe, expect, it } from 'vitest';
import { PackageQueues, packageKey } from '../../../src/lanes/package-queues.ts';

interface D {
  id: string;
  shard: string;
  orderingKey: string;
  firstSeenAt: number;
}
let n = 0;
const d = (pkg: string, shard = 's:0'): D => ({
  id: `${pkg}-${++n}`,
  shard,
  orderingKey: pkg,
  firstSeenAt: n,
});

describe('PackageQueues: per-package order in memory', () => {
  it('one head out per package; packages take turns; the next goes when the head is done', () => {
    const q = new PackageQueues<D>();
    const [a1, a2, b1] = [d('A'), d('A'), d('B')];
    q.push(a1);
    q.push(a2);
    q.push(b1);
    expect(q.next(0)).toBe(a1);
    expect(q.next(0)).toBe(b1);
    expect(q.next(0)).toBe(null); // A's second waits for its head
    q.done(a1);
    expect(q.next(0)).toBe(a2);
    q.done(a2);
    q.done(b1);
    expect([q.size, q.packages]).toEqual([0, 0]);
  });

  it('putBack: the head did not go; it is first in line again', () => {
    const q = new PackageQueues<D>();
    const [a1, b1] = [d('A'), d('B')];
    q.push(a1);
    q.push(b1);
    expect(q.next(0)).toBe(a1);
    q.putBack(a1);
    expect(q.next(0)).toBe(a1);
  });

  it('defer: a failed head waits in memory until its time, then is ready again', () => {
    const q = new PackageQueues<D>();
    const a1 = d('A');
    q.push(a1);
    q.push(d('A'));
    expect(q.next(0)).toBe(a1);
    q.defer(a1, 500);
    expect(q.next(100)).toBe(null);
    expect(q.wake(100)).toBe(500);
    expect(q.wake(500)).toBe(null);
    expect(q.next(500)).toBe(a1);
  });

  it('take moves a whole package out (with its out head); restore brings it back as it was', () => {
    const q = new PackageQueues<D>();
    const [a1, a2] = [d('A'), d('A')];
    q.push(a1);
    q.push(a2);
    q.next(7);
    const taken = q.take(packageKey(a1))!;
    expect(taken).toMatchObject({ items: [a1, a2], out: true, outSince: 7 });
    expect([q.size, q.next(8)]).toEqual([0, null]);
    const a3 = d('A');
    q.restore(taken, [a3]);
    expect(q.size).toBe(3);
    expect(q.next(9)).toBe(null); // its head is still out
    q.done(a1);
    expect(q.next(10)).toBe(a2);
  });

  it('views report what the spill decision needs', () => {
    const q = new PackageQueues<D>();
    const [a1, a2] = [d('A', 't:1'), d('A', 't:1')];
    q.push(a1);
    q.push(a2);
    q.next(42);
    expect([...q.views()]).toEqual([
      {
        key: packageKey(a1),
        shard: 't:1',
        size: 2,
        out: true,
        outSince: 42,
        retryAt: null,
        headSeenAt: a1.firstSeenAt,
        newestSeenAt: a2.firstSeenAt,
      },
    ]);
  });

  it('a taken package leaves no stale turn behind', () => {
    const q = new PackageQueues<D>();
    const a1 = d('A');
    q.push(a1);
    q.take(packageKey(a1));
    q.push(d('B'));
    expect(q.next(0)?.orderingKey).toBe('B');
    expect(q.next(0)).toBe(null);
  });
});
