/**
 * Every record's first step (pure): a Kafka record becomes something to route, something to skip on
 * purpose, or poison with its reason. Nothing thrown while decoding escapes: a record that makes any
 * step fail is poison (`undecodable`), recorded and skipped, never a stuck partition.
 */
import { decodeRecord } from '../intake/debezium.ts';
import { scalarText } from '../intake/json.ts';
import type { SourceRecord } from '../intake/source.ts';
import type { Routable } from './routable.ts';
import { eventId, orderingKeyOf, serialiseBody, webhookBody } from './webhook.ts';

export type Decoded =
  | { kind: 'routable'; routable: Routable }
  | { kind: 'ignored'; reason: string }
  | { kind: 'poison'; code: string; reason: string };

export interface DecodeOptions {
  now: () => number;
}

export function toRoutable(record: SourceRecord, opts: DecodeOptions): Decoded {
  try {
    return debezium(record, opts);
  } catch (err) {
    return { kind: 'poison', code: 'undecodable', reason: `undecodable: ${(err as Error).message}` };
  }
}

function debezium(record: SourceRecord, opts: DecodeOptions): Decoded {
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
