/**
 * Debezium-shaped change events of `package_status` (CONTRACT §4) as the PostgreSQL connector with pgoutput
 * and JsonConverter publishes them, keyed by package_id (message.key.columns), with increasing LSNs.
 */
import type { Producer } from 'kafkajs';
import { STATUS } from '../../load/package-status.ts';
import type { PackageStatusJson } from '../../load/package-status.ts';

export const STATUSES = [
  STATUS.posted,
  STATUS.inTransit,
  STATUS.inTransit,
  STATUS.outForDelivery,
  STATUS.delivered,
];

/** A `package_status` row as the connector carries it (id a number, created_at ISO text). */
export type Row = PackageStatusJson;

export interface KafkaMessage {
  key: string;
  value: string | null;
}

let lsn = 24_000_000;
let rowId = 0;

export function row(packageId: string, customerId: string, status: string, step: number): Row {
  rowId += 1;
  return {
    id: rowId,
    package_id: packageId,
    customer_id: customerId,
    status,
    actual_address: `Hub ${step}, Main St ${step * 7}`,
    next_address: status === 'Package Delivered' ? null : `Hub ${step + 1}`,
    created_at: new Date().toISOString(),
  };
}

/** Placeholders for the two ts_ns values, replaced in the text by 19-digit integers. */
const SOURCE_NS = -1;
const ENVELOPE_NS = -2;

/**
 * A change event as Debezium 2.7's PostgreSQL connector writes it through the JsonConverter (with or without
 * schemas), its `ts_us` / `ts_ns` included (`ts_ns` is beyond 2^53, as in real events).
 */
export function changeValue(
  r: Row,
  opts: { op?: 'c' | 'u' | 'd' | 'r'; schema?: boolean; tsMs?: number; nowMs?: number } = {},
): string {
  lsn += 64;
  const op = opts.op ?? 'c';
  const tsMs = opts.tsMs ?? Date.now();
  // The connector's own processing time (the envelope's ts_ms), after the commit.
  const now = opts.nowMs ?? Date.now();
  const payload = {
    before: op === 'd' ? r : null,
    after: op === 'd' ? null : r,
    source: {
      version: '2.7.1.Final',
      connector: 'postgresql',
      name: 'dbserver1',
      ts_ms: tsMs,
      snapshot: op === 'r' ? 'true' : 'false',
      db: 'logistics',
      sequence: `["${lsn - 64}","${lsn}"]`,
      ts_us: tsMs * 1000 + 123,
      ts_ns: SOURCE_NS,
      schema: 'public',
      table: 'package_status',
      txId: 500 + rowId,
      lsn,
      xmin: null,
    },
    transaction: null,
    op,
    ts_ms: now,
    ts_us: now * 1000 + 456,
    ts_ns: ENVELOPE_NS,
  };
  // ts_ns is beyond 2^53, as a JSON number: written in by hand (JSON.stringify would round it).
  const withNs = (text: string): string =>
    text
      .replace(`"ts_ns":${SOURCE_NS}`, `"ts_ns":${tsMs}123456`)
      .replace(`"ts_ns":${ENVELOPE_NS}`, `"ts_ns":${now}456789`);
  if (!opts.schema) return withNs(JSON.stringify(payload));
  const rowSchema = {
    type: 'struct',
    optional: true,
    name: 'dbserver1.public.package_status.Value',
    fields: [
      { type: 'int64', optional: false, field: 'id' },
      { type: 'string', optional: false, field: 'package_id' },
      { type: 'string', optional: false, field: 'customer_id' },
      { type: 'string', optional: false, field: 'status' },
      { type: 'string', optional: false, field: 'actual_address' },
      { type: 'string', optional: true, field: 'next_address' },
      {
        type: 'string',
        optional: false,
        name: 'io.debezium.time.ZonedTimestamp',
        version: 1,
        field: 'created_at',
      },
    ],
  };
  return withNs(
    JSON.stringify({
      schema: {
        type: 'struct',
        name: 'dbserver1.public.package_status.Envelope',
        version: 2,
        optional: false,
        fields: [
          { ...rowSchema, field: 'before' },
          { ...rowSchema, field: 'after' },
          {
            type: 'struct',
            optional: false,
            name: 'io.debezium.connector.postgresql.Source',
            field: 'source',
            fields: [],
          },
          { type: 'string', optional: false, field: 'op' },
          { type: 'int64', optional: true, field: 'ts_ms' },
          { type: 'int64', optional: true, field: 'ts_us' },
          { type: 'int64', optional: true, field: 'ts_ns' },
        ],
      },
      payload,
    }),
  );
}

export function keyOf(packageId: string, schema = false): string {
  return schema
    ? JSON.stringify({
        schema: {
          type: 'struct',
          fields: [{ type: 'string', optional: false, field: 'package_id' }],
          optional: false,
        },
        payload: { package_id: packageId },
      })
    : JSON.stringify({ package_id: packageId });
}

/** `packages` journeys for one customer: each package gets every status in order. Interleaved by step. */
export function journeys(
  customerId: string,
  packages: number,
  opts: { prefix?: string; statuses?: string[]; schema?: boolean } = {},
): { messages: KafkaMessage[]; rows: Row[] } {
  const statuses = opts.statuses ?? STATUSES;
  const messages: KafkaMessage[] = [];
  const rows: Row[] = [];
  for (let step = 0; step < statuses.length; step++) {
    for (let p = 0; p < packages; p++) {
      const pkg = `${opts.prefix ?? customerId}-PKG-${String(p).padStart(5, '0')}`;
      const r = row(pkg, customerId, statuses[step]!, step);
      rows.push(r);
      messages.push({ key: keyOf(pkg, opts.schema), value: changeValue(r, { schema: opts.schema }) });
    }
  }
  return { messages, rows };
}

/** Interleave several message lists (as if customers' traffic shared the topic). */
export function interleave(...lists: KafkaMessage[][]): KafkaMessage[] {
  const out: KafkaMessage[] = [];
  const max = Math.max(...lists.map((l) => l.length));
  for (let i = 0; i < max; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

/** The same message with its commit time (source.ts_ms) set to now, for latency measured from the send. */
export function restamp(m: KafkaMessage, now = Date.now()): KafkaMessage {
  if (m.value === null) return m;
  const doc = JSON.parse(m.value) as { payload?: { source: { ts_ms: number } }; source?: { ts_ms: number } };
  (doc.payload ?? doc).source!.ts_ms = now;
  return { ...m, value: JSON.stringify(doc) };
}

export async function produce(
  producer: Producer,
  topic: string,
  messages: KafkaMessage[],
  batch = 200,
): Promise<void> {
  for (let i = 0; i < messages.length; i += batch) {
    await producer.send({ topic, messages: messages.slice(i, i + batch) });
  }
}
