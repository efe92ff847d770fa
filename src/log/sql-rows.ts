/**
 * What both SQL adapters share about writing a batch: its rows per table (snake_case columns, times in ms
 * since the epoch, bodies over BODY_MAX left out), and how a delivery row merges into the stored one.
 */
import type { LogBatch } from './port.ts';
import { TERMINAL_STATES } from './port.ts';

/** Stored bodies are cut here (a change's body is usually well under 1 KiB). */
export const BODY_MAX = 64 * 1024;
/** A batch as table rows (times in ms since the epoch); each adapter stores them its own way. */
export interface BatchRows {
  changes: ReturnType<typeof changeRows>;
  deliveries: ReturnType<typeof deliveryRows>;
  steps: ReturnType<typeof stepRows>;
}

export function batchRows(batch: LogBatch): BatchRows {
  return { changes: changeRows(batch), deliveries: deliveryRows(batch), steps: stepRows(batch) };
}

const TERMINAL = TERMINAL_STATES.map((s) => `'${s}'`).join(',');
/** A stored terminal state survives a batch that does not end terminal, unless that batch replayed it. */
const KEEP_OLD = `(d.state IN (${TERMINAL}) AND EXCLUDED.state NOT IN (${TERMINAL}) AND EXCLUDED.replays = 0)`;

/**
 * How a batch's delivery row (EXCLUDED) merges into the stored one (`d`), for `ON CONFLICT (event_id,
 * customer) DO UPDATE SET …`: attempts and replays add up, the batch's last result wins, the first and last
 * times widen, a terminal state is kept (KEEP_OLD). `least` and `greatest` name the dialect's two-argument
 * minimum and maximum.
 */
export function mergeDelivery(least: string, greatest: string): string {
  return `
  state = CASE WHEN ${KEEP_OLD} THEN d.state ELSE EXCLUDED.state END,
  parked_why = CASE WHEN ${KEEP_OLD} THEN d.parked_why ELSE EXCLUDED.parked_why END,
  due_at = CASE WHEN ${KEEP_OLD} THEN d.due_at ELSE EXCLUDED.due_at END,
  attempts = d.attempts + EXCLUDED.attempts,
  replays = d.replays + EXCLUDED.replays,
  created_at = ${least}(d.created_at, EXCLUDED.created_at),
  updated_at = ${greatest}(d.updated_at, EXCLUDED.updated_at),
  last_result = COALESCE(EXCLUDED.last_result, d.last_result),
  last_http_status = CASE WHEN EXCLUDED.last_result IS NULL THEN d.last_http_status ELSE EXCLUDED.last_http_status END,
  last_error = CASE WHEN EXCLUDED.last_result IS NULL THEN d.last_error ELSE EXCLUDED.last_error END,
  last_attempt = COALESCE(EXCLUDED.last_attempt, d.last_attempt),
  last_attempt_at = COALESCE(EXCLUDED.last_attempt_at, d.last_attempt_at),
  last_duration_ms = COALESCE(EXCLUDED.last_duration_ms, d.last_duration_ms),
  delivered_at = COALESCE(EXCLUDED.delivered_at, d.delivered_at),
  end_to_end_ms = COALESCE(EXCLUDED.end_to_end_ms, d.end_to_end_ms),
  dead_at = COALESCE(EXCLUDED.dead_at, d.dead_at),
  dead_reason = COALESCE(EXCLUDED.dead_reason, d.dead_reason)`;
}

export function changeRows(batch: LogBatch) {
  return batch.changes.map((c) => ({
    event_id: c.eventId,
    package_id: c.packageId,
    status: c.status,
    type: c.type,
    occurred_at: c.occurredAt,
    seen_at: c.seenAt,
    topic: c.topic,
    kafka_partition: c.partition,
    kafka_offset: c.offset,
    customers: c.customers,
    body: c.body.length > BODY_MAX ? null : c.body,
  }));
}

export function deliveryRows(batch: LogBatch) {
  return batch.deliveries.map((d) => ({
    event_id: d.eventId,
    customer: d.customer,
    package_id: d.packageId,
    status: d.status,
    state: d.state,
    attempts: d.attempts,
    replays: d.replays,
    first_at: d.firstAt,
    last_at: d.lastAt,
    last_result: d.lastResult,
    last_http_status: d.lastHttpStatus,
    last_error: d.lastError,
    last_attempt: d.lastAttempt,
    last_attempt_at: d.lastAttemptAt,
    last_duration_ms: d.lastDurationMs,
    parked_why: d.parkedWhy,
    due_at: d.dueAt,
    delivered_at: d.deliveredAt,
    end_to_end_ms: d.endToEndMs,
    dead_at: d.deadAt,
    dead_reason: d.deadReason,
  }));
}

export function stepRows(batch: LogBatch) {
  return batch.steps.map((s) => ({
    event_id: s.eventId,
    customer: s.customer,
    package_id: s.packageId,
    kind: s.kind,
    at: s.at,
    attempt: s.attempt,
    result: s.result,
    http_status: s.httpStatus,
    duration_ms: s.durationMs,
    detail: s.detail,
  }));
}
