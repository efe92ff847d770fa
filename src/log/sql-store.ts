/**
 * The delivery log over SQL: every query of the port, written once, run by both adapters (PGlite and
 * Postgres) through the small `SqlClient` they provide. Rows go in as one JSON parameter per table
 * (`json_to_recordset`), so a batch is three statements whatever its size.
 */
import type {
  ChangeItem,
  DeliveryFilter,
  DeliveryItem,
  DeliveryLogStore,
  DeliveryState,
  EventDetail,
  LogBatch,
  LogCounts,
  Page,
  PackageView,
  StepItem,
  StepKind,
  TimelineEntry,
} from './port.ts';
import { TERMINAL_STATES, decodeCursor, encodeCursor } from './port.ts';
import { LOG_TABLES, MIGRATIONS, MIGRATIONS_TABLE, MIGRATION_LOCK_KEY } from './schema.ts';

export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters. */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlRunner {
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Housekeeping after rows were deleted (PGlite has no autovacuum). */
  afterPrune(): Promise<void>;
  close(): Promise<void>;
}

/** Stored bodies are cut here (a change's body is usually well under 1 KiB). */
export const BODY_MAX = 64 * 1024;
const PRUNE_CHUNK = 5000;

const ms = (col: string, as: string): string => `(extract(epoch from ${col}) * 1000)::float8 AS ${as}`;
const ts = (field: string): string => `to_timestamp(r.${field} / 1000.0)`;
const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(Number(v)).toISOString();
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const DELIVERY_COLUMNS = `seq::text AS position, event_id, customer, package_id, status, state, attempts, replays,
  ${ms('created_at', 'created_at')}, ${ms('updated_at', 'updated_at')}, last_result, last_http_status, last_error,
  last_attempt, ${ms('last_attempt_at', 'last_attempt_at')}, last_duration_ms,
  parked_why, ${ms('due_at', 'due_at')}, ${ms('delivered_at', 'delivered_at')}, end_to_end_ms,
  ${ms('dead_at', 'dead_at')}, dead_reason`;

const CHANGE_COLUMNS = `seq::text AS position, event_id, package_id, status, type, ${ms('occurred_at', 'occurred_at')},
  ${ms('seen_at', 'seen_at')}, topic, kafka_partition, kafka_offset, array_to_json(customers) AS customers`;

type Row = Record<string, unknown>;

function deliveryItem(r: Row): DeliveryItem {
  return {
    eventId: String(r.event_id),
    customer: String(r.customer),
    packageId: String(r.package_id),
    status: str(r.status),
    state: String(r.state) as DeliveryState,
    attempts: Number(r.attempts),
    replays: Number(r.replays),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    lastResult: str(r.last_result),
    lastHttpStatus: num(r.last_http_status),
    lastError: str(r.last_error),
    parkedWhy: str(r.parked_why),
    dueAt: iso(r.due_at),
    deliveredAt: iso(r.delivered_at),
    endToEndMs: num(r.end_to_end_ms),
    deadAt: iso(r.dead_at),
    deadReason: str(r.dead_reason),
  };
}

function changeItem(r: Row): ChangeItem {
  const customers = typeof r.customers === 'string' ? (JSON.parse(r.customers) as string[]) : r.customers;
  return {
    eventId: String(r.event_id),
    packageId: String(r.package_id),
    status: str(r.status),
    type: String(r.type),
    occurredAt: iso(r.occurred_at),
    seenAt: iso(r.seen_at)!,
    source: { topic: String(r.topic), partition: Number(r.kafka_partition), offset: String(r.kafka_offset) },
    customers: (customers as string[] | null) ?? [],
  };
}

function stepItem(r: Row): StepItem {
  return {
    kind: String(r.kind) as StepKind,
    at: iso(r.at)!,
    attempt: num(r.attempt),
    result: str(r.result),
    httpStatus: num(r.http_status),
    durationMs: num(r.duration_ms),
    detail: str(r.detail),
  };
}

const TERMINAL = TERMINAL_STATES.map((s) => `'${s}'`).join(',');
/** A stored terminal state survives a batch that does not end terminal, unless that batch replayed it. */
const KEEP_OLD = `(d.state IN (${TERMINAL}) AND EXCLUDED.state NOT IN (${TERMINAL}) AND EXCLUDED.replays = 0)`;

