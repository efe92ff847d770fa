/**
 * One batch of delivery events → the rows the log writes (pure). A delivery's steps within the batch are
 * folded into one row of where it stands, so the usual accepted → sending → attempted → delivered is one
 * insert, not four updates. Steps worth reading later (failed attempts, settlements other than
 * `delivered`, parking that is not just overflow) are kept one by one; the successful attempt and the
 * delivery are on the delivery's row (src/log/sql-store.ts shows them as its last steps).
 *
 * A change also applies `accepted` to each of its customers (the host does not send those: wire.ts).
 *
 * Where a delivery stands after each step:
 *   accepted → pending      sending → in_flight     attempted → (unchanged; attempts + 1, last result)
 *   parked → parked (why, due)                      delivered / dead / discarded / dropped → that
 *   replayed → pending (replays + 1: allowed to leave `dead`)
 */
import type { ChangeRow, DeliveryRow, LogBatch, StepRow } from './port.ts';
import type { LogRecord } from './wire.ts';

/** Parking that says something about the customer; `capacity` and `slow` are the lane's bookkeeping. */
const LOGGED_PARKING = new Set(['retry', 'breaker_open', 'paused', 'stopping']);

type DeliveryRecord = Extract<LogRecord, { record: 'delivery' }>;

function newRow(r: DeliveryRecord): DeliveryRow {
  return {
    eventId: r.eventId,
    customer: r.customer,
    packageId: r.packageId,
    status: r.label,
    state: 'pending',
    firstAt: r.at,
    lastAt: r.at,
    attempts: 0,
    replays: 0,
    lastResult: null,
    lastHttpStatus: null,
    lastError: null,
    lastAttempt: null,
    lastAttemptAt: null,
    lastDurationMs: null,
    parkedWhy: null,
    dueAt: null,
    deliveredAt: null,
    endToEndMs: null,
    deadAt: null,
    deadReason: null,
  };
}

function stepOf(r: DeliveryRecord, kind: StepRow['kind'], more: Partial<StepRow> = {}): StepRow {
  return {
    eventId: r.eventId,
    customer: r.customer,
    packageId: r.packageId,
    kind,
    at: r.at,
    attempt: null,
    result: null,
    httpStatus: null,
    durationMs: null,
    detail: null,
    ...more,
  };
}

function moveTo(d: DeliveryRow, state: DeliveryRow['state']): void {
  d.state = state;
  d.parkedWhy = null;
  d.dueAt = null;
}

/** One step applied to its delivery's row; a step worth reading later is also pushed to `steps`. */
function apply(d: DeliveryRow, r: DeliveryRecord, steps: StepRow[]): void {
  if (r.at > d.lastAt) d.lastAt = r.at;
  switch (r.kind) {
    case 'accepted':
      moveTo(d, 'pending');
      break;
    case 'sending':
      moveTo(d, 'in_flight');
      break;
    case 'attempted':
      d.attempts += 1;
      d.lastResult = r.result;
      d.lastHttpStatus = r.httpStatus;
      d.lastError = r.result === '2xx' ? null : r.detail;
      d.lastAttempt = r.attempt;
      d.lastAttemptAt = r.at;
      d.lastDurationMs = r.durationMs;
      // The successful attempt lives on the delivery's row (the store shows it as a step).
      if (r.result !== '2xx')
        steps.push(
          stepOf(r, 'attempt', {
            attempt: r.attempt,
            result: r.result,
            httpStatus: r.httpStatus,
            durationMs: r.durationMs,
            detail: r.detail || null,
          }),
        );
      break;
    case 'parked':
      d.state = 'parked';
      d.parkedWhy = r.why;
      d.dueAt = r.dueAt;
      if (LOGGED_PARKING.has(r.why)) steps.push(stepOf(r, 'parked', { detail: r.why }));
      break;
    case 'delivered':
      moveTo(d, 'delivered');
      d.deliveredAt = r.at;
      d.endToEndMs = r.endToEndMs;
      break;
    case 'dead':
      moveTo(d, 'dead');
      d.deadAt = r.at;
      d.deadReason = r.reason;
      steps.push(stepOf(r, 'dead', { attempt: r.attempts, detail: r.reason }));
      break;
    case 'replayed':
      moveTo(d, 'pending');
      d.replays += 1;
      steps.push(stepOf(r, 'replayed'));
      break;
    case 'discarded':
      moveTo(d, 'discarded');
      steps.push(stepOf(r, 'discarded'));
      break;
    case 'dropped':
      moveTo(d, 'dropped');
      steps.push(stepOf(r, 'dropped', { detail: 'partition moved to another integrator; it delivers this' }));
      break;
  }
}

export function reduce(records: readonly LogRecord[]): LogBatch {
  const changes = new Map<string, ChangeRow>();
  const deliveries = new Map<string, DeliveryRow>();
  const steps: StepRow[] = [];

  const applyStep = (r: DeliveryRecord): void => {
    const key = `${r.eventId}\u0000${r.customer}`;
    let d = deliveries.get(key);
    if (!d) {
      d = newRow(r);
      deliveries.set(key, d);
    }
    apply(d, r, steps);
  };

  for (const r of records) {
    if (r.record === 'change') {
      // A change stands for its customers' `accepted` too (the host leaves those out: wire.ts).
      const { eventId, packageId, label, at } = r;
      for (const customer of r.customers)
        applyStep({ record: 'delivery', kind: 'accepted', at, customer, eventId, packageId, label });
      if (changes.has(r.eventId)) continue;
      changes.set(r.eventId, {
        eventId: r.eventId,
        packageId: r.packageId,
        status: r.label,
        type: r.type,
        occurredAt: r.occurredAt,
        seenAt: r.at,
        topic: r.source.topic,
        partition: r.source.partition,
        offset: r.source.offset,
        customers: r.customers,
        body: r.body,
      });
      continue;
    }
    applyStep(r);
  }
  return { changes: [...changes.values()], deliveries: [...deliveries.values()], steps };
}
