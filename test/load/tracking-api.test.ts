/** The tracking API against a real Postgres, through real HTTP (fastify listening on port 0). */
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrackingApi } from '../../load/tracking-api/app.ts';
import type { FastifyInstance } from 'fastify';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { allRows, createPackageStatusDatabase } from './support.ts';
import { AGGREGATE_TYPE } from '../../load/tracking-api/outbox.ts';

let server: PostgresHarness;
let pool: pg.Pool;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: await createPackageStatusDatabase(server), max: 5 });
  app = buildTrackingApi({ pool });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await server?.stop();
});

/** The answers' fields these tests read (a cast, checked by the assertions themselves). */
interface Answer {
  package_id?: string;
  next_address?: string | null;
  error?: string;
  field?: string;
  message?: string;
  problems?: { field: string; message: string }[];
  history?: { id: number; status: string }[];
  [other: string]: unknown;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Answer }> {
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : {}) as Answer };
}

const origin = '1200 Maple Ave, Denver, CO 80239';
const hub = 'Sorting Facility, 7500 E 53rd Pl, Denver, CO 80239';

describe('happy path', () => {
  it('creates a package, records its movements and returns its history in order', async () => {
    const created = await call('POST', '/packages', {
      customer_id: 'customer-1',
      origin_address: origin,
      next_address: hub,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      package_id: expect.stringMatching(/^PKG-[0-9A-F]{10}$/),
      customer_id: 'customer-1',
      status: 'Package Posted',
      actual_address: origin,
      next_address: hub,
    });
    const id = String(created.json.package_id);

    const moved = await call('POST', `/packages/${id}/movements`, {
      status: 'In Transit',
      actual_address: hub,
      next_address: 'Delivery Station, Denver, CO 80239',
    });
    expect(moved.status).toBe(201);
    expect(moved.json).toMatchObject({ package_id: id, customer_id: 'customer-1', status: 'In Transit' });

    await call('POST', `/packages/${id}/movements`, {
      status: 'Out for Delivery',
      actual_address: 'Delivery Station, Denver, CO 80239',
      next_address: '77 Oak St, Denver, CO 80239',
    });
    const delivered = await call('POST', `/packages/${id}/movements`, {
      status: 'Package Delivered',
      actual_address: '77 Oak St, Denver, CO 80239',
    });
    expect(delivered.status).toBe(201);
    expect(delivered.json.next_address).toBeNull();

    const read = await call('GET', `/packages/${id}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      package_id: id,
      customer_id: 'customer-1',
      status: 'Package Delivered',
    });
    expect(read.json.history?.map((h) => h.status)).toEqual([
      'Package Posted',
      'In Transit',
      'Out for Delivery',
      'Package Delivered',
    ]);
    const ids = read.json.history?.map((h) => h.id) ?? [];
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    // Everything landed in package_status, where Debezium picks it up.
    const rows = (await allRows(pool)).filter((r) => r.package_id === id);
    expect(rows).toHaveLength(4);
  });

  it('accepts a tracking code of your own, once', async () => {
    const body = { customer_id: 'customer-2', origin_address: origin, package_id: 'PKG-000777' };
    expect((await call('POST', '/packages', body)).status).toBe(201);
    const again = await call('POST', '/packages', body);
    expect(again.status).toBe(409);
  });

  it('refuses movements after delivery (409)', async () => {
    const created = await call('POST', '/packages', { customer_id: 'customer-3', origin_address: origin });
    const id = String(created.json.package_id);
    await call('POST', `/packages/${id}/movements`, { status: 'Package Delivered', actual_address: origin });
    const late = await call('POST', `/packages/${id}/movements`, {
      status: 'In Transit',
      actual_address: hub,
    });
    expect(late.status).toBe(409);
  });

  it('answers /healthz', async () => {
    expect(await call('GET', '/healthz')).toEqual({ status: 200, json: { ok: true } });
  });
});

describe('validation: 400 naming the field', () => {
  it.each([
    ['POST /packages without customer_id', '/packages', { origin_address: origin }, 'customer_id'],
    [
      'POST /packages with a bad customer_id',
      '/packages',
      { customer_id: 'Acme Inc', origin_address: origin },
      'customer_id',
    ],
    [
      'POST /packages with an empty origin',
      '/packages',
      { customer_id: 'customer-1', origin_address: '  ' },
      'origin_address',
    ],
    [
      'POST /packages with a numeric next_address',
      '/packages',
      { customer_id: 'customer-1', origin_address: origin, next_address: 5 },
      'next_address',
    ],
    [
      'POST /packages with a bad package_id',
      '/packages',
      { customer_id: 'c', origin_address: origin, package_id: 'a b' },
      'package_id',
    ],
    ['a movement without status', '/packages/PKG-000001/movements', { actual_address: hub }, 'status'],
    [
      'a movement without actual_address',
      '/packages/PKG-000001/movements',
      { status: 'In Transit' },
      'actual_address',
    ],
    [
      'a movement on a malformed id',
      '/packages/bad%20id/movements',
      { status: 'In Transit', actual_address: hub },
      'id',
    ],
  ])('%s', async (_name, path, body, field) => {
    const res = await call('POST', path, body);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expect(res.json.field).toBe(field);
    expect(res.json.message).toContain(field);
  });

  it('lists every problem', async () => {
    const res = await call('POST', '/packages', {});
    expect(res.status).toBe(400);
    expect(res.json.problems?.map((p) => p.field).sort()).toEqual(['customer_id', 'origin_address']);
  });

  it('a body that is not an object names the body', async () => {
    const res = await call('POST', '/packages', '[1,2]');
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('body');
  });
});

describe('unknown packages: 404', () => {
  it('GET /packages/:id', async () => {
    const res = await call('GET', '/packages/PKG-NOPE');
    expect(res.status).toBe(404);
    expect(res.json.message).toContain('PKG-NOPE');
  });

  it('POST /packages/:id/movements', async () => {
    const res = await call('POST', '/packages/PKG-NOPE/movements', {
      status: 'In Transit',
      actual_address: hub,
    });
    expect(res.status).toBe(404);
  });
});

interface OutboxRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: Record<string, unknown>;
}

async function outboxOf(db: pg.Pool, packageId: string): Promise<OutboxRow[]> {
  const res = await db.query<OutboxRow>(
    'SELECT id, aggregatetype, aggregateid, type, payload FROM outbox WHERE aggregateid = $1 ORDER BY created_at',
    [packageId],
  );
  return res.rows;
}

describe('the outbox: one event per recorded change, in the same transaction', () => {
  it('records every write as an outbox row whose payload is the row the API answered', async () => {
    const created = await call('POST', '/packages', {
      customer_id: 'customer-1',
      origin_address: origin,
      next_address: hub,
    });
    const id = String(created.json.package_id);
    const answers = [created.json];
    for (const [status, actual] of [
      ['In Transit', hub],
      ['Out for Delivery', 'Delivery Station, Denver, CO 80239'],
      ['Package Delivered', '77 Oak St, Denver, CO 80239'],
    ] as const) {
      answers.push(
        (await call('POST', `/packages/${id}/movements`, { status, actual_address: actual })).json,
      );
    }
    const rows = await outboxOf(pool, id);
    expect(rows.map((r) => r.type)).toEqual([
      'package.posted',
      'package.moved',
      'package.moved',
      'package.delivered',
    ]);
    // The movement as answered, minus the table's row id: the event has its own.
    expect(rows.map((r) => r.payload)).toEqual(answers.map(({ id: _id, ...rest }) => rest));
    expect(answers.every((a) => typeof a.id === 'number')).toBe(true);
    for (const r of rows) {
      expect(r.aggregatetype).toBe(AGGREGATE_TYPE);
      expect(r.aggregateid).toBe(id);
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(4);
  });

  it('refused writes leave no event', async () => {
    const body = { customer_id: 'customer-2', origin_address: origin, package_id: 'PKG-OUTBOX-1' };
    await call('POST', '/packages', body);
    expect((await call('POST', '/packages', body)).status).toBe(409);
    await call('POST', '/packages/PKG-OUTBOX-1/movements', {
      status: 'Package Delivered',
      actual_address: origin,
    });
    expect(
      (await call('POST', '/packages/PKG-OUTBOX-1/movements', { status: 'In Transit', actual_address: hub }))
        .status,
    ).toBe(409);
    expect(
      (await call('POST', '/packages/PKG-NOPE-2/movements', { status: 'In Transit', actual_address: hub }))
        .status,
    ).toBe(404);
    expect((await outboxOf(pool, 'PKG-OUTBOX-1')).map((r) => r.type)).toEqual([
      'package.posted',
      'package.delivered',
    ]);
    expect(await outboxOf(pool, 'PKG-NOPE-2')).toEqual([]);
  });

  it('a movement whose event cannot be written is not recorded either', async () => {
    const db = new pg.Pool({ connectionString: await createPackageStatusDatabase(server), max: 2 });
    const api = buildTrackingApi({ pool: db });
    try {
      await db.query(
        "ALTER TABLE outbox ADD CONSTRAINT refuse_delivered CHECK (type <> 'package.delivered')",
      );
      const url = await api.listen({ port: 0, host: '127.0.0.1' });
      const post = (path: string, body: unknown) =>
        request(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const created = await post('/packages', {
        customer_id: 'customer-1',
        origin_address: origin,
        package_id: 'PKG-ATOMIC',
      });
      expect(created.statusCode).toBe(201);
      await created.body.dump();
      const refused = await post('/packages/PKG-ATOMIC/movements', {
        status: 'Package Delivered',
        actual_address: origin,
      });
      expect(refused.statusCode).toBe(500);
      await refused.body.dump();
      expect((await allRows(db)).map((r) => r.status)).toEqual(['Package Posted']);
      expect((await outboxOf(db, 'PKG-ATOMIC')).map((r) => r.type)).toEqual(['package.posted']);
    } finally {
      await api.close();
      await db.end();
    }
  });
});