const UPSERT_DELIVERIES = `
INSERT INTO delivery_log_deliveries AS d (event_id, customer, package_id, status, state, attempts, replays,
  created_at, updated_at, last_result, last_http_status, last_error, last_attempt, last_attempt_at,
  last_duration_ms, parked_why, due_at, delivered_at, end_to_end_ms, dead_at, dead_reason)
SELECT r.event_id, r.customer, r.package_id, r.status, r.state, r.attempts, r.replays, ${ts('first_at')},
  ${ts('last_at')}, r.last_result, r.last_http_status, r.last_error, r.last_attempt, ${ts('last_attempt_at')},
  r.last_duration_ms, r.parked_why, ${ts('due_at')}, ${ts('delivered_at')}, r.end_to_end_ms, ${ts('dead_at')},
  r.dead_reason
FROM json_to_recordset($1::json) AS r(event_id text, customer text, package_id text, status text, state text,
  attempts int, replays int, first_at float8, last_at float8, last_result text, last_http_status int,
  last_error text, last_attempt int, last_attempt_at float8, last_duration_ms float8, parked_why text,
  due_at float8, delivered_at float8, end_to_end_ms float8, dead_at float8, dead_reason text)
ON CONFLICT (event_id, customer) DO UPDATE SET
  state = CASE WHEN ${KEEP_OLD} THEN d.state ELSE EXCLUDED.state END,
  parked_why = CASE WHEN ${KEEP_OLD} THEN d.parked_why ELSE EXCLUDED.parked_why END,
  due_at = CASE WHEN ${KEEP_OLD} THEN d.due_at ELSE EXCLUDED.due_at END,
  attempts = d.attempts + EXCLUDED.attempts,
  replays = d.replays + EXCLUDED.replays,
  created_at = LEAST(d.created_at, EXCLUDED.created_at),
  updated_at = GREATEST(d.updated_at, EXCLUDED.updated_at),
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

const INSERT_CHANGES = `
INSERT INTO delivery_log_changes (event_id, package_id, status, type, occurred_at, seen_at, topic,
  kafka_partition, kafka_offset, customers, body)
SELECT r.event_id, r.package_id, r.status, r.type, ${ts('occurred_at')}, ${ts('seen_at')}, r.topic,
  r.kafka_partition, r.kafka_offset, r.customers, r.body
FROM json_to_recordset($1::json) AS r(event_id text, package_id text, status text, type text,
  occurred_at float8, seen_at float8, topic text, kafka_partition int, kafka_offset text, customers text[],
  body text)
ON CONFLICT (event_id) DO NOTHING`;

const INSERT_STEPS = `
INSERT INTO delivery_log_steps (event_id, customer, package_id, kind, at, attempt, result, http_status,
  duration_ms, detail)
SELECT r.event_id, r.customer, r.package_id, r.kind, ${ts('at')}, r.attempt, r.result, r.http_status,
  r.duration_ms, r.detail
