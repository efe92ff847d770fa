/**
 * From a decoded change to the webhook a customer receives (README "What a customer receives"), pure.
 *
 * Identity: `evt_` + 32 hex of SHA-256 over (server, table, op, LSN, primary key). The LSN is the change's
 * position in the WAL, so the same change always yields the same id: across retries, integrator crashes
 * and Debezium re-sends. Snapshot rows share one LSN and are told apart by the primary key; incremental
 * snapshot rows (no LSN) fall back to Debezium's `sequence`.
 */
import { hash } from 'node:crypto';
import { canonical, scalarText, stringifyExact } from '../intake/json.ts';
import type { ChangeEvent } from '../intake/debezium.ts';

export function primaryKeyOf(event: ChangeEvent): string {
  if (event.row.id !== undefined && event.row.id !== null) return canonical(event.row.id);
  if (event.key !== null) return canonical(event.key);
  return canonical(event.row);
}

export function eventId(event: ChangeEvent): string {
  const s = event.source;
  const position = s.lsn ?? `seq:${s.sequence ?? ''}:${s.tsMs ?? ''}`;
  const material = [s.name, s.db ?? '', event.table, event.op, position, primaryKeyOf(event)].join('\u0000');
  return `evt_${hash('sha256', material, 'hex').slice(0, 32)}`;
}

/** Per-package order: the package id when the row has one, else the record key. */
export function orderingKeyOf(event: ChangeEvent, fallback: string): string {
  const pkg = scalarText(event.row.package_id);
  if (pkg !== undefined) return pkg;
  if (event.key !== null) return typeof event.key === 'string' ? event.key : canonical(event.key);
  return fallback;
}

export interface WebhookBody {
  id: string;
  type: ChangeEvent['type'];
  occurredAt: string;
  data: ChangeEvent['row'];
  previous: ChangeEvent['previous'];
  unchanged?: string[];
  source: { table: string; lsn: string | null; txId: number | string | null; snapshot: boolean };
}

export function webhookBody(event: ChangeEvent, id: string, now: () => number = Date.now): WebhookBody {
  const body: WebhookBody = {
    id,
    type: event.type,
    occurredAt: new Date(event.source.tsMs ?? now()).toISOString(),
    data: event.row,
    previous: event.previous,
    source: {
      table: event.table,
      lsn: event.source.lsn,
      txId: event.source.txId,
      snapshot: event.source.snapshot,
    },
  };
  if (event.unchanged.length > 0) body.unchanged = event.unchanged;
  return body;
}

/** The exact bytes sent (and signed): int64 values written back without rounding. */
export function serialiseBody(body: WebhookBody, lossless = true): string {
  return lossless ? stringifyExact(body) : JSON.stringify(body);
}
