import { describe, expect, it } from 'vitest';
import { toRoutable } from '../../../src/routing/decode.ts';
import type { Decoded } from '../../../src/routing/decode.ts';
import { compileMatch, route } from '../../../src/routing/match.ts';
import { decodeRecord } from '../../../src/intake/debezium.ts';
import type { SourceRecord } from '../../../src/intake/source.ts';
import { eventId, serialiseBody, webhookBody } from '../../../src/routing/webhook.ts';
import { changeValue, keyOf, row } from '../../harness/events.ts';
import { outboxFixture } from '../../fixtures/outbox-fixtures.ts';

const NOW = Date.parse('2026-11-22T18:00:00.000Z');
const now = (): number => NOW;
const OUTBOX = 'outbox.event.package';
const CHANGES = 'dbserver1.public.package_status';
const opts = { outboxTopics: new Set([OUTBOX]), now };

const at = (topic: string, offset = '7'): Pick<SourceRecord, 'topic' | 'partition' | 'offset'> => ({
  topic,
  partition: 2,
  offset,
});

const payload = {
  id: 42,
  package_id: 'PKG-000042',
  customer_id: 'customer-1',
  status: 'In Transit',
  actual_address: 'Hub 1',
  next_address: 'Hub 2',
  created_at: '2026-11-22T18:00:00.123Z',
};

function outboxRecord(over: Partial<SourceRecord> = {}): SourceRecord {
  return {
    ...at(OUTBOX),
    key: Buffer.from('"PKG-000042"'),
    value: Buffer.from(JSON.stringify(JSON.stringify(payload))),
    headers: {
      id: Buffer.from('0b9a2f4e-4f7c-4d0e-9d5c-1a2b3c4d5e6f'),
      eventType: Buffer.from('package.moved'),
    },
    timestamp: '1795370400123',
    ...over,
  };
}

function routable(d: Decoded) {
  if (d.kind !== 'routable') throw new Error(`expected routable, got ${d.kind}: ${JSON.stringify(d)}`);
  return d.routable;
}

describe('toRoutable: outbox topics', () => {
  it('an EventRouter record becomes a webhook whose id is the outbox id, type the eventType header, data the payload', () => {
    const r = routable(toRoutable(outboxRecord(), opts));
    expect(r.eventId).toBe('0b9a2f4e-4f7c-4d0e-9d5c-1a2b3c4d5e6f');
    expect(r.orderingKey).toBe('PKG-000042');
    expect(r.fields).toEqual(payload);
    expect(r.type).toBe('package.moved');
    expect(r.commitTsMs).toBe(1795370400123);
    expect(r.label).toBe('In Transit');
    expect(JSON.parse(r.body)).toEqual({
      id: '0b9a2f4e-4f7c-4d0e-9d5c-1a2b3c4d5e6f',
      type: 'package.moved',
      occurredAt: '2026-11-22T18:00:00.123Z',
      data: payload,
      source: { topic: OUTBOX, partition: 2, offset: '7', aggregateId: 'PKG-000042' },
    });
  });

  it('without an eventType header the type is the topic name', () => {
    const r = routable(toRoutable(outboxRecord({ headers: { id: 'evt-1' } }), opts));
    expect(r.type).toBe(OUTBOX);
    expect(JSON.parse(r.body).type).toBe(OUTBOX);
  });

  it('the same outbox record always gives the same id and body (a re-send is recognisable)', () => {
    const a = routable(toRoutable(outboxRecord(), opts));
    const b = routable(toRoutable(outboxRecord(), { ...opts, now: () => NOW + 60_000 }));
    expect(b.eventId).toBe(a.eventId);
    expect(b.body).toBe(a.body);
  });

  it('accepts the topic list as an array too', () => {
    expect(toRoutable(outboxRecord(), { outboxTopics: [OUTBOX], now }).kind).toBe('routable');
  });

  it('no id header → poison, with the reason', () => {
    const d = toRoutable(outboxRecord({ headers: { eventType: 'x' } }), opts);
    expect(d).toMatchObject({ kind: 'poison', code: 'missing_id' });
    expect(d.kind === 'poison' && d.reason).toMatch(/id/);
  });

  it('a tombstone is ignored', () => {
    expect(toRoutable(outboxRecord({ value: null }), opts)).toEqual({ kind: 'ignored', reason: 'tombstone' });
  });

  it('a Debezium change event on an outbox topic is not an outbox event: poison (no id header)', () => {
    const d = toRoutable(
      {
        ...at(OUTBOX),
        key: Buffer.from(keyOf('PKG-1')),
        value: Buffer.from(changeValue(row('PKG-1', 'customer-1', 'In Transit', 1))),
      },
      opts,
    );
    expect(d).toMatchObject({ kind: 'poison', code: 'missing_id' });
  });

  it('the real and reconstructed EventRouter fixtures route by their payload fields', () => {
    const routes = [
      { target: 'orders-of-123', matches: compileMatch({ customerId: 123 }) },
      { target: 'customer-456', matches: compileMatch({ 'customer-id': '456' }) },
      { target: 'everything', matches: compileMatch('*') },
    ];
    const h4 = routable(toRoutable({ ...outboxFixture('h4#2'), topic: OUTBOX }, opts));
    expect(route(routes, h4.fields)).toEqual(['orders-of-123', 'everything']);
    expect(h4.type).toBe('OrderCreated');
    const h2 = routable(toRoutable({ ...outboxFixture('h2#1'), topic: OUTBOX }, opts));
    expect(route(routes, h2.fields)).toEqual(['customer-456', 'everything']);
    expect(h2.type).toBe(OUTBOX);
  });
});

