/**
 * The tracking API's outbox (deploy/postgres/init/02-outbox.sql): one row per recorded movement, written by
 * the same transaction as the movement itself, so an event exists exactly when its change was committed.
 * Debezium's outbox EventRouter (connectors/outbox.json) publishes each row to `outbox.event.<aggregatetype>`
 * with the row id as header `id` and `type` as header `eventType`; the integrator delivers it as a webhook
 * whose id is that row id and whose data is `payload` (README "Outbox source").
 */
import type pg from 'pg';
import { STATUS } from '../package-status.ts';
import type { PackageStatusJson } from '../package-status.ts';

/** Routes every package event to the topic `outbox.event.package`. */
export const AGGREGATE_TYPE = 'package';

export const EVENT_TYPES = {
  posted: 'package.posted',
  moved: 'package.moved',
  delivered: 'package.delivered',
} as const;

export type PackageEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** A new package is `posted`; its last movement is `delivered`; every other one `moved`. */
export function eventTypeOf(event: Pick<PackageStatusJson, 'status'>, created: boolean): PackageEventType {
  if (created) return EVENT_TYPES.posted;
  return event.status === STATUS.delivered ? EVENT_TYPES.delivered : EVENT_TYPES.moved;
}

/**
 * The event's payload: the movement as the API answered it, without the table's row `id` — the event has
 * its own id, and a receiver that also gets the table's change events must not take this for one of them.
 */
export type PackageEventPayload = Omit<PackageStatusJson, 'id'>;

export function payloadOf(event: PackageStatusJson): PackageEventPayload {
  const { id: _rowId, ...payload } = event;
  return payload;
}

/** Inserts the outbox row inside the caller's transaction; returns the event id (the outbox row id). */
export async function writeOutbox(
  client: pg.PoolClient,
  event: PackageStatusJson,
  type: PackageEventType,
): Promise<string> {
  const result = await client.query<{ id: string }>(
    'INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ($1, $2, $3, $4) RETURNING id',
    [AGGREGATE_TYPE, event.package_id, type, JSON.stringify(payloadOf(event))],
  );
  return (result.rows[0] as { id: string }).id;
}