FROM json_to_recordset($1::json) AS r(event_id text, customer text, package_id text, kind text, at float8,
  attempt int, result text, http_status int, duration_ms float8, detail text)`;

export class SqlDeliveryLog implements DeliveryLogStore {
  readonly kind: 'embedded' | 'postgres';
  private readonly db: SqlClient;

  // No parameter properties here or in anything src/log/worker.ts imports: the worker may run under
  // Node's own type stripping, which does not support them.
  constructor(kind: 'embedded' | 'postgres', db: SqlClient) {
    this.kind = kind;
    this.db = db;
  }

  async migrate(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.exec(MIGRATIONS_TABLE);
      const done = new Set(
        (await tx.query<{ version: number }>('SELECT version FROM delivery_log_migrations')).map((r) =>
          Number(r.version),
        ),
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO delivery_log_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
      }
    });
  }

  async write(batch: LogBatch): Promise<void> {
    if (batch.changes.length + batch.deliveries.length + batch.steps.length === 0) return;
    const changes = batch.changes.map((c) => ({
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
    const deliveries = batch.deliveries.map((d) => ({
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
    const steps = batch.steps.map((s) => ({
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
    await this.db.transaction(async (tx) => {
      if (changes.length > 0) await tx.query(INSERT_CHANGES, [JSON.stringify(changes)]);
      if (deliveries.length > 0) await tx.query(UPSERT_DELIVERIES, [JSON.stringify(deliveries)]);
      if (steps.length > 0) await tx.query(INSERT_STEPS, [JSON.stringify(steps)]);
    });
  }

  async deliveries(
    filter: DeliveryFilter,
    limit: number,
    cursor: string | null,
  ): Promise<Page<DeliveryItem>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(cond(`$${params.length}`));
    };
    if (filter.customer !== undefined) add((p) => `customer = ${p}`, filter.customer);
    if (filter.packageId !== undefined) {
      add(
        (p) =>
          `event_id IN (SELECT event_id FROM delivery_log_changes WHERE package_id = ${p}) AND package_id = ${p}`,
        filter.packageId,
      );
    }
    if (filter.eventId !== undefined) add((p) => `event_id = ${p}`, filter.eventId);
    if (filter.outcome !== undefined) add((p) => `state = ${p}`, filter.outcome);
    if (filter.since !== undefined)
      add((p) => `created_at >= to_timestamp(${p}::float8 / 1000.0)`, filter.since);
    if (filter.until !== undefined)
      add((p) => `created_at < to_timestamp(${p}::float8 / 1000.0)`, filter.until);
    if (cursor !== null) add((p) => `seq < ${p}::bigint`, decodeCursor(cursor));
    params.push(limit + 1);
    const rows = await this.db.query(
      `SELECT ${DELIVERY_COLUMNS} FROM delivery_log_deliveries
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      items: page.map(deliveryItem),
      nextCursor: more ? encodeCursor(String(page.at(-1)!.position)) : null,
    };
  }

  async event(eventId: string): Promise<EventDetail | null> {
    const [changes, deliveries, steps] = await Promise.all([
      this.db.query(`SELECT ${CHANGE_COLUMNS}, body FROM delivery_log_changes WHERE event_id = $1`, [
        eventId,
      ]),
      this.db.query(
        `SELECT ${DELIVERY_COLUMNS} FROM delivery_log_deliveries WHERE event_id = $1 ORDER BY customer`,
        [eventId],
      ),
      this.db.query(
        `SELECT customer, kind, ${ms('at', 'at')}, attempt, result, http_status, duration_ms, detail
         FROM delivery_log_steps WHERE event_id = $1 ORDER BY customer, seq`,
        [eventId],
      ),
    ]);
    if (changes.length === 0 && deliveries.length === 0) return null;
    const byCustomer = new Map<string, StepItem[]>();
    for (const s of steps) {
      const list = byCustomer.get(String(s.customer)) ?? [];
      list.push(stepItem(s));
      byCustomer.set(String(s.customer), list);
    }
    const items = deliveries.map((r) => {
      const d = deliveryItem(r);
      return { ...d, steps: [...(byCustomer.get(d.customer) ?? []), ...successSteps(r)] };
    });
    const change = changes[0];
    if (change) {
      const body = change.body === null ? null : safeJson(String(change.body));
      return { ...changeItem(change), body, deliveries: items };
    }
    // Only the deliveries were logged (the change's record was dropped): say what is known.
    const first = items[0]!;
    return {
      eventId,
      packageId: first.packageId,
      status: first.status,
      type: 'unknown',
      occurredAt: null,
      seenAt: first.createdAt,
      source: { topic: '', partition: -1, offset: '' },
      customers: items.map((d) => d.customer),
      body: null,
      deliveries: items,
    };
  }

  async package(packageId: string, limit: number, cursor: string | null): Promise<PackageView | null> {
    const params: unknown[] = [packageId];
    let after = '';
    if (cursor !== null) {
      params.push(decodeCursor(cursor));
      after = `AND seq < $2::bigint`;
    }
    params.push(limit + 1);
    const [latestRows, rows] = await Promise.all([
      this.db.query(
        `SELECT ${CHANGE_COLUMNS} FROM delivery_log_changes WHERE package_id = $1 ORDER BY seq DESC LIMIT 1`,
        [packageId],
      ),
      this.db.query(
        `SELECT ${CHANGE_COLUMNS} FROM delivery_log_changes WHERE package_id = $1 ${after}
         ORDER BY seq DESC LIMIT $${params.length}`,
        params,
      ),
    ]);
    if (latestRows.length === 0) return null;
    const more = rows.length > limit;
    const page = (more ? rows.slice(0, limit) : rows).map((r) => ({
      seq: String(r.position),
      change: changeItem(r),
    }));
    const ids = page.map((p) => p.change.eventId);
    const deliveries =
      ids.length === 0
        ? []
        : await this.db.query(
            `SELECT ${DELIVERY_COLUMNS} FROM delivery_log_deliveries WHERE event_id = ANY($1::text[])`,
            [ids],
          );
    const byEvent = new Map<string, Map<string, DeliveryItem>>();
    for (const r of deliveries) {
      const d = deliveryItem(r);
      const m = byEvent.get(d.eventId) ?? new Map<string, DeliveryItem>();
      m.set(d.customer, d);
      byEvent.set(d.eventId, m);
    }
    const timeline: TimelineEntry[] = page.map(({ change }) => {
      const known = byEvent.get(change.eventId) ?? new Map<string, DeliveryItem>();
      const customers = [...new Set([...change.customers, ...known.keys()])].sort();
      return {
        ...change,
        deliveries: customers.map((c) => known.get(c) ?? { customer: c, state: 'unknown' as const }),
      };
    });
    return {
      packageId,
      latest: changeItem(latestRows[0]!),
      timeline,
      nextCursor: more ? encodeCursor(page.at(-1)!.seq) : null,
    };
  }

  async prune(now: number, maxAgeMs: number, maxRows: number): Promise<number> {
    const cutoff = now - maxAgeMs;
    let deleted = 0;
    for (const { table, time } of LOG_TABLES) {
      // By rows: keep the newest maxRows. Positions have gaps (an upsert draws one even when it updates),
      // so the span only says whether counting the newest rows is needed.
      const [span] = await this.db.query<{ lo: string | null; hi: string | null }>(
        `SELECT min(seq)::text AS lo, max(seq)::text AS hi FROM ${table}`,
      );
      if (span?.lo && span.hi && BigInt(span.hi) - BigInt(span.lo) + 1n > BigInt(maxRows)) {
        const [cut] = await this.db.query<{ position: string }>(
          `SELECT seq::text AS position FROM ${table} ORDER BY seq DESC OFFSET $1 LIMIT 1`,
          [maxRows],
        );
        const below = cut?.position ?? '0';
        for (;;) {
          const gone = await this.db.query(
            `DELETE FROM ${table} WHERE seq IN (SELECT seq FROM ${table} WHERE seq <= $1::bigint ORDER BY seq LIMIT ${PRUNE_CHUNK}) RETURNING 1 AS x`,
            [below],
          );
          deleted += gone.length;
          if (gone.length < PRUNE_CHUNK) break;
        }
      }
      // By age: walk from the oldest (seq order follows time closely) while rows are too old.
      for (;;) {
        const gone = await this.db.query(
          `DELETE FROM ${table} WHERE seq IN (
             SELECT seq FROM ${table} WHERE seq <= (SELECT min(seq) + ${PRUNE_CHUNK} FROM ${table})
             AND ${time} < to_timestamp($1::float8 / 1000.0)) RETURNING 1 AS x`,
          [cutoff],
        );
        deleted += gone.length;
        if (gone.length === 0) break;
      }
    }
    if (deleted > 0) await this.db.afterPrune();
    return deleted;
  }

  async counts(): Promise<LogCounts> {
    const [r] = await this.db.query<{ changes: number; deliveries: number; steps: number }>(
      `SELECT (SELECT count(*) FROM delivery_log_changes)::int AS changes,
              (SELECT count(*) FROM delivery_log_deliveries)::int AS deliveries,
              (SELECT count(*) FROM delivery_log_steps)::int AS steps`,
    );
    return { changes: Number(r!.changes), deliveries: Number(r!.deliveries), steps: Number(r!.steps) };
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A delivered row's successful attempt and its delivery, which are kept on the row, as steps. */
function successSteps(r: Row): StepItem[] {
  if (r.state !== 'delivered' || r.last_result !== '2xx') return [];
  return [
    {
      kind: 'attempt',
      at: iso(r.last_attempt_at ?? r.delivered_at)!,
      attempt: num(r.last_attempt),
      result: '2xx',
      httpStatus: num(r.last_http_status),
      durationMs: num(r.last_duration_ms),
      detail: null,
    },
    {
      kind: 'delivered',
      at: iso(r.delivered_at)!,
      attempt: num(r.last_attempt),
      result: null,
      httpStatus: null,
      durationMs: null,
      detail: null,
    },
  ];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
