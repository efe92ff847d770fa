/**
 * A delivery log at its row cap, for the log figure's `full` runs: the embedded log's directory holding
 * DELIVERY_LOG_MAX_ROWS changes and deliveries (the default, 100,000), written once per bench run through
 * the log's own store and copied for each run that uses it. A young log (the other runs start with an
 * empty one) measures what a freshly started integrator pays; a full one what it pays after an hour or a
 * day: every new row then also deletes an old one, and the ids are random keys spread over whole indexes.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reduce } from '../../src/log/reduce.ts';
import { openEmbeddedLog } from '../../src/log/sqlite.ts';
import type { LogRecord } from '../../src/log/wire.ts';

/** The embedded log's default row cap (README, Configuration: DELIVERY_LOG_MAX_ROWS). */
export const DEFAULT_MAX_ROWS = 100_000;
const BATCH = 5000;
const PACKAGES = 20_000;

/** One delivered change of the kind the bench's stream makes: a webhook body of ~600 bytes, a random id. */
function delivered(n: number, at: number): LogRecord[] {
  const eventId = `evt_${createHash('sha256').update(`fill-${n}`).digest('hex').slice(0, 32)}`;
  const packageId = `PKG-FILL-${n % PACKAGES}`;
  const ref = {
    record: 'delivery' as const,
    at,
    customer: 'customer-1',
    eventId,
    packageId,
    label: 'In Transit',
  };
  const body = JSON.stringify({
    type: 'package_status.created',
    timestamp: new Date(at).toISOString(),
    data: {
      id: eventId,
      op: 'c',
      table: 'package_status',
      package_id: packageId,
      status: 'In Transit',
      location: 'Distribution centre 12, Rotterdam',
      recorded_at: new Date(at).toISOString(),
      source: { connector: 'postgresql', db: 'logistics', lsn: 24023128 + n * 64, ts_ms: at },
      row: { id: n, package_id: packageId, status: 'In Transit', note: 'left the sorting hub on time' },
    },
  });
  return [
    {
      record: 'change',
      at,
      eventId,
      packageId,
      type: 'package_status.created',
      label: 'In Transit',
      occurredAt: at - 40,
      source: { topic: 'dbserver1.public.package_status', partition: n % 8, offset: String(n) },
      customers: ['customer-1'],
      body,
    },
    { ...ref, kind: 'accepted' },
    { ...ref, kind: 'sending', attempt: 1 },
    { ...ref, kind: 'attempted', attempt: 1, result: '2xx', httpStatus: 200, durationMs: 1.2, detail: '' },
    { ...ref, kind: 'delivered', attempts: 1, endToEndMs: 45 },
  ];
}

export interface FullLog {
  /** Rows per table, the cap the runs use (DELIVERY_LOG_MAX_ROWS). */
  rows: number;
  /** A fresh copy of the full log's directory for one run (DELIVERY_LOG_DIR). */
  copy(): string;
  /** Removes the template and every copy. */
  remove(): void;
}

/** Writes a log of `rows` delivered changes once (`rows` rows in its changes and deliveries tables). */
export async function fullLogTemplate(rows = DEFAULT_MAX_ROWS): Promise<FullLog> {
  const template = mkdtempSync(join(tmpdir(), 'bench-full-log-'));
  const log = await openEmbeddedLog(template, { maxRows: rows });
  await log.migrate();
  const start = Date.now() - 3_600_000;
  for (let n = 0; n < rows;) {
    const records: LogRecord[] = [];
    for (let i = 0; i < BATCH && n < rows; i++, n++) records.push(...delivered(n, start + n * 30));
    await log.write(reduce(records));
  }
  await log.close();
  const copies: string[] = [];
  return {
    rows,
    copy() {
      const dir = mkdtempSync(join(tmpdir(), 'bench-full-log-run-'));
      cpSync(template, dir, { recursive: true });
      copies.push(dir);
      return dir;
    },
    remove() {
      for (const d of [template, ...copies]) rmSync(d, { recursive: true, force: true });
    },
  };
}
