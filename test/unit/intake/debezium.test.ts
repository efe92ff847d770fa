import { describe, expect, it } from 'vitest';
import { decodeRecord, UNAVAILABLE } from '../../../src/intake/debezium.ts';
import type { ChangeEvent, DecodeResult } from '../../../src/intake/debezium.ts';
import { eventId, serialiseBody, webhookBody } from '../../../src/routing/webhook.ts';
import { convertLogicalTypes, rowSchemaOf } from '../../../src/intake/logical-types.ts';
import { parseExact } from '../../../src/intake/json.ts';
import type { JsonObject } from '../../../src/intake/json.ts';
import { fixture, manifest, recordsOf } from '../../fixtures/debezium-fixtures.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_DIR } from '../../fixtures/debezium-fixtures.ts';

const summary = (r: DecodeResult): string =>
  r.kind === 'change' ? r.event.op : r.kind === 'ignored' ? `ignored:${r.reason}` : `poison:${r.code}`;

function decodeAll(file: string): DecodeResult[] {
  return recordsOf(fixture(file)).map((r) => decodeRecord(r));
}

function changes(file: string): ChangeEvent[] {
  return decodeAll(file).flatMap((r) => (r.kind === 'change' ? [r.event] : []));
}

// What every fixture must decode to, record by record.
const EXPECTED: Record<string, string[]> = {
  a1: ['c'],
  'a2-read': ['r'],
  a3: ['r', 'c', 'u'],
  a5: ['c'],
  b1: ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'u', 'u', 'c', 'c', 'u', 'u', 'd'],
  b2: ['r', 'r', 'd', 'u', 'c'],
  c1: ['r', 'r', 'r', 'u'],
  d1: ['d'],
  d2: ['d', 'ignored:tombstone', 'd', 'ignored:tombstone'],
  d3: ['d', 'ignored:tombstone'],
  e1: ['r', 'r', 'r', 'r'],
  e3: ['r'],
  f1: ['ignored:truncate'],
  f2: ['ignored:truncate'],
  g2: ['r'],
  g3: ['r', 'r', 'r'],
  g4: ['u'],
  g5: ['u'],
  // The outbox table's own change decodes; what the EventRouter emits is not a change event of a table.
  h1: ['c', 'poison:not_a_change_event'],
  h2: ['poison:not_a_change_event', 'poison:not_a_change_event'],
  h3: ['poison:not_a_change_event'],
  h4: ['poison:not_a_change_event', 'poison:not_a_change_event', 'poison:not_a_change_event'],
  i1: ['ignored:heartbeat', 'ignored:heartbeat'],
  i2: ['ignored:transaction', 'ignored:transaction'],
  i3: ['ignored:transaction', 'c', 'c', 'c', 'c', 'c', 'ignored:transaction'],
  i4: ['ignored:transaction', 'c', 'c', 'ignored:transaction'],
};

