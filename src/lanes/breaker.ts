/**
 * Circuit breaker policy around opossum. opossum keeps the rolling window and the open → half-open timer;
 * this module decides what counts as a failure and what the lane may do in each state:
 *
 *   closed ──(failures > threshold% of ≥ volumeThreshold attempts in windowMs)──▶ open
 *   open ──(resetTimeoutMs)──▶ half-open: exactly one probe may go
 *   half-open ──probe ok──▶ closed        half-open ──probe fails──▶ open
 *
 * opossum's own timeout is off: it would only stop waiting, not cancel the request. The sender's abort
 * signal does the timing out, and a timeout is reported here as a failure like any other.
 */
import CircuitBreaker from 'opossum';
import type { BreakerPolicy } from '../config/customers.ts';
import type { Outcome } from '../delivery/outcome.ts';

export type BreakerState = 'closed' | 'half-open' | 'open';

export const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Thrown inside the breaker for outcomes that count as endpoint failures; carries the outcome out. */
export class CountedFailure extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.detail);
  }
}

export function isBreakerRejection(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'EOPENBREAKER';
}

export function createBreaker(
  policy: BreakerPolicy,
  name: string,
  action: (run: () => Promise<Outcome>) => Promise<Outcome>,
): CircuitBreaker<[() => Promise<Outcome>], Outcome> {
  return new CircuitBreaker(action, {
    name,
    timeout: false,
    errorThresholdPercentage: policy.errorThresholdPercentage,
    volumeThreshold: policy.volumeThreshold,
    rollingCountTimeout: policy.windowMs,
    rollingCountBuckets: 10,
    resetTimeout: policy.resetTimeoutMs,
  });
}

export function stateOf(breaker: { opened: boolean; halfOpen: boolean }): BreakerState {
  if (breaker.opened) return 'open';
  if (breaker.halfOpen) return 'half-open';
  return 'closed';
}

/** May the lane start a request now? Closed: yes. Half-open: only while the probe slot is free. Open: no. */
export function mayDispatch(state: BreakerState, probeSlotFree: boolean): boolean {
  if (state === 'closed') return true;
  if (state === 'half-open') return probeSlotFree;
  return false;
}
