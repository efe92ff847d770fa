/**
 * From a decoded outbox event to what routing and the lanes take (pure), README "Outbox source":
 *
 *   webhook id   the outbox `id` header, as it is: the same outbox row always gives the same id, across
 *                retries, crashes and Debezium re-sends
 *   type         the `eventType` header, else the topic name
 *   data         the payload object; customers' `match` rules read its top-level fields
 *   order        per aggregate id (the record key); a record without a key has no order to keep
 */
import { scalarText, stringifyExact } from '../intake/json.ts';
import type { JsonObject } from '../intake/json.ts';
import type { OutboxEvent } from '../intake/outbox.ts';
import type { Routable } from './routable.ts';

export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface OutboxWebhookBody {
  id: string;
  type: string;
  occurredAt: string;
  data: JsonObject;
  source: { topic: string; partition: number; offset: string; aggregateId: string | null };
}

export function outboxWebhookBody(
  event: OutboxEvent,
  at: RecordPosition,
  now: () => number = Date.now,
): OutboxWebhookBody {
  return {
    id: event.id,
    type: event.eventType ?? at.topic,
    occurredAt: new Date(event.timestampMs ?? now()).toISOString(),
    data: event.payload,
    source: { topic: at.topic, partition: at.partition, offset: at.offset, aggregateId: event.aggregateId },
  };
}

export function outboxRoutable(
  event: OutboxEvent,
  at: RecordPosition,
  now: () => number = Date.now,
): Routable {
  const body = outboxWebhookBody(event, at, now);
  return {
    eventId: event.id,
    orderingKey: event.aggregateId ?? event.id,
    fields: event.payload,
    body: event.lossless ? stringifyExact(body) : JSON.stringify(body),
    commitTsMs: event.timestampMs,
    type: body.type,
    label: scalarText(event.payload.status) ?? null,
  };
}
