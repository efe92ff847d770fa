/**
 * Acceptance: `npm run demo` on a machine with nothing but Node shows that a customer taking 30 s per
 * request does not slow the others down. Runs the real demo as a child process for 20 s and reads its
 * DEMO_SUMMARY line.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.ts';
import type { DemoRun } from './run-demo.ts';

describe('npm run demo --duration 20 (in-memory topic, memory store)', () => {
  let run: DemoRun;

  it('runs for about 20 s and ends with a summary line', async () => {
    run = await runDemo(['--duration', '20']);
    expect(run.code).toBe(0);
    expect(run.tookMs).toBeGreaterThan(19_000);
    expect(run.tookMs).toBeLessThan(45_000);
    expect(run.summary.store).toBe('memory');
    expect(run.summary.source).toMatch(/in-memory topic/);
    expect(run.summary.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(run.stdout).toContain(run.summary.metricsUrl);
    // Not a terminal: one plain line per second instead of a redrawn table.
    const plain = run.stdout.split('\n').filter((l) => /^\[\s*\d+s\]/.test(l));
    expect(plain.length).toBeGreaterThanOrEqual(15);
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout).toMatch(/Verdict: /);
  }, 90_000);

  it('delivers every event of the fast customers, with their latency unmoved', () => {
    const ids = run.summary.customers.map((c) => c.id);
    expect(ids).toEqual(['customer-1', 'customer-2', 'customer-3']);
    for (const id of ['customer-1', 'customer-3']) {
      const c = run.summary.customers.find((x) => x.id === id)!;
      expect(c.role).toBe('fast');
      expect(c.mockLatencyMs).toBe(300);
      // 20 events/s over three customers for ~17 s.
      expect(c.sent).toBeGreaterThan(40);
      expect(c.delivered).toBe(c.sent);
      expect(c.e2e.count).toBe(c.sent);
      // The mock answers in 300 ms; commit → 2xx includes that.
      expect(c.e2e.p50Ms).toBeGreaterThanOrEqual(290);
      expect(c.e2e.p99Ms).toBeLessThan(1000);
      expect(c.e2eSecondHalf.p99Ms).toBeLessThan(1000);
      expect(c.integrator?.delivered).toBe(c.sent);
      expect(c.integrator?.deadLettered).toBe(0);
      expect(c.breaker).toBe('closed');
    }
  });

  it('shows customer-2 still draining', () => {
    const slow = run.summary.customers.find((x) => x.id === 'customer-2')!;
    expect(slow.role).toBe('slow');
    expect(slow.mockLatencyMs).toBe(30_000);
    expect(slow.sent).toBeGreaterThan(40);
    expect(slow.delivered < slow.sent || (slow.inflight ?? 0) > 0).toBe(true);
  });

  it('says so in the verdict', () => {
    expect(run.summary.verdict.outcome).toBe('isolated');
    expect(run.summary.verdict.text).toMatch(/customer-1 and customer-3 did not slow down/);
    expect(run.summary.verdict.text).toMatch(/customer-2 took 30 s per request/);
  });
});
