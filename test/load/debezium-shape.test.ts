/**
 * load/debezium-shape.ts: rows shaped as Debezium 2.7 + JsonConverter publish them, checked against a real
 * 2.7.1 capture, and the generator's real rows decoded by the integrator's own decoder, with and without
 * the schema envelope.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/intake/debezium.ts';
import {
  DebeziumChangeFeed,
  debeziumKey,
  debeziumRecord,
  debeziumValue,
  serializeJson,
  zonedTimestamp,
} from '../../load/debezium-shape.ts';
import type { JsonObject } from '../../load/debezium-shape.ts';
import { runGenerator } from '../../load/generator/generator.ts';
import type { PackageStatusRow } from '../../load/package-status.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { createPackageStatusDatabase } from './support.ts';

const row: PackageStatusRow = {
  id: '42',
  package_id: 'PKG-000123',
  customer_id: 'customer-1',
  status: 'In Transit',
  actual_address: 'Sorting Facility, 3131 Democrat Rd, Memphis, TN 38118',
  next_address: 'Sorting Facility, 1600 Aviation Blvd, Atlanta, GA 30354',
  created_at: '2026-11-22 18:00:00.123456+00',
};
const source = { tsMs: 1_795_370_400_123, txId: 555, lsn: 24_023_128, lastCommitLsn: 24_023_040 };

/** A real Debezium 2.7.1 record (JsonConverter, schemas on) from the shared fixtures. */
const captured = JSON.parse(
  readFileSync(
    new URL('../fixtures/debezium/a3-key-and-value-with-schema-r-c-u-v2.7.1.jsonl', import.meta.url),
    'utf8',
  ).split('\n')[1] as string,
) as { value: { schema: { fields: JsonObject[] }; payload: JsonObject } };

function asObject(value: unknown): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as JsonObject;
}

describe('zonedTimestamp (TIMESTAMPTZ → io.debezium.time.ZonedTimestamp)', () => {
  it.each([
    [new Date('2026-11-22T18:00:00.123Z'), '2026-11-22T18:00:00.123Z'],
    [new Date('2026-11-22T18:00:00.120Z'), '2026-11-22T18:00:00.12Z'],
    [new Date('2026-11-22T18:00:00.000Z'), '2026-11-22T18:00:00Z'],
    ['2026-11-22 18:00:00.123456+00', '2026-11-22T18:00:00.123456Z'],
    ['2026-11-22 19:00:00.5+01', '2026-11-22T18:00:00.5Z'],
    ['2026-01-01 00:30:00-05:30', '2026-01-01T06:00:00Z'],
    ['2026-11-22T18:00:00.100000Z', '2026-11-22T18:00:00.1Z'],
  ])('%s → %s', (input, expected) => {
    expect(zonedTimestamp(input)).toBe(expected);
  });

  it.each(['yesterday', '2026-11-22', '2026-11-22 18:00:00'])('refuses %j', (input) => {
    expect(() => zonedTimestamp(input)).toThrow(RangeError);
  });
});

describe('the shape', () => {
  it('keys by package_id (message.key.columns), with or without the schema envelope', () => {
    expect(debeziumKey('PKG-1', { schemas: false })).toEqual({ package_id: 'PKG-1' });
    expect(debeziumKey('PKG-1', { schemas: true })).toEqual({
      schema: {
        type: 'struct',
        fields: [{ type: 'string', optional: false, field: 'package_id' }],
        optional: false,
        name: 'dbserver1.public.package_status.Key',
      },
      payload: { package_id: 'PKG-1' },
    });
  });

  it('writes the envelope and source block of a real 2.7 capture, field for field', () => {
    const value = debeziumValue({ op: 'c', before: null, after: row, source }, { schemas: true });
    const payload = asObject(value.payload);
    expect(Object.keys(payload)).toEqual(Object.keys(captured.value.payload));
    expect(Object.keys(asObject(payload.source))).toEqual(
      Object.keys(asObject(captured.value.payload.source)),
    );
    // Same schema for the source block and the transaction block; same envelope layout.
    const fields = (asObject(value.schema).fields as JsonObject[]).map((f) => f.field);
    expect(fields).toEqual(captured.value.schema.fields.map((f) => f.field));
    for (const name of ['source', 'transaction']) {
      expect((asObject(value.schema).fields as JsonObject[]).find((f) => f.field === name)).toEqual(
        captured.value.schema.fields.find((f) => f.field === name),
      );
    }
  });

  it('fills the row and the source block', () => {
    const value = debeziumValue({ op: 'c', before: null, after: row, source }, { schemas: false });
    expect(value).toMatchObject({
      before: null,
      after: {
        id: 42,
        package_id: 'PKG-000123',
        customer_id: 'customer-1',
        status: 'In Transit',
        next_address: 'Sorting Facility, 1600 Aviation Blvd, Atlanta, GA 30354',
        created_at: '2026-11-22T18:00:00.123456Z',
      },
      source: {
        version: '2.7.3.Final',
        connector: 'postgresql',
        name: 'dbserver1',
        ts_ms: source.tsMs,
        snapshot: 'false',
        db: 'packages',
        sequence: '["24023040","24023128"]',
        schema: 'public',
        table: 'package_status',
        txId: 555,
        lsn: 24_023_128,
        xmin: null,
      },
      transaction: null,
      op: 'c',
      ts_ms: source.tsMs + 3,
    });
    expect(value).not.toHaveProperty('schema');
  });

  it('writes int64 values beyond 2^53 exactly', () => {
    const big = { ...row, id: 9_223_372_036_854_775_807n };
    const record = debeziumRecord({ op: 'c', before: null, after: big, source }, { schemas: false });
    expect(record.value).toContain('"id":9223372036854775807,');
    expect(serializeJson({ a: 12345678901234567890n, b: [1n] })).toBe('{"a":12345678901234567890,"b":[1]}');
  });

  it.each([
    ['c without an after-image', { op: 'c', before: null, after: null }],
    ['c with a before-image', { op: 'c', before: row, after: row }],
    ['d without a before-image', { op: 'd', before: null, after: null }],
    ['d with an after-image', { op: 'd', before: row, after: row }],
  ] as const)('refuses %s', (_name, change) => {
    expect(() => debeziumValue({ ...change, source }, { schemas: false })).toThrow(RangeError);
  });

  it('a feed advances LSN and transaction id, and chains source.sequence', () => {
    const feed = new DebeziumChangeFeed({ schemas: false, startLsn: 1000, startTxId: 7, now: () => 5 });
    const first = asObject(JSON.parse(feed.insert(row).value ?? 'null'));
    const second = asObject(JSON.parse(feed.insert(row).value ?? 'null'));
    expect(asObject(first.source)).toMatchObject({ lsn: 1000, txId: 7, sequence: '[null,"1000"]', ts_ms: 5 });
    expect(asObject(second.source)).toMatchObject({ lsn: 1368, txId: 8, sequence: '["1000","1368"]' });
    expect(feed.topic).toBe('dbserver1.public.package_status');
    expect(feed.tombstone('PKG-000123')).toEqual({
      topic: 'dbserver1.public.package_status',
      key: '{"package_id":"PKG-000123"}',
      value: null,
    });
  });
});

