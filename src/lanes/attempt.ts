/**
 * One attempt: the request through the customer's sender, classified once into an `Outcome` that says
 * what happens next (delivered / retry / dead). The breaker hears the result; an attempt cut short by the
 * lane's shutdown is not an attempt (`aborted`): the delivery is given back, not charged.
 */
import type { Clock } from '../clock.ts';
import type { Outcome } from '../delivery/outcome.ts';
import { classify } from '../delivery/outcome.ts';
import type { Sender } from '../delivery/http-sender.ts';
import type { ParkedDelivery } from '../store/port.ts';

/** What decides and hears the breaker's side of an attempt (the lane's shared limits). */
export interface AttemptGate {
  /** A request starts; returns whether it is the half-open probe. */
  start(now: number): boolean;
  finish(now: number, failure: boolean, probe: boolean): void;
  abandon(probe: boolean): void;
}

export type AttemptResult = { aborted: true } | { aborted: false; outcome: Outcome; durationMs: number };

export async function attempt(
  d: ParkedDelivery,
  deps: { sender: Sender; breaker: AttemptGate; clock: Clock; signal: AbortSignal },
): Promise<AttemptResult> {
  const { sender, breaker, clock, signal } = deps;
  const started = clock.now();
  const probe = breaker.start(started);
  let outcome: Outcome;
  try {
    outcome = classify(await sender.send({ id: d.eventId, body: d.body }, signal), clock.now());
  } catch (err) {
    outcome = {
      result: 'network',
      decision: 'retry',
      breakerFailure: true,
      status: null,
      retryAfterMs: null,
      detail: `unexpected: ${(err as Error).message}`,
    };
  }
  const finished = clock.now();
  if (signal.aborted && outcome.result === 'network') {
    breaker.abandon(probe);
    return { aborted: true };
  }
  breaker.finish(finished, outcome.breakerFailure, probe);
  return { aborted: false, outcome, durationMs: finished - started };
}