describe('Debezium fixtures', () => {
  it('covers every fixture in the manifest', () => {
    const files = manifest().filter((m) => m.content !== 'key' && m.content !== '-');
    for (const m of files) {
      const key = Object.keys(EXPECTED).find((k) => m.file.startsWith(k));
      expect(key, `no expectation for ${m.file}`).toBeDefined();
    }
  });

  it.each(Object.entries(EXPECTED))('%s decodes record by record as expected', (file, expected) => {
    expect(decodeAll(file).map(summary)).toEqual(expected);
  });

  it('a3 (2.7.1, schema envelope): key payload, op, row and REPLICA IDENTITY DEFAULT update', () => {
    const [r, c, u] = changes('a3');
    expect(r!.key).toEqual({ id: 1 });
    expect(r!.source.snapshot).toBe(true);
    expect(c!.source.snapshot).toBe(false);
    expect(c!.type).toBe('package_status.created');
    expect(u!.previous).toBeNull();
    expect(u!.source.table).toBe('public.persons');
    expect(typeof u!.source.lsn).toBe('string');
  });

  it('b1 (REPLICA IDENTITY FULL): update carries the previous row, delete the before-image', () => {
    const events = changes('b1');
    const update = events.find((e) => e.op === 'u')!;
    expect(update.previous).toMatchObject({ id: 106, description: "16oz carpenter's hammer" });
    expect(update.row).toMatchObject({ id: 106, description: '18oz carpenter hammer' });
    const del = events.find((e) => e.op === 'd')!;
    expect(del.row).toEqual({ id: 111, name: 'scooter', description: 'Big 2-wheel scooter ', weight: 5.17 });
    expect(del.type).toBe('package_status.deleted');
  });

  it('b2 (REPLICA IDENTITY DEFAULT): delete before-image holds the key and type defaults', () => {
    const del = changes('b2').find((e) => e.op === 'd')!;
    expect(del.row).toEqual({ id: 1, first_name: '', last_name: '', email: '' });
    expect(changes('b2').find((e) => e.op === 'u')!.previous).toBeNull();
  });

  it('d2 (0.8.2 legacy source): boolean snapshot, no connector field, commit time from the envelope', () => {
    const [d] = changes('d2');
    expect(d!.row).toEqual({ id: 'id1       ', code: null });
    expect(d!.source.snapshot).toBe(false);
    expect(d!.source.tsMs).toBe(1536580521895);
    expect(d!.source.lsn).toBe('3322629136');
  });

  it('schema envelope: Decimal, MicroTimestamp and Date become readable values', () => {
    const [film] = changes('a2-read');
    expect(film!.row.rental_rate).toBe('4.99');
    expect(film!.row.replacement_cost).toBe('24.99');
    expect(film!.row.special_features).toEqual(['Trailers', 'Commentaries']);
    const [payment] = changes('g2');
    expect(payment!.row.amount).toBe('2.99');
    expect(payment!.row.payment_date).toMatch(/^2007-05-14T\d\d:\d\d:\d\d\.996577$/);
  });

  it('schemaless values pass through unchanged (no schema, no guessing)', () => {
    const [first] = changes('g3');
    expect(first!.row.o_timestamp_6).toBe(1321009871123456);
    expect(first!.row.o_date).toBe('1999-09-09');
  });

  it('g5: unchanged TOAST placeholders (text, bytea, text[]) are never delivered as values', () => {
    const [e] = changes('g5');
    expect(e!.unchanged.sort()).toEqual(['big_tags', 'bio', 'blob']);
    const body = JSON.stringify(e!.row);
    expect(body).not.toContain(UNAVAILABLE);
    expect(body).not.toContain(Buffer.from(UNAVAILABLE).toString('base64'));
    expect(e!.row.price).toBe('12345.67');
    expect(e!.row.amount).toBe('3.14159');
    expect(e!.row.d).toBe('2024-05-01');
  });

  it('g4: unchanged TOAST in a schemaless update', () => {
    const [e] = changes('g4');
    expect(e!.unchanged).toEqual(['biography']);
    expect(e!.row).not.toHaveProperty('biography');
  });

  it('a TOAST placeholder is filled from a full before-image when it has the value', () => {
    const value = JSON.stringify({
      before: { id: 1, bio: 'long text' },
      after: { id: 1, bio: UNAVAILABLE },
      source: { name: 's', schema: 'public', table: 't', lsn: 1, txId: 1, ts_ms: 1, snapshot: 'false' },
      op: 'u',
    });
    const r = decodeRecord({ topic: 't', key: null, value });
    expect(r.kind === 'change' && r.event.row).toEqual({ id: 1, bio: 'long text' });
    expect(r.kind === 'change' && r.event.unchanged).toEqual([]);
  });

  it('e1: the stale Enum "allowed" list is not used to validate snapshot', () => {
    const events = changes('e1');
    expect(events.every((e) => e.source.snapshot)).toBe(true);
  });

  it('e3: incremental snapshot rows have no LSN and still get a stable identity', () => {
    const [e] = changes('e3');
    expect(e!.source.lsn).toBeNull();
    expect(eventId(e!)).toBe(eventId(changes('e3')[0]!));
  });

  it('g6 decimal handling modes: precise → exact text, double and string pass through', () => {
    const doc = JSON.parse(
      readFileSync(join(FIXTURE_DIR, 'g6-decimal-handling-modes-fragments-reconstructed.json'), 'utf8'),
    ) as Record<string, Record<string, { schema: JsonObject; value: unknown }>>;
    const expected: Record<string, { price: unknown; amount: unknown }> = {
      precise: { price: '12345.67', amount: '3.14159' },
      double: { price: 12345.67, amount: 3.14159 },
      string: { price: '12345.67', amount: '3.14159' },
    };
    for (const [mode, fields] of Object.entries(doc)) {
      const envelope = {
        fields: [{ field: 'after', fields: Object.values(fields).map((f) => f.schema) }],
      } as unknown as JsonObject;
      const row = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value])) as JsonObject;
      expect(convertLogicalTypes(row, rowSchemaOf(envelope)!), mode).toEqual(expected[mode]);
    }
  });

  it('field order is never assumed: the same event with shuffled keys decodes identically', () => {
    const [e] = changes('a5');
    const original = recordsOf(fixture('a5'))[0]!;
    const obj = parseExact(original.value as string) as JsonObject;
    const shuffled = Object.fromEntries(Object.entries(obj).reverse());
    const again = decodeRecord({ topic: 't', key: null, value: JSON.stringify(shuffled) });
    expect(again.kind === 'change' && again.event).toEqual(e);
  });
});