describe("the generator's rows through the integrator's decoder", () => {
  let server: PostgresHarness;
  let rows: PackageStatusRow[];

  beforeAll(async () => {
    server = await startPostgres();
    const pool = new pg.Pool({ connectionString: await createPackageStatusDatabase(server), max: 2 });
    try {
      await runGenerator({
        db: pool,
        quantity: 15,
        rate: 5000,
        customers: ['customer-1', 'customer-2', 'customer-3'],
        hops: null,
        seed: 21,
        idPrefix: 'PKG-DBZ',
      });
      // created_at as Postgres prints it, so the microseconds survive (a JS Date keeps milliseconds).
      const result = await pool.query<PackageStatusRow>(
        `SELECT id, package_id, customer_id, status, actual_address, next_address, created_at::text AS created_at
         FROM package_status ORDER BY id`,
      );
      rows = result.rows;
    } finally {
      await pool.end();
    }
  });

  afterAll(async () => {
    await server?.stop();
  });

  const expectedRow = (r: PackageStatusRow): Record<string, unknown> => ({
    id: Number(r.id),
    package_id: r.package_id,
    customer_id: r.customer_id,
    status: r.status,
    actual_address: r.actual_address,
    next_address: r.next_address,
    created_at: zonedTimestamp(r.created_at),
  });

  it.each([false, true])('inserts decode as package_status.created (schemas.enable=%s)', (schemas) => {
    expect(rows.length).toBeGreaterThanOrEqual(15 * 5);
    const feed = new DebeziumChangeFeed({ schemas });
    const seenPerPackage = new Map<string, string[]>();
    for (const r of rows) {
      const record = feed.insert(r);
      const result = decodeRecord({
        topic: record.topic,
        key: Buffer.from(record.key),
        value: record.value === null ? null : Buffer.from(record.value),
      });
      if (result.kind !== 'change')
        throw new Error(`${r.package_id} #${String(r.id)}: ${JSON.stringify(result)}`);
      const event = result.event;
      expect(event.op).toBe('c');
      expect(event.type).toBe('package_status.created');
      expect(event.table).toBe('public.package_status');
      expect(event.row).toEqual(expectedRow(r));
      expect(event.previous).toBeNull();
      expect(event.key).toEqual({ package_id: r.package_id });
      expect(event.source.snapshot).toBe(false);
      expect(typeof event.source.tsMs).toBe('number');
      seenPerPackage.set(r.package_id, [
        ...(seenPerPackage.get(r.package_id) ?? []),
        String(event.row.status),
      ]);
    }
    // Per key, the decoded statuses come out in journey order.
    for (const statuses of seenPerPackage.values()) {
      expect(statuses[0]).toBe('Package Posted');
      expect(statuses.at(-1)).toBe('Package Delivered');
    }
  });

  it.each([false, true])(
    'updates, deletes (REPLICA IDENTITY FULL), snapshot reads and tombstones decode too (schemas.enable=%s)',
    (schemas) => {
      const feed = new DebeziumChangeFeed({ schemas });
      const [first] = rows;
      if (!first) throw new Error('no rows');
      const corrected = { ...first, next_address: 'Sorting Facility, 1 Cargo Rd, Kansas City, MO 64153' };
      const decode = (record: { topic: string; key: string; value: string | null }) =>
        decodeRecord({ topic: record.topic, key: record.key, value: record.value });

      const updated = decode(feed.update(first, corrected));
      expect(updated).toMatchObject({
        kind: 'change',
        event: {
          op: 'u',
          type: 'package_status.updated',
          row: expectedRow(corrected),
          previous: expectedRow(first),
        },
      });

      const deleted = decode(feed.delete(corrected));
      expect(deleted).toMatchObject({
        kind: 'change',
        event: {
          op: 'd',
          type: 'package_status.deleted',
          row: expectedRow(corrected),
          previous: expectedRow(corrected),
        },
      });

      const read = decode(feed.read(first, 'last'));
      expect(read).toMatchObject({
        kind: 'change',
        event: {
          op: 'r',
          type: 'package_status.snapshot',
          row: expectedRow(first),
          source: { snapshot: true },
        },
      });

      expect(decode(feed.tombstone(first.package_id))).toEqual({ kind: 'ignored', reason: 'tombstone' });
    },
  );
});
