/**
 * Isolation: customers A and C answer in ~20 ms; B answers in 5 s, then hangs until its timeout, then
 * refuses connections. A's and C's deliveries all arrive and their latency stays where it is without B;
 * B's events are never lost: delivered later, parked, or dead-lettered per its policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../../src/lanes/latency-window.ts';
import { refusingUrl, startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { startIntegrator } from '../harness/integrator.ts';
import { interleave, journeys, restamp } from '../harness/events.ts';
import type { KafkaMessage } from '../harness/events.ts';
import { SECRET_A, SECRET_B, SECRET_C, expectOrderedPerPackage, kafkaWorld } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

type Mode = 'absent' | 'slow' | 'hang' | 'refuse';

let world: KafkaWorld;
beforeAll(async () => {
  world = await kafkaWorld();
});
afterAll(async () => {
  await world?.close();
});

const FAST_PACKAGES = 50; // × 5 statuses = 250 events each for A and C (500 in all)
const B_PACKAGES = 10; // × 5 = 50 events for B

async function produceAtRate(topic: string, messages: KafkaMessage[], perSecond: number): Promise<void> {
  const batch = 20;
  const start = Date.now();
  for (let i = 0; i < messages.length; i += batch) {
    await world.producer.send({ topic, messages: messages.slice(i, i + batch).map((m) => restamp(m)) });
    const due = start + ((i + batch) / perSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** Latency of each first 2xx: arrival at the receiver minus the change's commit time (source.ts_ms). */
function latencies(r: Receiver): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const d of r.delivered()) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    out.push(d.answeredAt! - Date.parse(String(d.body.occurredAt)));
  }
  return out.sort((a, b) => a - b);
}

async function run(
  mode: Mode,
): Promise<{ p99: number; p50: number; bAccounted: number; bDelivered: number }> {
  const { topic, groupId } = await world.topic(4);
  const a = await startReceiver({ secret: SECRET_A, handler: () => ({ status: 200, delayMs: 20 }) });
  const c = await startReceiver({ secret: SECRET_C, handler: () => ({ status: 200, delayMs: 20 }) });
  const b = await startReceiver({
    secret: SECRET_B,
    handler: () => (mode === 'hang' ? { hang: true } : { status: 200, delayMs: mode === 'slow' ? 5000 : 20 }),
  });
  const bUrl = mode === 'refuse' ? await refusingUrl() : b.url;
  const integrator = await startIntegrator({
    brokers: world.mock.brokers,
    topic,
    groupId,
    customers: [
      { id: 'customer-a', url: a.url, secret: SECRET_A },
      {
        id: 'customer-b',
        url: bUrl,
        secret: SECRET_B,
        concurrency: 25,
        timeoutMs: mode === 'hang' ? 1000 : 10_000,
        retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
        breaker: {
          errorThresholdPercentage: 50,
          volumeThreshold: 10,
          windowMs: 10_000,
          resetTimeoutMs: 1000,
        },
      },
      { id: 'customer-c', url: c.url, secret: SECRET_C },
    ],
    env: { SHUTDOWN_DEADLINE_MS: '1000' },
  });
  try {
    const fast = interleave(
      journeys('customer-a', FAST_PACKAGES, { prefix: `${mode}-a` }).messages,
      journeys('customer-c', FAST_PACKAGES, { prefix: `${mode}-c` }).messages,
    );
    const slow =
      mode === 'absent' ? [] : journeys('customer-b', B_PACKAGES, { prefix: `${mode}-b` }).messages;
    // B's events go first so its lane is already stuck when A's and C's flow.
    await world.producer.send({ topic, messages: slow });
    await produceAtRate(topic, fast, 250);
    const want = FAST_PACKAGES * 5;
    await a.waitFor(() => new Set(a.delivered().map((d) => d.id)).size >= want, 60_000, 'all of A');
    await c.waitFor(() => new Set(c.delivered().map((d) => d.id)).size >= want, 60_000, 'all of C');
    const lat = [...latencies(a), ...latencies(c)].sort((x, y) => x - y);

    if (mode === 'slow') {
      // Delivered later: B's 50 events at 25 at a time, 5 s each.
      await b.waitFor(
        () => new Set(b.delivered().map((d) => d.id)).size >= B_PACKAGES * 5,
        60_000,
        'all of B',
      );
    }
    const lane = integrator.lanes.find((l) => l.id === 'customer-b')!.snapshot();
    const dead = (await integrator.store.listDeadLetters('customer-b', 0, 1000)).total;
    const parked = await integrator.store.parkedCount('customer-b');
    const bDelivered = new Set(b.delivered().map((d) => d.id)).size;
    // Per package order for the fast customers, and nothing lost or doubled.
    for (const r of [a, c]) {
      expectOrderedPerPackage(r);
      expect(r.delivered()).toHaveLength(want);
    }
    return {
      p99: percentile(lat, 0.99),
      p50: percentile(lat, 0.5),
      bAccounted: bDelivered + dead + parked + lane.pending,
      bDelivered,
    };
  } finally {
    await integrator.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  }
}

describe('isolation', () => {
  // A timing comparison on a shared 2-core machine: a second try absorbs a burst of outside load; a real
  // isolation failure fails every try.
  it.each<Mode>(['slow', 'hang', 'refuse'])(
    'B %s: A and C unaffected, B loses nothing',
    { retry: 2 },
    async (mode) => {
      // Each run is paired with a baseline run right before it, so both see the same machine load (other
      // test files run beside this one).
      const base = await run('absent');
      const r = await run(mode);
      console.log(
        `isolation ${mode}: fast p50 ${r.p50} ms, p99 ${r.p99} ms (baseline p50 ${base.p50} ms, p99 ${base.p99} ms, ratio ${(r.p99 / base.p99).toFixed(2)}); B accounted ${r.bAccounted}/50, delivered ${r.bDelivered}`,
      );
      // 1.5× the baseline; on a shared 2-core machine some scheduling noise on a small baseline is not a
      // regression, so differences under 100 ms pass too (the benchmark measures the ratio precisely).
      expect(r.p99).toBeLessThanOrEqual(Math.max(1.5 * base.p99, base.p99 + 100));
      expect(r.bAccounted).toBeGreaterThanOrEqual(B_PACKAGES * 5);
      if (mode === 'slow') expect(r.bDelivered).toBe(B_PACKAGES * 5);
    },
  );
});
