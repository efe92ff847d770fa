/**
 * One record in, one decision out (pure): the single place the pipeline asks "what is this record?".
 *
 *   topic in outboxTopics → outbox EventRouter record (intake/outbox.ts → routing/outbox.ts)
 *   any other topic        → Debezium change event   (intake/debezium.ts → routing/webhook.ts)
 *
 *   → { routable }          deliver it (routing decides to whom)
 *   → { ignored, reason }   nothing to deliver: tombstone, heartbeat, transaction marker, truncate
 *   → { poison, code, reason }  undeliverable; recorded and skipped. Nothing thrown here escapes: any
 *                                exception becomes poison `undecodable` with its message.
 */
import { decodeRecord } from '../intake/debezium.ts';
import { decodeOutboxRecord } from '../intake/outbox.ts';
import { scalarText } from '../intake/json.ts';
import type { SourceRecord } from '../intake/source.ts';
import { eventId, orderingKeyOf, serialiseBody, webhookBody } from './webhook.ts';
import { outboxRoutable } from './outbox.ts';
import type { Routable } from './routable.ts';

export type Decoded =
  | { kind: 'routable'; routable: Routable }
  | { kind: 'ignored'; reason: string }
  | { kind: 'poison'; code: string; reason: string };

export interface DecodeOptions {
  /** Topics whose records come from the outbox EventRouter (`OUTBOX_TOPICS`). */
  outboxTopics: ReadonlySet<string> | readonly string[];
  now: () => number;
}

export function toRoutable(record: SourceRecord, opts: DecodeOptions): Decoded {
  try {
    const topics = opts.outboxTopics;
    const outbox = 'has' in topics ? topics.has(record.topic) : topics.includes(record.topic);
    return outbox ? fromOutbox(record, opts) : fromDebezium(record, opts);
  } catch (err) {
    return { kind: 'poison', code: 'undecodable', reason: `undecodable: ${(err as Error).message}` };
  }
}

function fromOutbox(record: SourceRecord, opts: DecodeOptions): Decoded {
  const result = decodeOutboxRecord(record);
  if (result.kind !== 'event') return result;
  const at = { topic: record.topic, partition: record.partition, offset: record.offset };
  return { kind: 'routable', routable: outboxRoutable(result.event, at, opts.now) };
}

function fromDebezium(record: SourceRecord, opts: DecodeOptions): Decoded {
  const result = decodeRecord(record);
  if (result.kind !== 'change') return result;
  const event = result.event;
  const id = eventId(event);
  return {
    kind: 'routable',
    routable: {
      eventId: id,
      orderingKey: orderingKeyOf(event, id),
      fields: event.row,
      body: serialiseBody(webhookBody(event, id, opts.now), event.lossless),
      commitTsMs: event.source.tsMs,
      type: event.type,
      label: scalarText(event.row.status) ?? null,
    },
  };
}
