/**
 * How delivery events cross from the delivery path to the log's worker thread: one line of tab-separated
 * fields per event (pure). The host writes each line as UTF-8 into off-heap chunks handed over by transfer
 * (src/log/chunks.ts), where objects would be cloned field by field on the main thread: the delivery path
 * pays a template string per event and nothing else.
 *
 * A change line also stands for its customers' `accepted` steps: the pipeline reports a change and then
 * hands it to each of those customers' lanes in the same call (src/pipeline.ts `handle`), so the host
 * leaves `accepted` out and the writer derives it from the change (reduce.ts): one line less per delivery.
 *
 * Line shapes (`\N` = null; `\\`, `\t`, `\n`, `\r` escaped in free text):
 *   C  at eventId packageId type label occurredAt topic partition offset customers(,-joined) body
 *   D  at customer eventId packageId label kind [kind fields…]
 */
import type { ChangeSeen, DeliveryEvent, ParkReason } from '../report/delivery-events.ts';
import type { AttemptResult } from '../delivery/outcome.ts';

export type LogRecord = ({ record: 'change' } & ChangeSeen) | ({ record: 'delivery' } & DeliveryEvent);

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function esc(s: string | null): string {
  if (s === null) return '\\N';
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

function unesc(s: string): string | null {
  if (s === '\\N') return null;
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

const n = (v: number | null): string => (v === null ? '\\N' : String(v));
const num = (s: string | undefined): number | null => (s === undefined || s === '\\N' ? null : Number(s));

export function encodeChange(e: ChangeSeen): string {
  return `C\t${e.at}\t${esc(e.eventId)}\t${esc(e.packageId)}\t${esc(e.type)}\t${esc(e.label)}\t${n(e.occurredAt)}\t${esc(e.source.topic)}\t${e.source.partition}\t${esc(e.source.offset)}\t${e.customers.join(',')}\t${esc(e.body)}\n`;
}

export function encodeDelivery(e: DeliveryEvent): string {
  const head = `D\t${e.at}\t${e.customer}\t${esc(e.eventId)}\t${esc(e.packageId)}\t${esc(e.label)}\t${e.kind}`;
  switch (e.kind) {
    case 'sending':
      return `${head}\t${e.attempt}\n`;
    case 'attempted':
      return `${head}\t${e.attempt}\t${e.result}\t${n(e.httpStatus)}\t${e.durationMs}\t${esc(e.detail)}\n`;
    case 'parked':
      return `${head}\t${e.why}\t${n(e.dueAt)}\n`;
    case 'delivered':
      return `${head}\t${e.attempts}\t${n(e.endToEndMs)}\n`;
    case 'dead':
      return `${head}\t${e.attempts}\t${esc(e.reason)}\n`;
    default:
      return `${head}\n`;
  }
}

/**
 * Lines back into records, appended to `records`; a line that does not parse is skipped and counted. A
 * chunk holds whole lines (src/log/chunks.ts), so each is decoded on its own, never joined to the others.
 */
export function decode(text: string, records: LogRecord[] = []): { records: LogRecord[]; bad: number } {
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split('\t');
    const r = f[0] === 'C' ? change(f) : f[0] === 'D' ? delivery(f) : null;
    if (r) records.push(r);
    else bad += 1;
  }
  return { records, bad };
}

function change(f: string[]): LogRecord | null {
  if (f.length !== 12) return null;
  return {
    record: 'change',
    at: Number(f[1]),
    eventId: unesc(f[2]!) ?? '',
    packageId: unesc(f[3]!) ?? '',
    type: unesc(f[4]!) ?? '',
    label: unesc(f[5]!),
    occurredAt: num(f[6]),
    source: { topic: unesc(f[7]!) ?? '', partition: Number(f[8]), offset: unesc(f[9]!) ?? '' },
    customers: f[10] === '' ? [] : f[10]!.split(','),
    body: unesc(f[11]!) ?? '',
  };
}

function delivery(f: string[]): LogRecord | null {
  if (f.length < 7) return null;
  const ref = {
    record: 'delivery' as const,
    at: Number(f[1]),
    customer: f[2]!,
    eventId: unesc(f[3]!) ?? '',
    packageId: unesc(f[4]!) ?? '',
    label: unesc(f[5]!),
  };
  const kind = f[6];
  switch (kind) {
    case 'accepted':
    case 'replayed':
    case 'discarded':
    case 'dropped':
      return { ...ref, kind };
    case 'sending':
      return { ...ref, kind, attempt: Number(f[7]) };
    case 'attempted':
      if (f.length !== 12) return null;
      return {
        ...ref,
        kind,
        attempt: Number(f[7]),
        result: f[8] as AttemptResult,
        httpStatus: num(f[9]),
        durationMs: Number(f[10]),
        detail: unesc(f[11]!) ?? '',
      };
    case 'parked':
      return { ...ref, kind, why: f[7] as ParkReason, dueAt: num(f[8]) };
    case 'delivered':
      return { ...ref, kind, attempts: Number(f[7]), endToEndMs: num(f[8]) };
    case 'dead':
      return { ...ref, kind, attempts: Number(f[7]), reason: unesc(f[8]!) ?? '' };
    default:
      return null;
  }
}
