/**
 * The delivery log: one port, two adapters (SQLite embedded, Postgres with DATABASE_URL) over the same
 * queries (src/log/sql-store.ts), one conformance suite (test/log/conformance.ts) that both pass.
 *
 * What it keeps (README "For operators"), written in batches off the delivery path by src/log/worker.ts:
 *   changes     one row per change seen: package, status, type, times, source position, routed customers,
 *               the webhook body;
 *   deliveries  one row per (change × customer): where it stands (state), attempts, last result, when it
 *               was delivered or why it died;
 *   steps       what happened to a delivery, in order: every attempt (number, result, HTTP status,
 *               duration, detail) and every settlement or move (delivered, dead, parked, replayed,
 *               discarded, dropped). The successful attempt and `delivered` are kept on the delivery's
 *               row and shown as its last two steps.
 * The latest status of a package is its newest change; its timeline is its changes with their deliveries.
 */

/** Where one delivery (change × customer) stands. */
export type DeliveryState =
  'pending' | 'in_flight' | 'parked' | 'delivered' | 'dead' | 'discarded' | 'dropped';

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'pending',
  'in_flight',
  'parked',
  'delivered',
  'dead',
  'discarded',
  'dropped',
];

/** States a later, older-looking record must not overwrite (unless the delivery was replayed). */
export const TERMINAL_STATES: readonly DeliveryState[] = ['delivered', 'dead', 'discarded'];

export type StepKind = 'attempt' | 'parked' | 'delivered' | 'dead' | 'replayed' | 'discarded' | 'dropped';

export interface ChangeRow {
  eventId: string;
  packageId: string;
  status: string | null;
  type: string;
  occurredAt: number | null;
  seenAt: number;
  topic: string;
  partition: number;
  offset: string;
  customers: string[];
  body: string;
}

/** A delivery's state after one batch of its steps (coalesced; merged into the stored row). */
export interface DeliveryRow {
  eventId: string;
  customer: string;
  packageId: string;
  status: string | null;
  state: DeliveryState;
  firstAt: number;
  lastAt: number;
  /** Attempts made in this batch (added to the stored count). */
  attempts: number;
  /** Replays in this batch: a replayed delivery may leave a terminal state. */
  replays: number;
  lastResult: string | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  lastAttempt: number | null;
  lastAttemptAt: number | null;
  lastDurationMs: number | null;
  parkedWhy: string | null;
  dueAt: number | null;
  deliveredAt: number | null;
  endToEndMs: number | null;
  deadAt: number | null;
  deadReason: string | null;
}

export interface StepRow {
  eventId: string;
  customer: string;
  packageId: string;
  kind: StepKind;
  at: number;
  attempt: number | null;
  result: string | null;
  httpStatus: number | null;
  durationMs: number | null;
  /** Attempt detail, dead reason, or why it was parked. */
  detail: string | null;
}

export interface LogBatch {
  changes: ChangeRow[];
  deliveries: DeliveryRow[];
  steps: StepRow[];
}

export interface DeliveryFilter {
  customer?: string;
  packageId?: string;
  eventId?: string;
  outcome?: DeliveryState;
  /** ms since epoch, inclusive: deliveries first seen at or after. */
  since?: number;
  /** ms since epoch, exclusive: first seen before. */
  until?: number;
}

export interface DeliveryItem {
  eventId: string;
  customer: string;
  packageId: string;
  status: string | null;
  state: DeliveryState;
  attempts: number;
  replays: number;
  createdAt: string;
  updatedAt: string;
  lastResult: string | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  parkedWhy: string | null;
  dueAt: string | null;
  deliveredAt: string | null;
  endToEndMs: number | null;
  deadAt: string | null;
  deadReason: string | null;
}

export interface StepItem {
  kind: StepKind;
  at: string;
  attempt: number | null;
  result: string | null;
  httpStatus: number | null;
  durationMs: number | null;
  detail: string | null;
}

export interface ChangeItem {
  eventId: string;
  packageId: string;
  status: string | null;
  type: string;
  occurredAt: string | null;
  seenAt: string;
  source: { topic: string; partition: number; offset: string };
  customers: string[];
}

export interface EventDetail extends ChangeItem {
  /** The webhook body as sent (parsed JSON), or null when the change itself was not logged. */
  body: unknown;
  deliveries: (DeliveryItem & { steps: StepItem[] })[];
}

export interface TimelineEntry extends ChangeItem {
  /** One per routed customer; `unknown` when the log has no record of that delivery. */
  deliveries: (DeliveryItem | { customer: string; state: 'unknown' })[];
}

export interface PackageView {
  packageId: string;
  latest: ChangeItem;
  /** Newest first. */
  timeline: TimelineEntry[];
  nextCursor: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface LogCounts {
  changes: number;
  deliveries: number;
  steps: number;
}

export interface DeliveryLogStore {
  readonly kind: 'embedded' | 'postgres';
  /** Creates or upgrades the schema (idempotent; safe with several integrators on one database). */
  migrate(): Promise<void>;
  /** One batch, in one transaction. Batches must be written in the order they were reduced. */
  write(batch: LogBatch): Promise<void>;
  /** Newest first (by when the log first saw the delivery). */
  deliveries(filter: DeliveryFilter, limit: number, cursor: string | null): Promise<Page<DeliveryItem>>;
  event(eventId: string): Promise<EventDetail | null>;
  package(packageId: string, limit: number, cursor: string | null): Promise<PackageView | null>;
  /** Deletes rows older than `maxAgeMs` and beyond `maxRows` per table; returns how many went. */
  prune(now: number, maxAgeMs: number, maxRows: number): Promise<number>;
  counts(): Promise<LogCounts>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A cursor that does not decode: the HTTP layer answers 400 naming `cursor`. */
export class BadCursorError extends Error {
  readonly field = 'cursor';
}

/** Opaque page cursors: the position (`seq`) of the last item, base64url. */
export function encodeCursor(seq: string): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s:(\d{1,19})$/.exec(text);
  if (!m) throw new BadCursorError('cursor is not one this API gave out');
  return m[1]!;
}
