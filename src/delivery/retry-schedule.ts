/**
 * Retry schedule (pure). Exponential backoff with "equal jitter": half the step is fixed, half random, so
 * retries of many deliveries spread out yet never come sooner than half the step.
 *
 *   step(n)  = min(maxDelay, base · 2^(n-1))          n = attempts made so far (≥ 1)
 *   delay    = step/2 + random · step/2
 *   ×2 after a timeout or a 429 without Retry-After   (the customer is overloaded: back off harder)
 *   Retry-After (429/503) is a floor, clamped to maxDelay so a hostile header cannot park a delivery forever.
 *   attempts ≥ maxAttempts → give up (dead letter).
 */
import type { RetryPolicy } from '../config/customers.ts';
import type { Outcome } from './outcome.ts';

export type RetryPlan = { giveUp: true } | { giveUp: false; delayMs: number };

export function retryDelay(
  attempts: number,
  outcome: Pick<Outcome, 'result' | 'retryAfterMs'>,
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetryPlan {
  if (attempts >= policy.maxAttempts) return { giveUp: true };
  const exp = Math.min(30, Math.max(0, attempts - 1));
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exp);
  let delay = step / 2 + random() * (step / 2);
  const overloaded = outcome.result === 'timeout' || outcome.result === 'rate_limited';
  if (overloaded && outcome.retryAfterMs === null) delay *= 2;
  if (outcome.retryAfterMs !== null) delay = Math.max(delay, outcome.retryAfterMs);
  return { giveUp: false, delayMs: Math.round(Math.min(policy.maxDelayMs, delay)) };
}
