/**
 * Outbox EventRouter record decoder (pure).
 *
 * What Debezium's outbox EventRouter (`io.debezium.transforms.outbox.EventRouter`) writes to Kafka, read the
 * way README "Outbox source" describes it:
 *
 *   header `id`         the outbox row's id: the event id (required)
 *   header `eventType`  optional (`table.fields.additional.placement=type:header:eventType`)
 *   key                 the aggregate id: a JSON string (JsonConverter), `{schema, payload}` around it, or
 *                       plain text (StringConverter)
 *   value               the outbox payload, any of:
 *                         {"id":1,…}                        raw JSON text (StringConverter) or an expanded
 *                                                           object (`table.expand.json.payload=true`)
 *                         "{\"id\":1,…}"                    a JSON string holding it (JsonConverter)
 *                         {"schema":…,"payload":<either>}   the same inside JsonConverter's envelope
 *                         {"schema":{struct …Value},"payload":{"payload":…,"eventType":…}}
 *                                                           envelope placement of additional fields
 *
 *   value null, or an empty payload   → ignored: tombstone (the EventRouter's delete/empty-payload record)
 *   no `id` header, or an unusable one → poison (missing_id / bad_id)
 *   a payload that is not a JSON object → poison (invalid_json / bad_payload): routing reads its fields
 *
 * Without schemas, `{"payload":…,"eventType":…}` cannot be told from an expanded payload that happens to have
 * those fields, so the envelope placement is recognised only when its schema says so.
 */
import { canonical, isObject, parseFast, scalarText } from './json.ts';
import type { Json, JsonObject } from './json.ts';

export interface OutboxRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | undefined>;
  /** The Kafka record timestamp (ms since epoch, as text); the EventRouter sets Debezium's `ts_ms`. */
  timestamp?: string;
}

export interface OutboxEvent {
  /** The outbox event id (header `id`): the webhook id. */
  id: string;
  /** Header `eventType`, else an `eventType` field placed in the envelope, else null. */
  eventType: string | null;
  /** The record key as text (the outbox `aggregateid`), or null when the record has none. */
  aggregateId: string | null;
  payload: JsonObject;
  /** The payload held numbers that need exact handling: serialise with stringifyExact. */
  lossless: boolean;
  /** The record timestamp in ms, or null. */
  timestampMs: number | null;
}

/** Low-cardinality reason codes (the metric label); `reason` carries the detail. */
export type OutboxPoisonCode = 'missing_id' | 'bad_id' | 'invalid_json' | 'bad_payload' | 'undecodable';

export type OutboxDecodeResult =
  | { kind: 'event'; event: OutboxEvent }
  | { kind: 'ignored'; reason: 'tombstone' }
  | { kind: 'poison'; code: OutboxPoisonCode; reason: string };

/** Ids travel as the `webhook-id` HTTP header: visible ASCII, no spaces, bounded. */
const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

class Poison extends Error {
  constructor(
    readonly code: OutboxPoisonCode,
    message: string,
  ) {
    super(message);
  }
}

function text(input: Buffer | string): string {
  return typeof input === 'string' ? input : input.toString('utf8');
}

/** JsonConverter's `{schema, payload}` (both keys, nothing else) → payload and schema; anything else as is. */
function unwrap(doc: Json): { payload: Json; schema: JsonObject | null } {
  if (isObject(doc) && 'payload' in doc && 'schema' in doc && Object.keys(doc).length === 2) {
    return { payload: doc.payload ?? null, schema: isObject(doc.schema) ? doc.schema : null };
  }
  return { payload: doc, schema: null };
}

/**
 * A header's text. Kafka Connect's default SimpleHeaderConverter writes a string as it is; a JsonConverter
 * header converter writes a JSON string (`"…"`), or `{schema, payload}` around it when schemas are on.
 */
function headerText(raw: Buffer | string | undefined): string | null {
  if (raw === undefined) return null;
  const value = text(raw);
  const first = value.trimStart()[0];
  if (first !== '"' && first !== '{') return value;
  try {
    const { payload } = unwrap(JSON.parse(value) as Json);
    const scalar = scalarText(payload);
    if (scalar !== undefined) return scalar;
  } catch {
    // not JSON: the text itself
  }
  return value;
}

