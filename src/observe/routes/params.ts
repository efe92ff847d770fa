/**
 * Query-string parsing for the operator API (pure): every value checked, the first problem answered as
 * 400 with the field it concerns. Unknown parameters are refused too, so a typo (`?custmer=`) never
 * silently returns everything.
 */
import type { DeliveryFilter, DeliveryState } from '../../log/port.ts';
import { DELIVERY_STATES } from '../../log/port.ts';

export interface BadParam {
  error: string;
  field: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; bad: BadParam };

const ID = /^[a-z0-9-]+$/;
const MAX_TEXT = 512;

export function unknownParam(q: Record<string, unknown>, allowed: readonly string[]): BadParam | null {
  for (const k of Object.keys(q)) {
    if (!allowed.includes(k))
      return { error: `unknown parameter "${k}" (known: ${allowed.join(', ')})`, field: k };
  }
  return null;
}

function text(q: Record<string, unknown>, name: string): string | undefined | BadParam {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) {
    return { error: `${name} must be one non-empty value of at most ${MAX_TEXT} characters`, field: name };
  }
  return v;
}

/** ISO 8601 date-time, or milliseconds since the epoch. */
export function parseTime(raw: string): number | null {
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) return null;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : t;
}

export function limitOf(q: Record<string, unknown>, def: number, max: number): Parsed<number> {
  const v = q.limit;
  if (v === undefined) return { ok: true, value: def };
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    return { ok: false, bad: { error: `limit must be an integer from 1 to ${max}`, field: 'limit' } };
  }
  return { ok: true, value: n };
}

export function cursorOf(q: Record<string, unknown>): Parsed<string | null> {
  const c = text(q, 'cursor');
  if (c !== undefined && typeof c !== 'string') return { ok: false, bad: c };
  if (c !== undefined && !/^[A-Za-z0-9_-]+$/.test(c)) {
    return { ok: false, bad: { error: 'cursor is not one this API gave out', field: 'cursor' } };
  }
  return { ok: true, value: c ?? null };
}

export const DELIVERY_PARAMS = [
  'customer',
  'packageId',
  'eventId',
  'outcome',
  'since',
  'until',
  'limit',
  'cursor',
];

export function deliveryQuery(
  q: Record<string, unknown>,
): Parsed<{ filter: DeliveryFilter; limit: number; cursor: string | null }> {
  const unknown = unknownParam(q, DELIVERY_PARAMS);
  if (unknown) return { ok: false, bad: unknown };
  const filter: DeliveryFilter = {};
  for (const name of ['customer', 'packageId', 'eventId'] as const) {
    const v = text(q, name);
    if (v !== undefined && typeof v !== 'string') return { ok: false, bad: v };
    if (v !== undefined) filter[name] = v;
  }
  if (filter.customer !== undefined && !ID.test(filter.customer)) {
    return { ok: false, bad: { error: 'customer must be a customer id ([a-z0-9-]+)', field: 'customer' } };
  }
  const outcome = text(q, 'outcome');
  if (outcome !== undefined) {
    if (typeof outcome !== 'string' || !DELIVERY_STATES.includes(outcome as DeliveryState)) {
      return {
        ok: false,
        bad: { error: `outcome must be one of ${DELIVERY_STATES.join(', ')}`, field: 'outcome' },
      };
    }
    filter.outcome = outcome as DeliveryState;
  }
  for (const name of ['since', 'until'] as const) {
    const v = text(q, name);
    if (v === undefined) continue;
    const t = typeof v === 'string' ? parseTime(v) : null;
    if (t === null) {
      return {
        ok: false,
        bad: { error: `${name} must be an ISO 8601 date-time or milliseconds since the epoch`, field: name },
      };
    }
    filter[name] = t;
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    return { ok: false, bad: { error: 'since must be before until', field: 'since' } };
  }
  const limit = limitOf(q, 50, 200);
  if (!limit.ok) return limit;
  const cursor = cursorOf(q);
  if (!cursor.ok) return cursor;
  return { ok: true, value: { filter, limit: limit.value, cursor: cursor.value } };
}

export function streamQuery(q: Record<string, unknown>): Parsed<{ customer?: string; packageId?: string }> {
  const unknown = unknownParam(q, ['customer', 'packageId', 'ticket']);
  if (unknown) return { ok: false, bad: unknown };
  const out: { customer?: string; packageId?: string } = {};
  for (const name of ['customer', 'packageId'] as const) {
    const v = text(q, name);
    if (v !== undefined && typeof v !== 'string') return { ok: false, bad: v };
    if (v !== undefined) out[name] = v;
  }
  if (out.customer !== undefined && !ID.test(out.customer)) {
    return { ok: false, bad: { error: 'customer must be a customer id ([a-z0-9-]+)', field: 'customer' } };
  }
  return { ok: true, value: out };
}
