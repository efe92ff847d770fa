/**
 * `package_status` rows shaped as Debezium 2.7's PostgreSQL connector publishes them to Kafka, with
 * connectors/package-status.json's settings (pgoutput, topic.prefix dbserver1, message.key.columns =
 * package_id) through Kafka Connect's JsonConverter — with the `{schema, payload}` envelope
 * (`schemas.enable=true`) or without it (`false`, what the compose connector uses).
 *
 * Column mapping (CONTRACT §4 table): id BIGSERIAL → int64; the TEXT columns → string (next_address
 * optional); created_at TIMESTAMPTZ → io.debezium.time.ZonedTimestamp, an ISO-8601 string in UTC whose
 * fraction has no trailing zeros (Java's ISO_OFFSET_DATE_TIME), e.g. "2026-11-22T18:00:00.123456Z".
 *
 * Used by the tests (do the generator's rows decode through the integrator?) and by the demo, which feeds
 * the integrator without Postgres or Debezium.
 *
 *   const feed = new DebeziumChangeFeed({ schemas: false });
 *   const record = feed.insert(row);          // { topic, key, value } as JSON text, like the Kafka record
 */
import type { PackageStatusRow } from './package-status.ts';

export const TOPIC_PREFIX = 'dbserver1';
export const DEBEZIUM_VERSION = '2.7.3.Final';
export const DATABASE = 'packages';
export const SCHEMA = 'public';
export const TABLE = 'package_status';

export type DebeziumOp = 'c' | 'u' | 'd' | 'r';
/** `source.snapshot`: "false" while streaming; snapshot reads are "first", "true", …, "last". */
export type SnapshotMarker = 'false' | 'true' | 'first' | 'last' | 'incremental';

/** JSON as JsonConverter writes it; bigint for int64 values beyond 2^53 (serializeJson writes them exactly). */
export type JsonValue =
  string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ShapeOptions {
  /** JsonConverter `schemas.enable`: wrap key and value as `{schema, payload}`. */
  schemas: boolean;
  /** Debezium `topic.prefix`; default dbserver1. */
  topicPrefix?: string;
}

export interface SourceInfo {
  /** Commit time in the database, ms since epoch (what the integrator's end-to-end latency starts from). */
  tsMs: number;
  txId: number;
  /** The change's WAL position. */
  lsn: number | bigint;
  /** The previous commit's LSN, for `source.sequence`; default: none. */
  lastCommitLsn?: number | bigint | null;
  snapshot?: SnapshotMarker;
  db?: string;
}

export interface Change {
  op: DebeziumOp;
  /** The old row: for 'u' and 'd' under REPLICA IDENTITY FULL (what deploy/postgres sets), else null. */
  before: PackageStatusRow | null;
  /** The new row: for 'c', 'u' and 'r'; null for 'd'. */
  after: PackageStatusRow | null;
  source: SourceInfo;
  /** When Debezium processed the change, ms since epoch; default source.tsMs + 3. */
  tsMs?: number;
}

/** The Kafka record as the integrator's consumer receives it (key and value are UTF-8 JSON text). */
export interface DebeziumRecord {
  topic: string;
  key: string;
  /** null = tombstone. */
  value: string | null;
}

export function topicOf(options: Pick<ShapeOptions, 'topicPrefix'> = {}): string {
  return `${options.topicPrefix ?? TOPIC_PREFIX}.${SCHEMA}.${TABLE}`;
}

/** TIMESTAMPTZ → ZonedTimestamp text. Accepts a Date or Postgres/ISO text ("2026-11-22 19:00:00.5+01"). */
export function zonedTimestamp(value: Date | string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('invalid Date');
    return trimFraction(value.toISOString());
  }
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/.exec(
    value.trim(),
  );
  if (!match) throw new RangeError(`not a timestamp with time zone: '${value}'`);
  const date = match[1] as string;
  const time = match[2] as string;
  const fraction = match[3] ?? '';
  const zone = match[4] as string;
  const offset =
    zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const wholeSeconds = new Date(`${date}T${time}${offset}`);
  if (Number.isNaN(wholeSeconds.getTime()))
    throw new RangeError(`not a timestamp with time zone: '${value}'`);
  const utc = wholeSeconds.toISOString().slice(0, 19);
  const digits = fraction.replace(/0+$/, '');
  return `${utc}${digits ? `.${digits}` : ''}Z`;
}

