/**
 * KafkaJS as the harness and the bench use it (to produce, administer and check; the integrator itself
 * reads with @confluentinc/kafka-javascript), with one upstream bug mended in this process.
 *
 * KafkaJS 2.2.4 (its last release) re-arms a timer every millisecond for as long as a broker connection is
 * open, once that connection has had its first answer: `checkPendingRequests` always ends by calling
 * `scheduleCheckPendingRequests`, which arms `setTimeout(…, throttledUntil − now)` — a negative delay that
 * Node runs after 1 ms (and, from Node 24, warns about: "TimeoutNegativeWarning"). Upstream:
 * tulios/kafkajs#1704 and #1751; the fix proposed in #1768 is not merged. Measured here (2026-12-02): the
 * bench's own process, idle with its KafkaJS producer and admin connected, took 0.045 of a core; with the
 * mend, 0.006. That CPU came out of the two cores the integrator and the customers under measurement share.
 *
 * The mend: with nothing pending and no throttle in force there is nothing to check, so no timer. A request
 * enqueued later schedules its own check (`push`), and every answer checks the queue (`fulfillRequest`).
 */
import { createRequire } from 'node:module';
import { Kafka, logLevel } from 'kafkajs';

export interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(...args: unknown[]): void;
}

const require = createRequire(import.meta.url);
/** KafkaJS's per-connection request queue (internal: `kafkajs/src/network/requestQueue`), mended below. */
export const requestQueuePrototype = (
  require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue }
).prototype;
const MENDED = Symbol.for('package-status-integrator.kafkajs-idle-timer');

/** Whether this process's KafkaJS request queues skip the idle timer (tests assert it). */
export function kafkaJsIdleTimerMended(): boolean {
  return (requestQueuePrototype.scheduleCheckPendingRequests as { [MENDED]?: true })[MENDED] === true;
}

if (!kafkaJsIdleTimerMended()) {
  const original = requestQueuePrototype.scheduleCheckPendingRequests;
  const mended = function (this: RequestQueue): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  Object.assign(mended, { [MENDED]: true });
  requestQueuePrototype.scheduleCheckPendingRequests = mended;
}

export { Kafka, logLevel };
