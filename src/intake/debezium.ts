/**
 * Debezium PostgreSQL change-event decoder (pure).
 *
 * Accepts what Kafka Connect's JsonConverter writes, with or without the `{schema, payload}` envelope, for
 * keys and values alike, from Debezium 0.8 to 3.x: fields are looked up by name, never by position.
 *
 *   value null                         → ignored: tombstone
 *   heartbeat / transaction metadata   → ignored
 *   op t (truncate)                    → ignored: truncate (no row to route)
 *   op c u d r with a row image        → change
 *   anything else                      → poison, with the reason
 *
 * Unchanged TOAST columns (`__debezium_unavailable_value` in its text, bytea, array forms) are never passed
 * on as values: they are filled from a full before-image when one exists, otherwise dropped from the row
 * and listed in `unchanged`.
 */
import { canonical, isObject, longDigitRuns, parseExact, parseFast, scalarText } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { convertLogicalTypes, rowSchemaOf } from './logical-types.ts';

export type Op = 'c' | 'u' | 'd' | 'r';
export type EventType =
  'package_status.created' | 'package_status.updated' | 'package_status.deleted' | 'package_status.snapshot';
export type Row = Record<string, Json>;

export interface SourcePosition {
  /** Debezium's logical server name (`topic.prefix`). */
  name: string;
  db: string | null;
  /** `schema.table`, e.g. `public.package_status`. */
  table: string;
  /** Exact decimal text of the WAL position, or null (incremental snapshot rows have none). */
  lsn: string | null;
  txId: number | string | null;
  /** Commit time in the database, ms since epoch, or null if the event does not say. */
  tsMs: number | null;
  snapshot: boolean;
  /** Debezium's `source.sequence` as written (a JSON array in a string), or null. */
  sequence: string | null;
}

export interface ChangeEvent {
  op: Op;
  type: EventType;
  table: string;
  /** After-image; before-image for a delete. */
  row: Row;
  previous: Row | null;
  /** Columns whose value Debezium did not have (unchanged TOAST) and that are therefore absent from `row`. */
  unchanged: string[];
  /** The record key's payload (schema envelope removed), or null. */
  key: Json | null;
  source: SourcePosition;
  /** The value held numbers that need exact handling (bigint / LosslessNumber): serialise with stringifyExact. */
  lossless: boolean;
}

export type IgnoredReason = 'tombstone' | 'heartbeat' | 'transaction' | 'truncate';
export type DecodeResult =
  | { kind: 'change'; event: ChangeEvent }
  | { kind: 'ignored'; reason: IgnoredReason }
  | { kind: 'poison'; code: PoisonCode; reason: string };

/** Low-cardinality reason codes (the metric label); `reason` carries the detail. */
export type PoisonCode =
  'invalid_json' | 'not_a_change_event' | 'unknown_op' | 'bad_source' | 'bad_row' | 'undecodable';

export interface RawRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
}

export const UNAVAILABLE = '__debezium_unavailable_value';
const UNAVAILABLE_BASE64 = Buffer.from(UNAVAILABLE).toString('base64');
const UNAVAILABLE_BYTES = [...Buffer.from(UNAVAILABLE)];

const TYPES: Record<Op, EventType> = {
  c: 'package_status.created',
  u: 'package_status.updated',
  d: 'package_status.deleted',
  r: 'package_status.snapshot',
};

class Poison extends Error {
  constructor(
    readonly code: PoisonCode,
    message: string,
  ) {
    super(message);
  }
}

function text(input: Buffer | string): string {
  return typeof input === 'string' ? input : input.toString('utf8');
}

/** Where a `"ts_us":` or `"ts_ns":` key starts its value in `raw` at `i` (the key's opening quote), or -1. */
function timestampValueAt(raw: string, i: number): number {
  const unit = raw.charCodeAt(i + 4);
  return (unit === 117 || unit === 110) && raw.startsWith('s":', i + 5) ? i + 8 : -1; // u, n
}

/** How many of the envelope's and the source block's `ts_us` / `ts_ns` hold numbers. */
function timestampFields(doc: Json): number {
  const { payload } = unwrap(doc);
  let n = 0;
  for (const o of [payload, isObject(payload) ? payload.source : null]) {
    if (!isObject(o)) continue;
    if (typeof o.ts_us === 'number') n += 1;
    if (typeof o.ts_ns === 'number') n += 1;
  }
  return n;
}

