import { describe, expect, it } from 'vitest';
import { SpacedMixer, runDemoGenerator } from '../../demo/generator.ts';
import type { ChangeRecord } from '../../demo/generator.ts';
import { buildJourney, journeyProblems, packageId } from '../../load/generator/journey.ts';
import { createRng } from '../../load/generator/random.ts';
import type { PackageStatusInsert } from '../../load/package-status.ts';
import { decodeRecord } from '../../src/intake/debezium.ts';

function journeys(limit: number | null, hops = 2) {
  const rng = createRng(1);
  let n = 0;
  return () => {
    if (limit !== null && n >= limit) return null;
    n += 1;
    return buildJourney(rng, { packageId: packageId('T', n), customerId: `customer-${(n % 3) + 1}`, hops });
  };
}

describe('SpacedMixer', () => {
  it('refuses a negative gap', () => {
    expect(() => new SpacedMixer({ rng: createRng(1), minGapMs: -1, nextJourney: journeys(1) })).toThrow(
      RangeError,
    );
  });

  it.each([
    { minGapMs: 1000, max: 2, tickMs: 100 },
    { minGapMs: 1000, max: 5, tickMs: 50 },
    { minGapMs: 250, max: 1, tickMs: 10 },
    { minGapMs: 0, max: 3, tickMs: 10 },
  ])('gap $minGapMs ms, $max per batch every $tickMs ms', ({ minGapMs, max, tickMs }) => {
    const mixer = new SpacedMixer({ rng: createRng(7), minGapMs, nextJourney: journeys(40) });
    const emitted: { at: number; step: PackageStatusInsert }[] = [];
    let now = 0;
    while (!mixer.done) {
      const batch = mixer.nextBatch(max, now);
      expect(batch.length).toBeLessThanOrEqual(max);
      expect(new Set(batch.map((s) => s.package_id)).size).toBe(batch.length);
      for (const step of batch) emitted.push({ at: now, step });
      now += tickMs;
      expect(now).toBeLessThan(10_000_000);
    }
    const byPackage = new Map<string, { at: number; step: PackageStatusInsert }[]>();
    for (const e of emitted)
      byPackage.set(e.step.package_id, [...(byPackage.get(e.step.package_id) ?? []), e]);
    expect(byPackage.size).toBe(40);
    expect(mixer.started).toBe(40);
    expect(mixer.completed).toBe(40);
    for (const steps of byPackage.values()) {
      expect(journeyProblems(steps.map((s) => s.step))).toEqual([]);
      for (let i = 1; i < steps.length; i++)
        expect(steps[i]!.at - steps[i - 1]!.at).toBeGreaterThanOrEqual(minGapMs);
    }
  });

  it('starts new journeys while too few are ready, and waits when none can start', () => {
    const mixer = new SpacedMixer({ rng: createRng(3), minGapMs: 1000, nextJourney: journeys(2) });
    expect(mixer.nextBatch(5, 0)).toHaveLength(2);
    expect(mixer.active).toBe(2);
    expect(mixer.nextBatch(5, 500)).toEqual([]);
    expect(mixer.nextReadyAt()).toBe(1000);
    expect(mixer.nextBatch(5, 1000)).toHaveLength(2);
    expect(mixer.done).toBe(false);
  });

  it('keeps just enough journeys under way for the rate', () => {
    // 20 events/s in batches of 2 every 100 ms, one step per package per second: about 20 packages.
    const mixer = new SpacedMixer({ rng: createRng(3), minGapMs: 1000, nextJourney: journeys(null, 5) });
    for (let now = 0; now < 30_000; now += 100) expect(mixer.nextBatch(2, now)).toHaveLength(2);
    expect(mixer.active).toBeGreaterThanOrEqual(18);
    expect(mixer.active).toBeLessThanOrEqual(24);
  });
});

describe('runDemoGenerator', () => {
  it('publishes Debezium records the integrator decodes, counted per customer', async () => {
    const published: ChangeRecord[] = [];
    const sent = new Map<string, number>();
    const result = await runDemoGenerator({
      customers: ['customer-1', 'customer-2', 'customer-3'],
      rate: 2000,
      packages: 12,
      seed: 42,
      packagePrefix: 'DEMO-test',
      minStepGapMs: 0,
      publish: (records) => {
        published.push(...records);
      },
      signal: new AbortController().signal,
      onSent: (c, n) => sent.set(c, (sent.get(c) ?? 0) + n),
    });
    expect(result.packagesStarted).toBe(12);
    expect(result.packagesCompleted).toBe(12);
    expect(result.events).toBe(published.length);
    expect([...sent.values()].reduce((a, b) => a + b, 0)).toBe(published.length);

    const rows = published.map((r) => {
      const decoded = decodeRecord({ topic: 'dbserver1.public.package_status', key: r.key, value: r.value });
      if (decoded.kind !== 'change') throw new Error(`not a change: ${JSON.stringify(decoded)}`);
      expect(decoded.event.type).toBe('package_status.created');
      expect(decoded.event.key).toEqual({ package_id: decoded.event.row['package_id'] });
      expect(decoded.event.row['customer_id']).toBe(r.customer);
      expect(decoded.event.source.tsMs).toBeGreaterThan(Date.now() - 60_000);
      return decoded.event.row;
    });
    // Row ids increase like a BIGSERIAL; every package's steps form a valid journey, in order.
    expect(rows.map((r) => Number(r['id']))).toEqual(rows.map((_, i) => i + 1));
    const byPackage = new Map<string, PackageStatusInsert[]>();
    for (const r of rows) {
      const step: PackageStatusInsert = {
        package_id: String(r['package_id']),
        customer_id: String(r['customer_id']),
        status: String(r['status']),
        actual_address: String(r['actual_address']),
        next_address: r['next_address'] === null ? null : String(r['next_address']),
      };
      byPackage.set(step.package_id, [...(byPackage.get(step.package_id) ?? []), step]);
    }
    expect(byPackage.size).toBe(12);
    for (const [id, steps] of byPackage) {
      expect(id).toMatch(/^DEMO-test-\d{6}$/);
      expect(journeyProblems(steps)).toEqual([]);
    }
  });

  it('stops at once when aborted, without finishing the journeys under way', async () => {
    const controller = new AbortController();
    let events = 0;
    const run = runDemoGenerator({
      customers: ['customer-1'],
      rate: 50,
      packages: null,
      seed: 1,
      packagePrefix: 'DEMO-abort',
      publish: (records) => {
        events += records.length;
      },
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const started = Date.now();
    const result = await run;
    expect(Date.now() - started).toBeLessThan(200);
    expect(result.events).toBe(events);
    expect(events).toBeGreaterThan(5);
    expect(events).toBeLessThan(40);
    expect(result.packagesCompleted).toBeLessThan(result.packagesStarted);
  });

  it('refuses an empty customer list', async () => {
    await expect(
      runDemoGenerator({
        customers: [],
        rate: 1,
        packages: 1,
        seed: 1,
        packagePrefix: 'X',
        publish: () => {},
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(RangeError);
  });
});
