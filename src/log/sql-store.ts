/**
 * The delivery log over SQL: every query of the port, written once, run by both adapters (SQLite embedded,
 * src/log/sqlite.ts; Postgres, src/log/postgres.ts) through the small `SqlClient` each provides. What differs
 * between the two is theirs: the schema and its migrations, how a batch goes in (one transaction each), and
 * a few expressions (`SqlDialect`: parameters, how times are stored, lists).
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
import { decodeCursor, encodeCursor } from './port.ts';
import { LOG_TABLES } from './schema.ts';
import type { BatchRows } from './sql-rows.ts';
import { batchRows } from './sql-rows.ts';

/** The expressions that differ between the adapters' SQL. */
export interface SqlDialect {
  /** The n-th (1-based) query parameter. */
  param(n: number): string;
  /** A stored time column as ms since the epoch, named `as`. */
  ms(col: string, as: string): string;
  /** A parameter holding ms since the epoch, as comparable with a stored time. */
  time(param: string): string;
  /** The changes' `customers` column as a JSON array (or its text), named `customers`. */
  customers: string;
  /** `col` is one of the list passed as `param` (see `list`). */
  inList(col: string, param: string): string;
  /** A list of strings as the parameter `inList` expects. */
  list(values: string[]): unknown;
}

export interface SqlClient {
  readonly dialect: SqlDialect;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Creates or upgrades the schema (idempotent). */
  migrate(): Promise<void>;
  /** One batch's rows, in one transaction. */
  write(rows: BatchRows): Promise<void>;
  /** Housekeeping after rows were deleted. */
  afterPrune(): Promise<void>;
  /** It holds each table at its row cap as it writes (embedded, `maxRows`): `prune` keeps the age limit only. */
  readonly keepsRowCap: boolean;
  close(): Promise<void>;
}

/**
 * Rows one retention statement deletes. Between two statements a prune gives way to whatever waits (the
 * writer's next batch, a query): the embedded store runs each statement synchronously on the writer
 * thread, and a prune of 60,000 rows in one go held that thread for seconds while the delivery path's
 * buffer filled (records dropped, and ~10–20 MB of the process's heap grown for good).
 */
const PRUNE_CHUNK = 1000;
const giveWay = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(Number(v)).toISOString();
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const deliveryColumns = (d: SqlDialect): string => `CAST(seq AS TEXT) AS position, event_id, customer,
  package_id, status, state, attempts, replays, ${d.ms('created_at', 'created_at')}, ${d.ms('updated_at', 'updated_at')},
  last_result, last_http_status, last_error, last_attempt, ${d.ms('last_attempt_at', 'last_attempt_at')},
  last_duration_ms, parked_why, ${d.ms('due_at', 'due_at')}, ${d.ms('delivered_at', 'delivered_at')}, end_to_end_ms,
  ${d.ms('dead_at', 'dead_at')}, dead_reason`;

const changeColumns = (d: SqlDialect): string => `CAST(seq AS TEXT) AS position, event_id, package_id, status,
  type, ${d.ms('occurred_at', 'occurred_at')}, ${d.ms('seen_at', 'seen_at')}, topic, kafka_partition,
  kafka_offset, ${d.customers}`;

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

export class SqlDeliveryLog implements DeliveryLogStore {
  readonly kind: 'embedded' | 'postgres';
  private readonly db: SqlClient;

  // No parameter properties here or in anything src/log/worker.ts imports: the worker may run under
  // Node's own type stripping, which does not support them.
  constructor(kind: 'embedded' | 'postgres', db: SqlClient) {
    this.kind = kind;
    this.db = db;
  }

  migrate(): Promise<void> {
    return this.db.migrate();
  }

  async write(batch: LogBatch): Promise<void> {
    if (batch.changes.length + batch.deliveries.length + batch.steps.length === 0) return;
    await this.db.write(batchRows(batch));
  }