/**
 * A change event's value, exact where it is read. Debezium 2.x writes `ts_us` and `ts_ns` (19 digits) in
 * the envelope and in the source block of every event, which would send every event to the exact parser
 * (~5× slower than the native one, and the exact serialiser after it), though nothing here reads them
 * (the commit time is `ts_ms`). When every long number in the text is one of those — every `"ts_us":` /
 * `"ts_ns":` key in the text holds a plain integer (as the JsonConverter writes it: compact, followed by
 * `,` or `}`), each in the envelope or the source block (a row column of that name counts against it),
 * and no other run of 16 digits is in the text — the native parse is exact for everything read; only
 * those unread timestamps are rounded.
 */
function parseValue(raw: string): { value: Json; lossless: boolean } {
  const long = longDigitRuns(raw);
  if (long > 0) {
    const value = nativeWhenOnlyTimestampsAreLong(raw, long);
    if (value !== undefined) return { value, lossless: false };
    return { value: parseExact(raw), lossless: true };
  }
  return { value: JSON.parse(raw) as Json, lossless: false };
}

/** The native parse of `raw` (holding `long` runs of 16+ digits) when only the timestamps are long. */
function nativeWhenOnlyTimestampsAreLong(raw: string, long: number): Json | undefined {
  let keys = 0;
  let longTimestamps = 0;
  for (let i = raw.indexOf('"ts_'); i !== -1; i = raw.indexOf('"ts_', i + 1)) {
    const start = timestampValueAt(raw, i);
    if (start < 0) continue;
    keys += 1;
    let end = start;
    while (end < raw.length && raw.charCodeAt(end) >= 48 && raw.charCodeAt(end) <= 57) end += 1;
    const next = raw.charCodeAt(end);
    if (end === start || (next !== 44 && next !== 125)) return undefined; // not a plain integer: , or }
    if (end - start >= 16) longTimestamps += 1;
    i = end;
  }
  if (keys === 0 || longTimestamps !== long) return undefined;
  const value = JSON.parse(raw) as Json;
  return timestampFields(value) === keys ? value : undefined;
}

