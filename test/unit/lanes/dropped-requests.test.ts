/**
 * A request still out when its shard is given up (revoked, or fenced) is no longer the lane's work, but it
 * still holds a connection at the customer and one of its `concurrency` slots until it ends. When the
 * shard comes back (a fenced owner taking it back) the same delivery is read and sent again: the old and
 * the new request of one delivery are told apart, and never more than `concurrency` are open together.
 * Found by the simulation (a fence, a takeover, then three requests open at a customer of concurrency 2).
 * The real lane, memory store and a sender answered by hand, on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { customer, handLane } from './hand-lane.ts';

const SHARD = 'status:0';
const CONCURRENCY = 2;

describe('requests of a shard given up', () => {
  it('keep their slots until they end, and the same delivery sent again is a request of its own', async () => {
    const { clock, sender, lane } = handLane(customer(CONCURRENCY, 8));
    const settled: string[] = [];
    const accept = (evt: string, pkg: string) =>
      lane.accept({
        deliveryId: `c1/${evt}`,
        eventId: evt,
        customer: 'c1',
        shard: SHARD,
        orderingKey: pkg,
        body: '{}',
        commitTsMs: null,
        attempts: 0,
        lastError: null,
        firstSeenAt: clock.now(),
        onSettled: () => settled.push(evt),
      });
    const tick = () => clock.run(clock.now() + 5);

    await lane.assign(SHARD, 1);
    await clock.run(clock.now() + 100); // the shared limits' lease
    accept('evt_a', 'pkg-a');
    accept('evt_b', 'pkg-b');
    await tick();
    expect(sender.open).toEqual(['evt_a', 'evt_b']);

    // Fenced: the shard is dropped with both requests out; then taken back and read again.
    await lane.revoke([SHARD]);
    await lane.assign(SHARD, 2);
    accept('evt_a', 'pkg-a');
    accept('evt_b', 'pkg-b');
    accept('evt_c', 'pkg-c');
    await tick();
    expect(sender.open).toEqual(['evt_a', 'evt_b']); // no slot free: both old requests are still open

    sender.ok('evt_b'); // the old request of evt_b ends first: it settles nothing
    await tick();
    expect(settled).toEqual([]);
    // Its slot goes to the new request of evt_a, while the old one of evt_a is still open.
    expect(sender.open).toEqual(['evt_a', 'evt_a']);

    sender.ok('evt_a'); // the oldest request of evt_a: the old one
    await tick();
    expect(settled).toEqual([]);
    expect(sender.open).toEqual(['evt_a', 'evt_b']);
    while (sender.waiting.length > 0) {
      sender.ok();
      await tick();
    }
    expect(settled.sort()).toEqual(['evt_a', 'evt_b', 'evt_c']);
    expect(sender.maxOpen).toBe(CONCURRENCY);
    expect(lane.snapshot().inflight).toBe(0);

    const stopped = lane.stop(clock.now() + 1000);
    await clock.run(clock.now() + 10_000);
    await stopped;
  });
});
