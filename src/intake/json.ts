/**
 * Exact JSON for change events. Debezium writes int64 columns, LSNs and `ts_ns` as JSON numbers that can
 * exceed 2^53; `JSON.parse` would silently round them. Integers that are not safe become `bigint`; other
 * numbers that would lose digits stay `LosslessNumber`; everything else is an ordinary number. `stringify`
 * writes both back exactly.
 */
import { isInteger, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export type Json =
  null | boolean | number | bigint | string | LosslessNumber | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function parseNumber(text: string): number | bigint | LosslessNumber {
  if (isSafeNumber(text)) return Number(text);
  if (isInteger(text)) return BigInt(text);
  return new LosslessNumber(text);
}

export function parseExact(text: string): Json {
  return parse(text, null, parseNumber) as Json;
}

// A number can only lose digits in JSON.parse if it has 16 or more of them in a row (2^53 has 16 digits;
// doubles as Debezium/Java write them round-trip exactly). Most change events have none: those take the
// native parser, several times faster.
const LONG = 16;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * How many runs of 16 or more digits `text` holds. The regex /\d{16}/ restarts at every digit of every
 * shorter run (a 13-digit `ts_ms` costs it 13 tries) and took a fifth of the decoder's time on a 600-byte
 * change event. This scan skips instead: a run of 16 starting at or after `i` must cover `i + 15`, so when
 * that character is not a digit the run can only start after it; when it is, the digits before it are
 * checked back to the first non-digit, which the next try starts after. Most characters are never read.
 */
export function longDigitRuns(text: string): number {
  let runs = 0;
  let i = 0; // the earliest position a run may still start at
  while (i + LONG <= text.length) {
    const last = i + LONG - 1;
    if (!isDigit(text.charCodeAt(last))) {
      i = last + 1;
      continue;
    }
    let q = last - 1;
    while (q >= i && isDigit(text.charCodeAt(q))) q -= 1;
    if (q >= i) {
      i = q + 1; // a non-digit inside the window: a run starts after it
      continue;
    }
    // i … last are all digits: one run; it ends at the next non-digit.
    runs += 1;
    let end = last + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
    i = end + 1;
  }
  return runs;
}

/** Whether JSON.parse might round a number of `text` (a run of 16 digits somewhere in it). */
export function mayLoseDigits(text: string): boolean {
  return longDigitRuns(text) > 0;
}

/** Exact parse, native when that is already exact. `lossless` says whether bigint/LosslessNumber may occur. */
export function parseFast(text: string): { value: Json; lossless: boolean } {
  if (!mayLoseDigits(text)) return { value: JSON.parse(text) as Json, lossless: false };
  return { value: parseExact(text), lossless: true };
}

export function stringifyExact(value: unknown): string {
  const out = stringify(value);
  if (out === undefined) throw new TypeError('value cannot be serialised as JSON');
  return out;
}

export function isObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber)
  );
}

/** A JSON scalar as text, for identity and routing: 42, 42n and "42" all give "42". */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof LosslessNumber) return value.toString();
  return undefined;
}

/** Canonical JSON (keys sorted) so that the same value always hashes the same, whatever the field order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'bigint' || value instanceof LosslessNumber) return value.toString();
  return JSON.stringify(value);
}
