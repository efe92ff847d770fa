/**
 * The generator's SQL, one statement per kind of change in a batch (mixer.ts):
 *
 *   INSERT  the batch's steps in one multi-row statement: they keep their order, and so do their BIGSERIAL ids
 *   UPDATE  reroutes: the package's latest row goes on to another hub (`next_address`)
 *   DELETE  cancellations: every row of the package
 *
 * Each runs in its own transaction, in this order, so a package's changes are committed in the order they
 * happen and Debezium sees them so.
 */
import type { PackageStatusInsert } from '../package-status.ts';
import type { Batch } from './mixer.ts';

const COLUMNS = ['package_id', 'customer_id', 'status', 'actual_address', 'next_address'] as const;

/** The query every node-postgres client, pool and pool client can run. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
}

export interface Statement {
  text: string;
  values: unknown[];
}

export function buildInsert(rows: readonly PackageStatusInsert[], table = 'package_status'): Statement {
  if (rows.length === 0) throw new RangeError('buildInsert() needs at least one row');
  const values: (string | null)[] = [];
  const tuples = rows.map((row) => {
    const placeholders = COLUMNS.map((column) => {
      values.push(row[column]);
      return `$${values.length}`;
    });
    return `(${placeholders.join(', ')})`;
  });
  return { text: `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values };
}

export function buildReroutes(reroutes: Batch['reroutes']): Statement {
  if (reroutes.length === 0) throw new RangeError('buildReroutes() needs at least one reroute');
  return {
    text:
      'UPDATE package_status AS p SET next_address = r.next_address ' +
      'FROM unnest($1::text[], $2::text[]) AS r(package_id, next_address) ' +
      'WHERE p.id = (SELECT max(id) FROM package_status WHERE package_id = r.package_id)',
    values: [reroutes.map((r) => r.packageId), reroutes.map((r) => r.to)],
  };
}

export function buildCancels(packageIds: readonly string[]): Statement {
  if (packageIds.length === 0) throw new RangeError('buildCancels() needs at least one package');
  return { text: 'DELETE FROM package_status WHERE package_id = ANY($1::text[])', values: [[...packageIds]] };
}

export async function insertRows(db: Queryable, rows: readonly PackageStatusInsert[]): Promise<void> {
  const { text, values } = buildInsert(rows);
  await db.query(text, values);
}

/** Writes a batch; returns how many rows were updated and deleted. */
export async function writeBatch(db: Queryable, batch: Batch): Promise<{ updated: number; deleted: number }> {
  if (batch.rows.length > 0) await insertRows(db, batch.rows);
  let updated = 0;
  let deleted = 0;
  if (batch.reroutes.length > 0) {
    const { text, values } = buildReroutes(batch.reroutes);
    updated = (await db.query(text, values)).rowCount ?? 0;
  }
  if (batch.cancels.length > 0) {
    const { text, values } = buildCancels(batch.cancels);
    deleted = (await db.query(text, values)).rowCount ?? 0;
  }
  return { updated, deleted };
}