  async deliveries(
    filter: DeliveryFilter,
    limit: number,
    cursor: string | null,
  ): Promise<Page<DeliveryItem>> {
    const d = this.db.dialect;
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(cond(d.param(params.length)));
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
    // The extra `state <> 'delivered'` is the unsettled index's own condition: it lets SQLite use it.
    if (filter.outcome !== undefined)
      add(
        (p) => `state = ${p}${filter.outcome === 'delivered' ? '' : ` AND state <> 'delivered'`}`,
        filter.outcome,
      );
    if (filter.since !== undefined) add((p) => `created_at >= ${d.time(p)}`, filter.since);
    if (filter.until !== undefined) add((p) => `created_at < ${d.time(p)}`, filter.until);
    if (cursor !== null) add((p) => `seq < CAST(${p} AS BIGINT)`, decodeCursor(cursor));
    params.push(limit + 1);
    const rows = await this.db.query(
      `SELECT ${deliveryColumns(d)} FROM delivery_log_deliveries
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT ${d.param(params.length)}`,
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
    const d = this.db.dialect;
    const p1 = d.param(1);
    const [changes, deliveries, steps] = await Promise.all([
      this.db.query(`SELECT ${changeColumns(d)}, body FROM delivery_log_changes WHERE event_id = ${p1}`, [
        eventId,
      ]),
      this.db.query(
        `SELECT ${deliveryColumns(d)} FROM delivery_log_deliveries WHERE event_id = ${p1} ORDER BY customer`,
        [eventId],
      ),
      this.db.query(
        `SELECT customer, kind, ${d.ms('at', 'at')}, attempt, result, http_status, duration_ms, detail
         FROM delivery_log_steps WHERE event_id = ${p1} ORDER BY customer, seq`,
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
      const item = deliveryItem(r);
      return { ...item, steps: [...(byCustomer.get(item.customer) ?? []), ...successSteps(r)] };
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
    const d = this.db.dialect;
    const params: unknown[] = [packageId];
    let after = '';
    if (cursor !== null) {
      params.push(decodeCursor(cursor));
      after = `AND seq < CAST(${d.param(2)} AS BIGINT)`;
    }
    params.push(limit + 1);
    const [latestRows, rows] = await Promise.all([
      this.db.query(
        `SELECT ${changeColumns(d)} FROM delivery_log_changes WHERE package_id = ${d.param(1)}
         ORDER BY seq DESC LIMIT 1`,
        [packageId],
      ),
      this.db.query(
        `SELECT ${changeColumns(d)} FROM delivery_log_changes WHERE package_id = ${d.param(1)} ${after}
         ORDER BY seq DESC LIMIT ${d.param(params.length)}`,
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
            `SELECT ${deliveryColumns(d)} FROM delivery_log_deliveries WHERE ${d.inList('event_id', d.param(1))}`,
            [d.list(ids)],
          );
    const byEvent = new Map<string, Map<string, DeliveryItem>>();
    for (const r of deliveries) {
      const item = deliveryItem(r);
      const m = byEvent.get(item.eventId) ?? new Map<string, DeliveryItem>();
      m.set(item.customer, item);
      byEvent.set(item.eventId, m);
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
    const d = this.db.dialect;
    const p1 = d.param(1);
    const cutoff = now - maxAgeMs;
    let deleted = 0;
    for (const { table, time } of LOG_TABLES) {
      // By rows: keep the newest maxRows. Positions have gaps (an upsert draws one even when it updates),
      // so the span only says whether counting the newest rows is needed.
      const [span] = this.db.keepsRowCap
        ? []
        : await this.db.query<{ lo: string | null; hi: string | null }>(
            `SELECT CAST(min(seq) AS TEXT) AS lo, CAST(max(seq) AS TEXT) AS hi FROM ${table}`,
          );
      if (span?.lo && span.hi && BigInt(span.hi) - BigInt(span.lo) + 1n > BigInt(maxRows)) {
        const [cut] = await this.db.query<{ position: string }>(
          `SELECT CAST(seq AS TEXT) AS position FROM ${table} ORDER BY seq DESC LIMIT 1 OFFSET ${p1}`,
          [maxRows],
        );
        const below = cut?.position ?? '0';
        for (;;) {
          const gone = await this.db.query(
            `DELETE FROM ${table} WHERE seq IN (SELECT seq FROM ${table} WHERE seq <= CAST(${p1} AS BIGINT)
             ORDER BY seq LIMIT ${PRUNE_CHUNK}) RETURNING 1 AS x`,
            [below],
          );
          deleted += gone.length;
          if (gone.length < PRUNE_CHUNK) break;
          await giveWay();
        }
      }
      // By age: walk from the oldest (seq order follows time closely) while rows are too old.
      for (;;) {
        const gone = await this.db.query(
          `DELETE FROM ${table} WHERE seq IN (
             SELECT seq FROM ${table} WHERE seq <= (SELECT min(seq) + ${PRUNE_CHUNK} FROM ${table})
             AND ${time} < ${d.time(p1)}) RETURNING 1 AS x`,
          [cutoff],
        );
        deleted += gone.length;
        if (gone.length === 0) break;
        await giveWay();
      }
    }
    if (deleted > 0) await this.db.afterPrune();
    return deleted;
  }

  async counts(): Promise<LogCounts> {
    const [r] = await this.db.query<{ changes: number; deliveries: number; steps: number }>(
      `SELECT CAST((SELECT count(*) FROM delivery_log_changes) AS INTEGER) AS changes,
              CAST((SELECT count(*) FROM delivery_log_deliveries) AS INTEGER) AS deliveries,
              CAST((SELECT count(*) FROM delivery_log_steps) AS INTEGER) AS steps`,
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
