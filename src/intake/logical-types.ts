/**
 * Debezium / Kafka Connect logical types → values a webhook receiver can read. Only possible when the
 * JsonConverter schema envelope is on; without it the values pass through as Debezium wrote them.
 *
 *   Decimal (base64 two's complement + scale)   → "12345.67"
 *   VariableScaleDecimal {scale, value}         → "3.14159"
 *   Date (days since epoch)                     → "1999-09-09"
 *   Timestamp / MicroTimestamp / NanoTimestamp  → "2011-11-11T03:11:11.123456" (no zone: the column has none)
 * Other types (ZonedTimestamp, Uuid, Json, Enum, times, intervals, arrays) are already readable text or numbers.
 */
import { isObject, scalarText } from './json.ts';
import type { Json, JsonObject } from './json.ts';

export type RowSchema = Map<string, JsonObject>;

/** The field schemas of the row struct (the `after`, else `before`, field of the envelope schema). */
export function rowSchemaOf(envelope: JsonObject): RowSchema | null {
  const fields = envelope.fields;
  if (!Array.isArray(fields)) return null;
  const rowField =
    fields.find((f) => isObject(f) && f.field === 'after') ??
    fields.find((f) => isObject(f) && f.field === 'before');
  if (!isObject(rowField) || !Array.isArray(rowField.fields)) return null;
  const map: RowSchema = new Map();
  for (const f of rowField.fields) {
    if (isObject(f) && typeof f.field === 'string') map.set(f.field, f);
  }
  return map;
}

function bytesToBigInt(b64: string): bigint {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) return 0n;
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  // two's complement
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

export function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

function isoLocal(ms: bigint, subMsDigits: string): string {
  const iso = new Date(Number(ms)).toISOString().slice(0, -1); // drop Z: the column has no zone
  return subMsDigits ? `${iso}${subMsDigits}` : iso;
}

function timestampText(value: bigint, unitsPerMs: bigint, fractionDigits: number): string {
  let ms = value / unitsPerMs;
  let rest = value % unitsPerMs;
  if (rest < 0n) {
    ms -= 1n;
    rest += unitsPerMs;
  }
  return isoLocal(ms, fractionDigits > 0 ? rest.toString().padStart(fractionDigits, '0') : '');
}

function toBigInt(value: Json): bigint | null {
  const t = scalarText(value);
  return t !== undefined && /^-?\d+$/.test(t) ? BigInt(t) : null;
}

function convertValue(value: Json, schema: JsonObject): Json {
  if (value === null) return null;
  const name = schema.name;
  const params = isObject(schema.parameters) ? schema.parameters : {};
  switch (name) {
    case 'org.apache.kafka.connect.data.Decimal': {
      if (typeof value !== 'string') return value; // decimal.handling.mode=double|string already readable
      const scale = Number(params.scale ?? 0);
      return decimalText(bytesToBigInt(value), scale);
    }
    case 'io.debezium.data.VariableScaleDecimal': {
      if (!isObject(value) || typeof value.value !== 'string') return value;
      return decimalText(bytesToBigInt(value.value), Number(value.scale ?? 0));
    }
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date': {
      const days = toBigInt(value);
      return days === null ? value : new Date(Number(days) * 86_400_000).toISOString().slice(0, 10);
    }
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp': {
      const ms = toBigInt(value);
      return ms === null ? value : timestampText(ms, 1n, 0);
    }
    case 'io.debezium.time.MicroTimestamp': {
      const us = toBigInt(value);
      return us === null ? value : timestampText(us, 1000n, 3);
    }
    case 'io.debezium.time.NanoTimestamp': {
      const ns = toBigInt(value);
      return ns === null ? value : timestampText(ns, 1_000_000n, 6);
    }
    default:
      return value;
  }
}

export function convertLogicalTypes(row: Record<string, Json>, schema: RowSchema): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [col, value] of Object.entries(row)) {
    const fieldSchema = schema.get(col);
    out[col] = fieldSchema ? convertValue(value, fieldSchema) : value;
  }
  return out;
}
