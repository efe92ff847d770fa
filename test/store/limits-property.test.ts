/**
 * The memory adapter (`decideLimits` in TypeScript) and the Redis adapter (its twin in Lua) side by side:
 * random syncs of 1–4 holders with random time steps must get identical grants and views at every step,
 * and at every step the shared limits must hold: Σ permits ≤ concurrency, at most one holder with the probe,
 * and the tokens granted (net of those given back) over any window ≤ capacity + rate × window.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRetryStore } from '../../src/store/memory.ts';
import type { LimitsRequest } from '../../src/store/port.ts';
import { RedisRetryStore } from '../../src/store/redis.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { limitsRequest } from './conformance.ts';

let server: RedisServer;
let redis: RedisRetryStore;
beforeAll(async () => {
  server = await startRedis();
  redis = new RedisRetryStore(server.url, { prefix: 'prop' });
});
afterAll(async () => {
  await redis?.close();
  await server?.stop();
});

const step = fc.record({
  holder: fc.integer({ min: 0, max: 3 }),
  kind: fc.constantFrom('sync', 'sync', 'sync', 'sync', 'sync', 'sync', 'release', 'pause'),
  /** Time moves by small and large steps (within a lease, past a bucket refill, past a breaker reset). */
  dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 1500 }), fc.constant(6000)),
  /** This holder's clock runs a little behind the others'. */
  skew: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
  extraWant: fc.integer({ min: 0, max: 12 }),
  inUseShare: fc.double({ min: 0, max: 1, noNaN: true }),
  tokens: fc.integer({ min: 0, max: 9 }),
  usedShare: fc.double({ min: 0, max: 1, noNaN: true }),
  failures: fc.integer({ min: 0, max: 3 }),
  successes: fc.integer({ min: 0, max: 3 }),
  probe: fc.constantFrom<LimitsRequest['probe']>('ok', 'failed', 'abandoned', null, null),
  wantProbe: fc.boolean(),
  leaseMs: fc.constantFrom(300, 2000, 10_000),
  paused: fc.option(fc.record({ reason: fc.option(fc.string({ maxLength: 8 })), at: fc.nat() })),
});

const scenario = fc.record({
  concurrency: fc.integer({ min: 1, max: 10 }),
  ratePerSecond: fc.constantFrom(null, 0.5, 1, 3, 7.5, 20),
  breaker: fc.record({
    threshold: fc.constantFrom(0, 30, 50, 99.5),
    volumeThreshold: fc.integer({ min: 1, max: 6 }),
    windowMs: fc.constantFrom(1000, 3333, 10_000),
    resetTimeoutMs: fc.constantFrom(0, 700, 5000),
  }),
  steps: fc.array(step, { minLength: 1, maxLength: 40 }),
});

interface HolderModel {
  permits: number;
  expiresAt: number;
  probe: boolean;
  /** Tokens granted and not used yet (given back at the next sync). */
  tokens: number;
}

let run = 0;

describe('shared limits: memory and Redis decide alike, and the limits hold', () => {
  it('identical grants at every step; Σ permits ≤ concurrency; one probe; the bucket bound', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        run += 1;
        const customer = `p${run}-${Math.random().toString(36).slice(2, 6)}`;
        const memory = new MemoryRetryStore();
        const model = new Map<number, HolderModel>();
        const netTokens: [number, number][] = [];
        let clock = 1_700_000_000_000;
        const maxSkew = 30;
        for (const s of sc.steps) {
          clock += s.dt;
          const now = clock - s.skew;
          const holder = `H${s.holder}`;
          const m = model.get(s.holder) ?? { permits: 0, expiresAt: 0, probe: false, tokens: 0 };
          if (s.kind === 'pause') {
            await memory.setPaused(customer, s.paused);
            await redis.setPaused(customer, s.paused);
            continue;
          }
          if (s.kind === 'release') {
            await memory.releaseLimits(customer, holder, now);
            await redis.releaseLimits(customer, holder, now);
            model.set(s.holder, { permits: 0, expiresAt: 0, probe: false, tokens: 0 });
            continue;
          }
          // The holder respects its grant: no more out than its permits (none once its lease ended).
          const live = m.expiresAt > now;
          const inUse = live ? Math.floor(s.inUseShare * m.permits) : 0;
          const used = Math.floor(s.usedShare * m.tokens);
          const unusedTokens = live ? m.tokens - used : 0;
          const req = limitsRequest({
            customer,
            holder,
            leaseMs: s.leaseMs,
            concurrency: sc.concurrency,
            ratePerSecond: sc.ratePerSecond,
            breaker: sc.breaker,
            want: inUse + s.extraWant,
            inUse,
            tokens: s.tokens,
            unusedTokens,
            failures: s.failures,
            successes: s.successes,
            // Mostly the probe's end when it holds one; now and then a stray report, which must change nothing.
            probe: m.probe && live ? s.probe : s.probe === 'ok' && s.wantProbe ? 'ok' : null,
            wantProbe: s.wantProbe,
          });
          const gm = await memory.syncLimits(req, now);
          const gr = await redis.syncLimits(req, now);
          expect(gr).toEqual(gm);
          if (sc.ratePerSecond === null) expect(gm.tokens).toBe(s.tokens);
          expect(gm.permits).toBeGreaterThanOrEqual(inUse);
          netTokens.push([clock, gm.tokens - unusedTokens]);
          model.set(s.holder, {
            permits: gm.permits,
            expiresAt: now + s.leaseMs,
            probe: gm.probe,
            tokens: gm.tokens,
          });

          const vm = await memory.limitsView(customer, now);
          expect(await redis.limitsView(customer, now)).toEqual(vm);
          expect(vm.holders.reduce((n, h) => n + h.permits, 0)).toBeLessThanOrEqual(sc.concurrency);
          const probes = [...model.values()].filter((h) => h.probe && h.expiresAt > now).length;
          expect(probes).toBeLessThanOrEqual(1);
        }
        if (sc.ratePerSecond !== null) {
          const capacity = Math.max(1, sc.ratePerSecond);
          for (let i = 0; i < netTokens.length; i++) {
            let net = 0;
            for (let j = i; j < netTokens.length; j++) {
              net += netTokens[j]![1];
              const window = netTokens[j]![0] - netTokens[i]![0] + maxSkew;
              expect(net).toBeLessThanOrEqual(capacity + (sc.ratePerSecond * window) / 1000 + 1e-9);
            }
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});
