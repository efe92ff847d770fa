/**
 * Circuit breaker (pure: the time is passed in, no timers of its own), one per customer:
 *
 *   closed ──(failures > threshold % of ≥ volumeThreshold attempts finished within windowMs)──▶ open
 *   open ──(resetTimeoutMs passed: read lazily by `state(now)`)──▶ half-open: exactly one probe may start
 *   half-open ──probe ok──▶ closed (window cleared)     half-open ──probe failed──▶ open (again)
 *   half-open ──probe abandoned (no answer: shutdown)──▶ half-open, the probe slot free again
 *
 * Only endpoint failures count (5xx, 408, timeouts, network errors; see `delivery/outcome.ts`): a 429 or a
 * 4xx says the customer is alive. Answers to requests started before the breaker opened are ignored while it
 * is open or half-open: only the probe decides. Hand-written rather than opossum because opossum keeps its
 * window and its reset timer on the global timers, which the simulation test cannot drive.
 */
import type { BreakerPolicy } from '../config/customers.ts';

export type BreakerState = 'closed' | 'half-open' | 'open';

export const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

const BUCKETS = 10;

export class Breaker {
  private mode: 'closed' | 'open' | 'half-open' = 'closed';
  private openUntil = 0;
  private probeOut = false;
  private readonly bucketMs: number;
  private readonly totals = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  private bucketStart = 0;
  private bucket = 0;

  constructor(private readonly policy: BreakerPolicy) {
    this.bucketMs = Math.max(1, policy.windowMs / BUCKETS);
  }

  state(now: number): BreakerState {
    if (this.mode === 'open' && now >= this.openUntil) this.setMode('half-open');
    return this.mode;
  }

  /** When an open breaker lets a probe through (for a wake-up timer); null unless open. */
  reopensAt(): number | null {
    return this.mode === 'open' ? this.openUntil : null;
  }

  /** May a request start now? Closed: yes. Half-open: only while no probe is out. Open: no. */
  mayStart(now: number): boolean {
    const s = this.state(now);
    return s === 'closed' || (s === 'half-open' && !this.probeOut);
  }

  /** A request starts; returns whether it is the half-open probe. Call only when `mayStart` said yes. */
  start(now: number): boolean {
    if (this.state(now) !== 'half-open') return false;
    this.probeOut = true;
    return true;
  }

  /** A request finished. `failure`: it counts against the endpoint. `probe`: what `start` returned. */
  finish(now: number, failure: boolean, probe: boolean): void {
    const s = this.state(now);
    if (probe && s === 'half-open') {
      this.probeOut = false;
      if (failure) this.trip(now);
      else this.close();
      return;
    }
    if (s !== 'closed') return;
    this.roll(now);
    this.totals[this.bucket]! += 1;
    if (failure) this.failures[this.bucket]! += 1;
    const total = sum(this.totals);
    if (
      total >= this.policy.volumeThreshold &&
      (sum(this.failures) / total) * 100 > this.policy.errorThresholdPercentage
    )
      this.trip(now);
  }

  /** The probe ended without an answer (aborted): another may go. */
  abandon(probe: boolean): void {
    if (probe) this.probeOut = false;
  }

  private trip(now: number): void {
    this.setMode('open');
    this.openUntil = now + this.policy.resetTimeoutMs;
    this.probeOut = false;
  }

  private close(): void {
    this.setMode('closed');
    this.totals.fill(0);
    this.failures.fill(0);
  }

  private setMode(next: Breaker['mode']): void {
    const legal =
      (this.mode === 'closed' && next === 'open') ||
      (this.mode === 'open' && next === 'half-open') ||
      (this.mode === 'half-open' && (next === 'open' || next === 'closed'));
    if (!legal) throw new Error(`breaker: illegal transition ${this.mode} → ${next}`);
    this.mode = next;
  }

  /** Move the window to `now`, clearing buckets that fell out of it. */
  private roll(now: number): void {
    const steps = Math.floor((now - this.bucketStart) / this.bucketMs);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.totals[this.bucket] = 0;
      this.failures[this.bucket] = 0;
    }
    this.bucketStart += steps * this.bucketMs;
  }
}

function sum(xs: number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}