function parse(input: Buffer | string, what: string): { value: Json; lossless: boolean } {
  try {
    return parseValue(text(input));
  } catch (err) {
    throw new Poison('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `{schema, payload}` (JsonConverter schemas.enable=true) or `{payload}` → payload, plus the schema if any. */
function unwrap(doc: Json): { payload: Json; schema: JsonObject | null } {
  if (isObject(doc) && 'payload' in doc) {
    const keys = Object.keys(doc);
    if (keys.every((k) => k === 'payload' || k === 'schema')) {
      return { payload: doc.payload ?? null, schema: isObject(doc.schema) ? doc.schema : null };
    }
  }
  return { payload: doc, schema: null };
}

function isHeartbeat(topic: string, payload: JsonObject): boolean {
  if (topic.startsWith('__debezium-heartbeat')) return true;
  const keys = Object.keys(payload);
  return keys.length > 0 && keys.every((k) => k === 'ts_ms');
}

function isTransactionMetadata(payload: JsonObject): boolean {
  return (
    (payload.status === 'BEGIN' || payload.status === 'END') &&
    typeof payload.id === 'string' &&
    !('op' in payload)
  );
}

function isPlaceholder(value: Json): boolean {
  if (value === UNAVAILABLE || value === UNAVAILABLE_BASE64) return true;
  if (Array.isArray(value)) {
    if (value.length === 1 && value[0] === UNAVAILABLE) return true;
    if (value.length === UNAVAILABLE_BYTES.length && value.every((v, i) => v === UNAVAILABLE_BYTES[i]))
      return true;
  }
  return false;
}

function position(source: JsonObject, envelopeTsMs: Json | undefined): SourcePosition {
  const schema = typeof source.schema === 'string' ? source.schema : null;
  const table = typeof source.table === 'string' ? source.table : null;
  if (table === null) throw new Poison('bad_source', 'source.table is missing');
  const lsn = source.lsn == null ? null : scalarText(source.lsn);
  if (lsn === undefined || (lsn !== null && !/^\d+$/.test(lsn)))
    throw new Poison('bad_source', 'source.lsn is not a non-negative integer');
  const sequence = typeof source.sequence === 'string' ? source.sequence : null;
  // Without a position the change has no stable identity: a re-send could not be recognised.
  if (lsn === null && sequence === null)
    throw new Poison('bad_source', 'source has no position (neither lsn nor sequence)');
  const txRaw = source.txId;
  const txId = txRaw == null ? null : typeof txRaw === 'number' ? txRaw : (scalarText(txRaw) ?? null);
  const ts = commitTime(source.ts_ms, 'source.ts_ms') ?? commitTime(envelopeTsMs, 'ts_ms');
  const snap = source.snapshot;
  const snapshot = snap === true || (typeof snap === 'string' && snap !== 'false');
  return {
    name: typeof source.name === 'string' ? source.name : '',
    db: typeof source.db === 'string' ? source.db : null,
    table: schema ? `${schema}.${table}` : table,
    lsn,
    txId,
    tsMs: ts,
    snapshot,
    sequence,
  };
}

/** A commit time in ms since the epoch, within what a Date can hold; absent → null; anything else is poison. */
function commitTime(value: Json | undefined, what: string): number | null {
  if (value === undefined || value === null) return null;
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : NaN;
  if (!Number.isInteger(n) || Math.abs(n) > 8.64e15)
    throw new Poison('bad_source', `${what} is not a time in milliseconds (${canonical(value)})`);
  return n;
}

function image(value: Json | undefined, which: string): Row | null {
  if (value == null) return null;
  if (!isObject(value)) throw new Poison('bad_row', `${which} is not an object`);
  if (Object.keys(value).length === 0) throw new Poison('bad_row', `${which} has no columns`);
  return value;
}

/** Drop or fill unchanged-TOAST placeholders. Returns the cleaned row and the columns left unknown. */
function resolveUnchanged(row: Row, before: Row | null): { row: Row; unchanged: string[] } {
  let out: Row | null = null;
  const unchanged: string[] = [];
  for (const [col, value] of Object.entries(row)) {
    if (!isPlaceholder(value)) continue;
    out ??= { ...row };
    const known = before?.[col];
    if (known !== undefined && known !== null && !isPlaceholder(known)) {
      out[col] = known;
    } else {
      delete out[col];
      unchanged.push(col);
    }
  }
  return { row: out ?? row, unchanged };
}

function stripPlaceholders(row: Row | null): Row | null {
  if (row === null) return null;
  return resolveUnchanged(row, null).row;
}

function decodeKey(key: Buffer | string | null): Json | null {
  if (key === null) return null;
  const raw = text(key);
  try {
    return unwrap(parseFast(raw).value).payload;
  } catch {
    // StringConverter keys (e.g. a bare package id) are not JSON: keep the text.
    return raw;
  }
}

export function decodeRecord(input: RawRecord): DecodeResult {
  try {
    return decodeOrThrow(input);
  } catch (err) {
    if (err instanceof Poison) return { kind: 'poison', code: err.code, reason: err.message };
    return { kind: 'poison', code: 'undecodable', reason: `undecodable: ${(err as Error).message}` };
  }
}

function decodeOrThrow(input: RawRecord): DecodeResult {
  if (input.value === null || (Buffer.isBuffer(input.value) && input.value.length === 0)) {
    return { kind: 'ignored', reason: 'tombstone' };
  }
  const parsed = parse(input.value, 'value');
  const { payload, schema } = unwrap(parsed.value);
  if (!isObject(payload))
    throw new Poison('not_a_change_event', 'value is not a Debezium change event (payload is not an object)');
  if (isHeartbeat(input.topic, payload)) return { kind: 'ignored', reason: 'heartbeat' };
  if (isTransactionMetadata(payload)) return { kind: 'ignored', reason: 'transaction' };

  const op = payload.op;
  if (op === undefined)
    throw new Poison('not_a_change_event', 'value is not a Debezium change event (no op field)');
  if (op === 't') return { kind: 'ignored', reason: 'truncate' };
  if (op !== 'c' && op !== 'u' && op !== 'd' && op !== 'r')
    throw new Poison('unknown_op', `unknown op ${canonical(op)}`);
  if (!isObject(payload.source)) throw new Poison('bad_source', 'source block is missing');
  const source = position(payload.source, payload.ts_ms);

  const rowSchema = schema ? rowSchemaOf(schema) : null;
  const convert = (row: Row | null): Row | null =>
    row && rowSchema ? convertLogicalTypes(row, rowSchema) : row;
  const before = convert(image(payload.before, 'before'));
  const after = convert(image(payload.after, 'after'));

  let row: Row;
  let unchanged: string[] = [];
  if (op === 'd') {
    if (!before) throw new Poison('bad_row', 'delete without a before-image');
    row = stripPlaceholders(before) ?? before;
  } else {
    if (!after) throw new Poison('bad_row', `op ${op} without an after-image`);
    ({ row, unchanged } = resolveUnchanged(after, before));
  }
  return {
    kind: 'change',
    event: {
      op,
      type: TYPES[op],
      table: source.table,
      row,
      previous: stripPlaceholders(before),
      unchanged,
      key: decodeKey(input.key),
      source,
      lossless: parsed.lossless,
    },
  };
}
