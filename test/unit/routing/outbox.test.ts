import { describe, expect, it } from 'vitest';
import { outboxRoutable, outboxWebhookBody } from '../../../src/routing/outbox.ts';
import type { OutboxEvent } from '../../../src/intake/outbox.ts';

const now = (): number => Date.parse('2026-11-22T18:00:00.000Z');
const at = { topic: 'outbox.event.package', partition: 2, offset: '7' };

describe('outboxRoutable', () => {
  const event: OutboxEvent = {
    id: 'evt-9',
    eventType: null,
    aggregateId: null,
    payload: { n: 9223372036854775807n, status: 'Package Delivered' },
    lossless: true,
    timestampMs: null,
  };

  it('without a key there is no aggregate to order by: the event is its own ordering key', () => {
    const r = outboxRoutable(event, at, now);
    expect(r.orderingKey).toBe('evt-9');
    expect(JSON.parse(r.body.replace(/9223372036854775807/, '0')).source.aggregateId).toBeNull();
  });

  it('writes int64 payload values back exactly, and takes occurredAt from the clock when the record has no timestamp', () => {
    const r = outboxRoutable(event, at, now);
    expect(r.body).toContain('"n":9223372036854775807');
    expect(outboxWebhookBody(event, at, now).occurredAt).toBe('2026-11-22T18:00:00.000Z');
    expect(r.commitTsMs).toBeNull();
    expect(r.label).toBe('Package Delivered');
  });
});
