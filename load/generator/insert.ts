/** One multi-row INSERT per batch: the rows keep their order, and so do their BIGSERIAL ids. */
import type { PackageStatusInsert } from '../package-status.ts';

const COLUMNS = ['package_id', 'customer_id', 'status', 'actual_address', 'next_address'] as const;

/** The query every node-postgres client, pool and pool client can run. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface InsertStatement {
  text: string;
  values: (string | null)[];
}

export function buildInsert(rows: readonly PackageStatusInsert[], table = 'package_status'): InsertStatement {
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

export async function insertRows(db: Queryable, rows: readonly PackageStatusInsert[]): Promise<void> {
  const { text, values } = buildInsert(rows);
  await db.query(text, values);
}