describe('toRoutable: Debezium topics', () => {
  it('gives what the pipeline built before: id, ordering key, row, exact body, commit time, type, label', () => {
    const r0 = row('PKG-000007', 'customer-2', 'Out for Delivery', 3);
    const record: SourceRecord = {
      ...at(CHANGES),
      key: Buffer.from(keyOf('PKG-000007')),
      value: Buffer.from(changeValue(r0, { op: 'u', tsMs: 1795370400999 })),
    };
    const decoded = decodeRecord(record);
    if (decoded.kind !== 'change') throw new Error('fixture should decode');
    const id = eventId(decoded.event);
    const r = routable(toRoutable(record, opts));
    expect(r).toEqual({
      eventId: id,
      orderingKey: 'PKG-000007',
      fields: decoded.event.row,
      body: serialiseBody(webhookBody(decoded.event, id, now), decoded.event.lossless),
      commitTsMs: 1795370400999,
      type: 'package_status.updated',
      label: 'Out for Delivery',
    });
  });

  it('passes ignored records and poison through with their reasons', () => {
    expect(toRoutable({ ...at(CHANGES), key: null, value: null }, opts)).toEqual({
      kind: 'ignored',
      reason: 'tombstone',
    });
    expect(toRoutable({ ...at(CHANGES), key: null, value: Buffer.from('{"op":') }, opts)).toMatchObject({
      kind: 'poison',
      code: 'invalid_json',
    });
  });

  it('an outbox record on a Debezium topic is poison (it is not a change event)', () => {
    expect(toRoutable({ ...outboxRecord(), topic: CHANGES }, opts)).toMatchObject({
      kind: 'poison',
      code: 'not_a_change_event',
    });
  });
});

describe('toRoutable never throws', () => {
  it('an exception while decoding becomes poison `undecodable` with its message', () => {
    const boom = (): number => {
      throw new Error('clock broke');
    };
    // No record timestamp: the outbox body asks the clock.
    expect(toRoutable(outboxRecord({ timestamp: undefined }), { ...opts, now: boom })).toEqual({
      kind: 'poison',
      code: 'undecodable',
      reason: 'undecodable: clock broke',
    });
    const record = {
      ...at(CHANGES),
      key: null,
      get value(): Buffer {
        throw new Error('value unreadable');
      },
    } as SourceRecord;
    expect(toRoutable(record, opts)).toEqual({
      kind: 'poison',
      code: 'undecodable',
      reason: 'undecodable: value unreadable',
    });
  });
});