function trimFraction(iso: string): string {
  return iso.replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}` : '') + 'Z');
}

function int64(value: number | bigint | string, what: string): number | bigint {
  const big = typeof value === 'bigint' ? value : BigInt(value);
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new RangeError(`${what}: ${value} is not an integer`);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** A row as the `before`/`after` struct payload. */
export function rowPayload(row: PackageStatusRow): JsonObject {
  return {
    id: int64(row.id, 'id'),
    package_id: row.package_id,
    customer_id: row.customer_id,
    status: row.status,
    actual_address: row.actual_address,
    next_address: row.next_address,
    created_at: zonedTimestamp(row.created_at),
  };
}

function rowSchema(prefix: string, field: 'before' | 'after'): JsonObject {
  const text = (name: string, optional = false): JsonObject => ({ type: 'string', optional, field: name });
  return {
    type: 'struct',
    fields: [
      { type: 'int64', optional: false, default: 0, field: 'id' },
      text('package_id'),
      text('customer_id'),
      text('status'),
      text('actual_address'),
      text('next_address', true),
      {
        type: 'string',
        optional: false,
        name: 'io.debezium.time.ZonedTimestamp',
        version: 1,
        field: 'created_at',
      },
    ],
    optional: true,
    name: `${prefix}.${SCHEMA}.${TABLE}.Value`,
    field,
  };
}

const SOURCE_SCHEMA: JsonObject = {
  type: 'struct',
  fields: [
    { type: 'string', optional: false, field: 'version' },
    { type: 'string', optional: false, field: 'connector' },
    { type: 'string', optional: false, field: 'name' },
    { type: 'int64', optional: false, field: 'ts_ms' },
    {
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: { allowed: 'true,last,false,incremental' },
      default: 'false',
      field: 'snapshot',
    },
    { type: 'string', optional: false, field: 'db' },
    { type: 'string', optional: true, field: 'sequence' },
    { type: 'int64', optional: true, field: 'ts_us' },
    { type: 'int64', optional: true, field: 'ts_ns' },
    { type: 'string', optional: false, field: 'schema' },
    { type: 'string', optional: false, field: 'table' },
    { type: 'int64', optional: true, field: 'txId' },
    { type: 'int64', optional: true, field: 'lsn' },
    { type: 'int64', optional: true, field: 'xmin' },
  ],
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  field: 'source',
};

const TRANSACTION_SCHEMA: JsonObject = {
  type: 'struct',
  fields: [
    { type: 'string', optional: false, field: 'id' },
    { type: 'int64', optional: false, field: 'total_order' },
    { type: 'int64', optional: false, field: 'data_collection_order' },
  ],
  optional: true,
  name: 'event.block',
  version: 1,
  field: 'transaction',
};

function envelopeSchema(prefix: string): JsonObject {
  return {
    type: 'struct',
    fields: [
      rowSchema(prefix, 'before'),
      rowSchema(prefix, 'after'),
      SOURCE_SCHEMA,
      TRANSACTION_SCHEMA,
      { type: 'string', optional: false, field: 'op' },
      { type: 'int64', optional: true, field: 'ts_ms' },
      { type: 'int64', optional: true, field: 'ts_us' },
      { type: 'int64', optional: true, field: 'ts_ns' },
    ],
    optional: false,
    name: `${prefix}.${SCHEMA}.${TABLE}.Envelope`,
    version: 2,
  };
}

function micros(ms: number): number {
  return ms * 1000;
}

function nanos(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** The `source` block of a 2.7 PostgreSQL event. */
export function sourceBlock(source: SourceInfo, options: Pick<ShapeOptions, 'topicPrefix'> = {}): JsonObject {
  const lsn = int64(source.lsn, 'lsn');
  const last = source.lastCommitLsn;
  return {
    version: DEBEZIUM_VERSION,
    connector: 'postgresql',
    name: options.topicPrefix ?? TOPIC_PREFIX,
    ts_ms: source.tsMs,
    snapshot: source.snapshot ?? 'false',
    db: source.db ?? DATABASE,
    sequence: JSON.stringify([last == null ? null : String(last), String(lsn)]),
    ts_us: micros(source.tsMs),
    ts_ns: nanos(source.tsMs),
    schema: SCHEMA,
    table: TABLE,
    txId: source.txId,
    lsn,
    xmin: null,
  };
}

function checkChange(change: Change): void {
  const { op, before, after } = change;
  if ((op === 'c' || op === 'r') && (after === null || before !== null)) {
    throw new RangeError(`op '${op}' has an after-image and no before-image`);
  }
  if (op === 'u' && after === null) throw new RangeError("op 'u' needs an after-image");
  if (op === 'd' && (before === null || after !== null)) {
    throw new RangeError("op 'd' has a before-image and no after-image");
  }
}

/** The record value: the bare envelope, or `{schema, payload}` when `options.schemas`. */
export function debeziumValue(change: Change, options: ShapeOptions): JsonObject {
  checkChange(change);
  const tsMs = change.tsMs ?? change.source.tsMs + 3;
  const payload: JsonObject = {
    before: change.before === null ? null : rowPayload(change.before),
    after: change.after === null ? null : rowPayload(change.after),
    source: sourceBlock(change.source, options),
    transaction: null,
    op: change.op,
    ts_ms: tsMs,
    ts_us: micros(tsMs),
    ts_ns: nanos(tsMs),
  };
  if (!options.schemas) return payload;
  return { schema: envelopeSchema(options.topicPrefix ?? TOPIC_PREFIX), payload };
}

/** The record key: message.key.columns = package_id. */
export function debeziumKey(packageId: string, options: ShapeOptions): JsonObject {
  const payload: JsonObject = { package_id: packageId };
  if (!options.schemas) return payload;
  return {
    schema: {
      type: 'struct',
      fields: [{ type: 'string', optional: false, field: 'package_id' }],
      optional: false,
      name: `${options.topicPrefix ?? TOPIC_PREFIX}.${SCHEMA}.${TABLE}.Key`,
    },
    payload,
  };
}

/** JSON text with bigint values written as exact JSON numbers (as JsonConverter writes int64). */
export function serializeJson(value: JsonValue): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v));
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** The whole Kafka record of one change. */
export function debeziumRecord(change: Change, options: ShapeOptions): DebeziumRecord {
  const row = change.after ?? change.before;
  if (row === null) throw new RangeError('a change needs a before- or after-image');
  return {
    topic: topicOf(options),
    key: serializeJson(debeziumKey(row.package_id, options)),
    value: serializeJson(debeziumValue(change, options)),
  };
}

/** What follows a delete when `tombstones.on.delete=true`: same key, null value (never an envelope). */
export function tombstoneRecord(packageId: string, options: ShapeOptions): DebeziumRecord {
  return { topic: topicOf(options), key: serializeJson(debeziumKey(packageId, options)), value: null };
}

export interface ChangeFeedOptions extends ShapeOptions {
  /** First WAL position; each change advances it. Default 24_023_128. */
  startLsn?: number;
  /** First transaction id; each change is its own transaction. Default 555. */
  startTxId?: number;
  /** Commit-time clock (ms); default Date.now. */
  now?: () => number;
}

/**
 * A stream of changes with advancing LSNs and transaction ids, each change its own transaction, the way
 * the connector would publish a sequence of single-statement commits.
 */
export class DebeziumChangeFeed {
  readonly #options: ShapeOptions;
  readonly #now: () => number;
  #lsn: number;
  #lastCommitLsn: number | null = null;
  #txId: number;

  constructor(options: ChangeFeedOptions) {
    this.#options = {
      schemas: options.schemas,
      ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
    };
    this.#now = options.now ?? Date.now;
    this.#lsn = options.startLsn ?? 24_023_128;
    this.#txId = options.startTxId ?? 555;
  }

  get topic(): string {
    return topicOf(this.#options);
  }

  insert(row: PackageStatusRow): DebeziumRecord {
    return this.#emit('c', null, row);
  }

  update(before: PackageStatusRow | null, after: PackageStatusRow): DebeziumRecord {
    return this.#emit('u', before, after);
  }

  delete(before: PackageStatusRow): DebeziumRecord {
    return this.#emit('d', before, null);
  }

  /** A snapshot read; `marker` 'first' / 'true' / 'last' as the snapshot proceeds. */
  read(row: PackageStatusRow, marker: SnapshotMarker = 'true'): DebeziumRecord {
    return this.#emit('r', null, row, marker);
  }

  tombstone(packageId: string): DebeziumRecord {
    return tombstoneRecord(packageId, this.#options);
  }

  #emit(
    op: DebeziumOp,
    before: PackageStatusRow | null,
    after: PackageStatusRow | null,
    snapshot: SnapshotMarker = 'false',
  ): DebeziumRecord {
    const tsMs = this.#now();
    const record = debeziumRecord(
      {
        op,
        before,
        after,
        source: { tsMs, txId: this.#txId, lsn: this.#lsn, lastCommitLsn: this.#lastCommitLsn, snapshot },
      },
      this.#options,
    );
    this.#lastCommitLsn = this.#lsn;
    this.#lsn += 368;
    this.#txId += 1;
    return record;
  }
}
