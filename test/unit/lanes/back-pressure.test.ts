/**
 * A full, healthy lane makes fetching wait (`saturated`), and the waiting pipeline is woken when a refill
 * fits (`refill` in src/lanes/intake-policy.ts), not at every settled delivery; whatever else ends the
 * saturation wakes it at once. The real lane, memory store and a sender answered by hand, on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { customer, handLane } from './hand-lane.ts';

const SHARD = 'status:0';

async function world(concurrency: number, maxInMemory: number) {
  const { clock, sender, lane } = handLane(customer(concurrency, maxInMemory));
  await lane.assign(SHARD, 1);
  await clock.run(clock.now() + 100); // the shared limits' lease
  const settled: string[] = [];
  for (let i = 0; i < maxInMemory; i++) {
    lane.accept({
      deliveryId: `c1/evt_${i}`,
      eventId: `evt_${i}`,
      customer: 'c1',
      shard: SHARD,
      orderingKey: `pkg-${i}`,
      body: '{}',
      commitTsMs: null,
      attempts: 0,
      lastError: null,
      firstSeenAt: clock.now(),
      onSettled: () => settled.push(`evt_${i}`),
    });
  }
  await clock.run(clock.now() + 10);
  let woken = false;
  const room = lane.whenRoom().then(() => (woken = true));
  return { clock, sender, lane, settled, room, woken: () => woken };
}

async function stop(w: Awaited<ReturnType<typeof world>>): Promise<void> {
  while (w.sender.waiting.length > 0) w.sender.ok();
  const stopped = w.lane.stop(w.clock.now() + 1000);
  await w.clock.run(w.clock.now() + 10_000);
  await stopped;
}

describe('back-pressure from a full healthy lane', () => {
  it('wakes the pipeline once a refill fits (maxInMemory 16, concurrency 4: four deliveries)', async () => {
    const w = await world(4, 16);
    expect(w.lane.saturated).toBe(true);
    expect(w.sender.waiting).toHaveLength(4);
    for (let i = 1; i <= 3; i++) {
      w.sender.ok();
      await w.clock.run(w.clock.now() + 1);
      expect(w.settled).toHaveLength(i);
      expect(w.lane.saturated).toBe(false); // room for one record: the next fetched one may go in
      expect(w.woken()).toBe(false); // but the waiting pipeline sleeps until a chunk fits
    }
    w.sender.ok();
    await w.clock.run(w.clock.now() + 1);
    expect(w.settled).toHaveLength(4);
    expect(w.woken()).toBe(true);
    await stop(w);
  });

  it('with room for one only (concurrency 1), every settled delivery wakes it', async () => {
    const w = await world(1, 3);
    expect(w.lane.saturated).toBe(true);
    w.sender.ok();
    await w.clock.run(w.clock.now() + 1);
    expect(w.woken()).toBe(true);
    await stop(w);
  });

  it('a pause ends the saturation and wakes it at once', async () => {
    const w = await world(4, 16);
    await w.lane.setPaused(true, 'test');
    await w.clock.run(w.clock.now() + 1);
    expect(w.lane.saturated).toBe(false);
    expect(w.woken()).toBe(true);
    await stop(w);
  });
});