describe('poison and edge cases', () => {
  const base = {
    before: null,
    after: { id: 1, package_id: 'PKG-1', customer_id: 'customer-1' },
    source: { name: 'dbserver1', schema: 'public', table: 'package_status', lsn: 100, txId: 5, ts_ms: 1000 },
    op: 'c',
  };
  it.each([
    ['not JSON', '{"before":', 'invalid_json'],
    ['a JSON string', '"hello"', 'not_a_change_event'],
    ['no op', JSON.stringify({ ...base, op: undefined }), 'not_a_change_event'],
    ['unknown op', JSON.stringify({ ...base, op: 'x' }), 'unknown_op'],
    ['no source', JSON.stringify({ ...base, source: undefined }), 'bad_source'],
    ['create without after', JSON.stringify({ ...base, after: null }), 'bad_row'],
    ['delete without before', JSON.stringify({ ...base, op: 'd', after: null }), 'bad_row'],
    ['after is an array', JSON.stringify({ ...base, after: [1] }), 'bad_row'],
  ])('%s is poison (%s)', (_name, value, code) => {
    const r = decodeRecord({ topic: 't', key: null, value });
    expect(r.kind).toBe('poison');
    expect(r.kind === 'poison' && r.code).toBe(code);
    expect(r.kind === 'poison' && r.reason.length).toBeGreaterThan(5);
  });

  it('an empty value is a tombstone', () => {
    expect(decodeRecord({ topic: 't', key: 'k', value: Buffer.alloc(0) })).toEqual({
      kind: 'ignored',
      reason: 'tombstone',
    });
  });

  it('takes the native parser when no number can lose digits, the exact one otherwise', () => {
    const plain = decodeRecord({ topic: 't', key: null, value: JSON.stringify(base) });
    expect(plain.kind === 'change' && plain.event.lossless).toBe(false);
    const big = JSON.stringify(base).replace('"lsn":100', '"lsn":12345678901234567');
    const exact = decodeRecord({ topic: 't', key: null, value: big });
    expect(exact.kind === 'change' && exact.event.source.lsn).toBe('12345678901234567');
    expect(exact.kind === 'change' && exact.event.lossless).toBe(true);
  });

  // Debezium 2.x: ts_us and ts_ns in the envelope and the source block (ts_ns has 19 digits).
  const v2 = (extra: { row?: string; source?: string; envelope?: string } = {}) =>
    '{"before":null,"after":{"id":1,"package_id":"PKG-1","customer_id":"customer-1"' +
    (extra.row ?? '') +
    '},"source":{"name":"dbserver1","ts_ms":1764100600500,"ts_us":1764100600500600,' +
    (extra.source ?? '"ts_ns":1764100600500600700') +
    ',"schema":"public","table":"package_status","lsn":100,"txId":5},"op":"c","ts_ms":1764100600501' +
    (extra.envelope ?? ',"ts_us":1764100600501200,"ts_ns":1764100600501200300') +
    '}';
  it.each([
    ['only the envelope and source timestamps are long: native', v2(), false],
    ['a row column named ts_ns beyond 2^53: exact', v2({ row: ',"ts_ns":1234567890123456789' }), true],
    ['a row integer beyond 2^53 beside the timestamps: exact', v2({ row: ',"seq":9007199254740993' }), true],
    ['16 digits in a row string: exact', v2({ row: ',"ref":"4111111111111111"' }), true],
    ['ts_ns null in the source: exact', v2({ source: '"ts_ns":null' }), true],
    ['ts_ns written with a space: exact', v2({ source: '"ts_ns": 1764100600500600700' }), true],
    ['ts_ns as a decimal: exact', v2({ source: '"ts_ns":1764100600500600700.5' }), true],
    [
      'a ts_ns inside a row string, escaped: exact',
      v2({ row: ',"note":"\\"ts_ns\\":1234567890123456789"' }),
      true,
    ],
    [
      'only ts_us is long in the source, none in the envelope: native',
      v2({ source: '"ts_ns":1', envelope: '' }),
      false,
    ],
  ])('%s', (_name, value, lossless) => {
    const r = decodeRecord({ topic: 't', key: null, value });
    if (r.kind !== 'change') throw new Error(`expected a change: ${JSON.stringify(r)}`);
    expect(r.event.lossless).toBe(lossless);
    // Whatever the path, everything read is exact.
    expect(r.event.row).toEqual((parseExact(value) as JsonObject).after);
    expect(r.event.source.tsMs).toBe(1764100600500);
  });

  it('the real 2.7.1 events (ts_us, ts_ns) give the same webhooks as without those timestamps', () => {
    for (const record of recordsOf(fixture('a3-key-and-value-with-schema-r-c-u-v2.7.1.jsonl'))) {
      const value = String(record.value);
      expect(value).toMatch(/"ts_ns":\d{19}/);
      const without = value.replace(/,"ts_[un]s":\d+/g, '');
      const [a, b] = [value, without].map((v) => decodeRecord({ ...record, value: v }));
      if (a!.kind !== 'change' || b!.kind !== 'change') throw new Error('expected changes');
      expect(a!.event.lossless).toBe(false);
      const body = (e: ChangeEvent) =>
        serialiseBody(
          webhookBody(e, eventId(e), () => 0),
          e.lossless,
        );
      expect(eventId(a!.event)).toBe(eventId(b!.event));
      expect(body(a!.event)).toBe(body(b!.event));
    }
  });

  it('keeps integers beyond 2^53 exact, from the record to the webhook body', () => {
    const value =
      '{"before":null,"after":{"id":9007199254740993,"package_id":"PKG-1","customer_id":"customer-1"},' +
      '"source":{"name":"dbserver1","schema":"public","table":"package_status","lsn":18446744073709551615,' +
      '"txId":5,"ts_ms":1000,"ts_ns":1764100600500600700},"op":"c"}';
    const r = decodeRecord({ topic: 't', key: '{"package_id":"PKG-1"}', value });
    if (r.kind !== 'change') throw new Error('expected a change');
    expect(r.event.source.lsn).toBe('18446744073709551615');
    const body = serialiseBody(webhookBody(r.event, eventId(r.event)), r.event.lossless);
    expect(body).toContain('"id":9007199254740993');
    expect(body).toContain('"lsn":"18446744073709551615"');
  });

  it.each([
    { key: '{"id":9007199254740993}', id: 9007199254740993n },
    { key: '{"schema":{"type":"struct"},"payload":{"id":9007199254740993}}', id: 9007199254740993n },
    { key: '{"id":42}', id: 42 },
  ])('a JSON key keeps its integers exact: $key', ({ key, id }) => {
    const r = decodeRecord({ topic: 't', key, value: JSON.stringify(base) });
    expect(r.kind === 'change' && r.event.key).toEqual({ id });
  });

  it('a StringConverter key (bare text) is kept as text', () => {
    const r = decodeRecord({ topic: 't', key: 'PKG-000123', value: JSON.stringify(base) });
    expect(r.kind === 'change' && r.event.key).toBe('PKG-000123');
  });
});
