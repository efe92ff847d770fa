/**
 * The tracking API's reads and writes of `package_status`. Every write also records its event in the
 * outbox, in the same transaction (outbox.ts).
 */
import type pg from 'pg';
import { STATUS } from '../package-status.ts';
import type { PackageStatusInsert, PackageStatusJson } from '../package-status.ts';
import { eventTypeOf, writeOutbox } from './outbox.ts';

export type PackageEvent = PackageStatusJson;

/** As node-postgres returns it: int8 as text, TIMESTAMPTZ as a Date. */
interface DbRow extends PackageStatusInsert {
  id: string;
  created_at: Date;
}

const RETURNING = 'id, package_id, customer_id, status, actual_address, next_address, created_at';

function toEvent(row: DbRow): PackageEvent {
  return { ...row, id: Number(row.id), created_at: row.created_at.toISOString() };
}

export type AppendResult =
  { kind: 'ok'; event: PackageEvent } | { kind: 'not_found' } | { kind: 'conflict'; reason: string };

/** Serialises writers of one package (transaction-scoped), so "last status" checks and inserts don't race. */
async function lockPackage(client: pg.PoolClient, packageId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [packageId]);
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export class PackageStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  /** Inserts the 'Package Posted' row; `conflict` when the tracking code is taken. */
  async create(input: {
    package_id: string;
    customer_id: string;
    origin_address: string;
    next_address: string | null;
  }): Promise<AppendResult> {
    return inTransaction(this.#pool, async (client) => {
      await lockPackage(client, input.package_id);
      const existing = await client.query('SELECT 1 FROM package_status WHERE package_id = $1 LIMIT 1', [
        input.package_id,
      ]);
      if (existing.rowCount !== 0) return { kind: 'conflict', reason: `package ${input.package_id} exists` };
      const inserted = await client.query<DbRow>(
        `INSERT INTO package_status (package_id, customer_id, status, actual_address, next_address)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${RETURNING}`,
        [input.package_id, input.customer_id, STATUS.posted, input.origin_address, input.next_address],
      );
      const event = toEvent(inserted.rows[0] as DbRow);
      await writeOutbox(client, event, eventTypeOf(event, true));
      return { kind: 'ok', event };
    });
  }

  /** Appends a movement; `not_found` for an unknown package, `conflict` once it was delivered. */
  async appendMovement(
    packageId: string,
    movement: { status: string; actual_address: string; next_address: string | null },
  ): Promise<AppendResult> {
    return inTransaction(this.#pool, async (client) => {
      await lockPackage(client, packageId);
      const last = await client.query<{ customer_id: string; status: string }>(
        'SELECT customer_id, status FROM package_status WHERE package_id = $1 ORDER BY id DESC LIMIT 1',
        [packageId],
      );
      const current = last.rows[0];
      if (!current) return { kind: 'not_found' };
      if (current.status === STATUS.delivered) {
        return { kind: 'conflict', reason: `package ${packageId} was already delivered` };
      }
      const inserted = await client.query<DbRow>(
        `INSERT INTO package_status (package_id, customer_id, status, actual_address, next_address)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${RETURNING}`,
        [packageId, current.customer_id, movement.status, movement.actual_address, movement.next_address],
      );
      const event = toEvent(inserted.rows[0] as DbRow);
      await writeOutbox(client, event, eventTypeOf(event, false));
      return { kind: 'ok', event };
    });
  }

  /** The package's rows, oldest first (empty when unknown). */
  async history(packageId: string): Promise<PackageEvent[]> {
    const result = await this.#pool.query<DbRow>(
      `SELECT ${RETURNING} FROM package_status WHERE package_id = $1 ORDER BY id`,
      [packageId],
    );
    return result.rows.map(toEvent);
  }
}