function headerOf(record: OutboxRecord, name: string): string | null {
  const headers = record.headers;
  // Kafka header names are case-sensitive: `id` and `eventType`, as the EventRouter writes them.
  if (!headers || !Object.hasOwn(headers, name)) return null;
  return headerText(headers[name]);
}

function eventIdOf(record: OutboxRecord): string {
  const id = headerOf(record, 'id');
  if (id === null || id === '') {
    throw new Poison(
      'missing_id',
      'no `id` header: the outbox EventRouter puts the outbox row id there, and it is the webhook id',
    );
  }
  if (!ID_PATTERN.test(id)) {
    throw new Poison(
      'bad_id',
      `the \`id\` header ${JSON.stringify(id.slice(0, 80))} is not 1–256 visible ASCII characters (it becomes the webhook-id header)`,
    );
  }
  return id;
}

function aggregateIdOf(key: Buffer | string | null): string | null {
  if (key === null) return null;
  const raw = text(key);
  if (raw === '') return null;
  let doc: Json;
  try {
    doc = unwrap(JSON.parse(raw) as Json).payload;
  } catch {
    return raw; // StringConverter: the aggregate id as plain text
  }
  if (doc === null) return null;
  return scalarText(doc) ?? canonical(doc);
}

function parsePayloadText(value: string, what: string): { value: Json; lossless: boolean } {
  try {
    return parseFast(value);
  } catch (err) {
    throw new Poison('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** An `{schema, payload}` value whose schema is the EventRouter's `…Value` struct with a `payload` field. */
function isEnvelopePlacement(schema: JsonObject | null): boolean {
  if (schema === null || schema.type !== 'struct' || schema.name === 'payload') return false;
  const fields = schema.fields;
  return Array.isArray(fields) && fields.some((f) => isObject(f) && f.field === 'payload');
}

function timestampOf(record: OutboxRecord): number | null {
  if (record.timestamp === undefined) return null;
  const ms = Number(record.timestamp);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

export function decodeOutboxRecord(record: OutboxRecord): OutboxDecodeResult {
  try {
    return decodeOrThrow(record);
  } catch (err) {
    if (err instanceof Poison) return { kind: 'poison', code: err.code, reason: err.message };
    return { kind: 'poison', code: 'undecodable', reason: `undecodable: ${(err as Error).message}` };
  }
}

function decodeOrThrow(record: OutboxRecord): OutboxDecodeResult {
  if (record.value === null || (Buffer.isBuffer(record.value) && record.value.length === 0)) {
    return { kind: 'ignored', reason: 'tombstone' };
  }
  const id = eventIdOf(record);
  const parsed = parsePayloadText(text(record.value), 'value');
  let lossless = parsed.lossless;
  const unwrapped = unwrap(parsed.value);
  const schema = unwrapped.schema;
  let payload = unwrapped.payload;

  let envelopeType: string | null = null;
  if (isEnvelopePlacement(schema) && isObject(payload)) {
    const placedType = payload.eventType;
    envelopeType = typeof placedType === 'string' ? placedType : null;
    payload = payload.payload ?? null;
  }
  // The payload column as JSON text (JsonConverter without expansion, io.debezium.data.Json): parse it.
  if (typeof payload === 'string') {
    if (payload.trim() === '') return { kind: 'ignored', reason: 'tombstone' };
    const inner = parsePayloadText(payload, 'the payload string');
    payload = inner.value;
    lossless ||= inner.lossless;
  }
  if (payload === null) return { kind: 'ignored', reason: 'tombstone' };
  if (!isObject(payload)) {
    const what = Array.isArray(payload) ? 'an array' : `a ${typeof payload}`;
    throw new Poison(
      'bad_payload',
      `the payload is ${what}, not a JSON object: customers' match rules read its top-level fields`,
    );
  }
  return {
    kind: 'event',
    event: {
      id,
      eventType: headerOf(record, 'eventType') || envelopeType,
      aggregateId: aggregateIdOf(record.key),
      payload,
      lossless,
      timestampMs: timestampOf(record),
    },
  };
}
