import { describe, expect, it } from 'vitest';
import { PackageQueues } from '../../../src/lanes/package-queues.ts';

interface D {
  id: string;
  shard: string;
  orderingKey: string;
  firstSeenAt: number;
}
let t = 0;
const d = (id: string, pkg: string, shard = 's0', at = t++): D => ({
  id,
  shard,
  orderingKey: pkg,
  firstSeenAt: at,
});
const ids = (xs: (D | null)[]) => xs.map((x) => x?.id ?? null);

describe('PackageQueues', () => {
  it('one head out per package; packages take turns', () => {
    const q = new PackageQueues<D>();
    const [a1, a2, b1, c1] = [d('a1', 'A'), d('a2', 'A'), d('b1', 'B'), d('c1', 'C')];
    [a1, a2, b1, c1].forEach((x) => q.push(x));
    expect(q.size).toBe(4);
    expect(ids([q.next(), q.next(), q.next(), q.next()])).toEqual(['a1', 'b1', 'c1', null]); // a2 waits for a1
    expect(q.done(a1)).toEqual({ gone: false, parkedBehind: false });
    expect(ids([q.next(), q.next()])).toEqual(['a2', null]);
    expect(q.done(a2)).toEqual({ gone: true, parkedBehind: false });
    expect(q.has(a1)).toBe(false);
    expect(q.size).toBe(2);
  });

  it('the same ordering key in two shards is two packages', () => {
    const q = new PackageQueues<D>();
    q.push(d('x', 'A', 's0'));
    q.push(d('y', 'A', 's1'));
    expect(ids([q.next(), q.next()])).toEqual(['x', 'y']);
  });

  it('putBack returns the head to the front without losing its place', () => {
    const q = new PackageQueues<D>();
    const [a1, b1] = [d('a1', 'A'), d('b1', 'B')];
    q.push(a1);
    q.push(b1);
    expect(q.next()).toBe(a1);
    q.putBack(a1);
    expect(ids([q.next(), q.next()])).toEqual(['a1', 'b1']);
  });

  it('a package marked parkedBehind accepts nothing more in memory and reports it when it empties', () => {
    const q = new PackageQueues<D>();
    const a1 = d('a1', 'A');
    q.push(a1);
    expect(q.canAppend(d('a2', 'A'))).toBe(true);
    q.markParkedBehind(a1);
    expect(q.canAppend(d('a2', 'A'))).toBe(false);
    q.next();
    expect(q.done(a1)).toEqual({ gone: true, parkedBehind: true });
  });

  it('take removes a whole package in order, head included', () => {
    const q = new PackageQueues<D>();
    const [a1, a2, a3, b1] = [d('a1', 'A'), d('a2', 'A'), d('a3', 'A'), d('b1', 'B')];
    [a1, a2, a3, b1].forEach((x) => q.push(x));
    q.next();
    expect(ids(q.take(a1))).toEqual(['a1', 'a2', 'a3']);
    expect(ids([q.next(), q.next()])).toEqual(['b1', null]);
    expect(q.size).toBe(1);
  });

  it('takeStale takes packages whose oldest delivery is at or before the cutoff, saying which were out', () => {
    const q = new PackageQueues<D>();
    const old = d('old', 'A', 's0', 10);
    const oldNext = d('old2', 'A', 's0', 50);
    const young = d('young', 'B', 's0', 40);
    const idle = d('idle', 'C', 's0', 20);
    [old, oldNext, young, idle].forEach((x) => q.push(x));
    q.next(); // old is out
    const taken = q.takeStale(20);
    expect(taken.map((p) => [ids(p.items), p.busy])).toEqual([
      [['old', 'old2'], true],
      [['idle'], false],
    ]);
    expect(ids([q.next(), q.next()])).toEqual(['young', null]);
    expect(q.takeStale(1000, (head) => head.id !== 'young')).toEqual([]); // not eligible
    q.restore(taken);
    expect(q.size).toBe(4);
    expect(ids([q.next(), q.next()])).toEqual(['idle', null]); // the busy one stays out
  });

  it('takeWaiting leaves heads that are out, marks them, and keeps the order', () => {
    const q = new PackageQueues<D>();
    const [a1, a2, a3, b1, b2, c1] = [
      d('a1', 'A', 's0'),
      d('a2', 'A', 's0'),
      d('a3', 'A', 's0'),
      d('b1', 'B', 's1'),
      d('b2', 'B', 's1'),
      d('c1', 'C', 's0'),
    ];
    [a1, a2, a3, b1, b2, c1].forEach((x) => q.push(x));
    q.next(); // a1 out
    expect(ids(q.takeWaiting((x) => x.shard === 's0', true))).toEqual(['a2', 'a3', 'c1']);
    expect(q.canAppend(a1)).toBe(false); // marked parkedBehind
    expect(ids([q.next(), q.next()])).toEqual(['b1', null]);
    expect(q.done(a1)).toEqual({ gone: true, parkedBehind: true });
    expect(q.size).toBe(2);
  });

  it('done on something that is not the head changes nothing', () => {
    const q = new PackageQueues<D>();
    const [a1, a2] = [d('a1', 'A'), d('a2', 'A')];
    q.push(a1);
    q.push(a2);
    q.next();
    q.done(a2);
    expect(q.size).toBe(2);
  });
});
