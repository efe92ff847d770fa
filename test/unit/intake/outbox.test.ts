import { describe, expect, it } from 'vitest';
import { decodeOutboxRecord } from '../../../src/intake/outbox.ts';
import type { OutboxDecodeResult, OutboxEvent, OutboxRecord } from '../../../src/intake/outbox.ts';
import { outboxFixture, outboxFixtures } from '../../fixtures/outbox-fixtures.ts';

const summary = (r: OutboxDecodeResult): string =>
  r.kind === 'event'
    ? `event:${r.event.id}`
    : r.kind === 'ignored'
      ? `ignored:${r.reason}`
      : `poison:${r.code}`;

function event(record: OutboxRecord): OutboxEvent {
  const r = decodeOutboxRecord(record);
  if (r.kind !== 'event') throw new Error(`expected an event, got ${summary(r)}`);
  return r.event;
}

const ORDER_ID = '4d47e190-0402-4048-bc2c-89dd54343cdc';

describe('outbox fixtures h1–h4', () => {
  // What each record decodes to; every fixture line is listed.
  const EXPECTED: Record<string, string> = {
    'h1 (JsonConverter)': `event:${ORDER_ID}`,
    'h1 (StringConverter)': `event:${ORDER_ID}`,
    'h2#1': 'event:6ab3c538-5899-4a61-aa22-ebf5dee45b9d',
    'h2#2': 'event:e88e463f-047d-49a9-be08-988a1552c571',
    // A log capture that shows no headers: without the `id` header there is no event id.
    'h3#1': 'poison:missing_id',
    'h4#1': `event:${ORDER_ID}`,
    'h4#2': `event:${ORDER_ID}`,
    'h4#3': `event:${ORDER_ID}`,
  };

  it('covers every fixture record', () => {
    expect(outboxFixtures().map((f) => f.name)).toEqual(Object.keys(EXPECTED));
  });

  it.each(Object.entries(EXPECTED))('%s → %s', (name, expected) => {
    expect(summary(decodeOutboxRecord(outboxFixture(name)))).toBe(expected);
  });

  it('the order example gives the same data in every value shape: JSON text, JSON string, expanded, enveloped', () => {
    const shapes = ['h1 (JsonConverter)', 'h1 (StringConverter)', 'h4#1', 'h4#2', 'h4#3'].map((n) =>
      event(outboxFixture(n)),
    );
    for (const e of shapes) {
      expect(e.aggregateId).toBe('1');
      expect(e.payload).toEqual(shapes[0]!.payload);
    }
    expect(shapes[0]!.payload).toMatchObject({ id: 1, customerId: 123, orderDate: '2019-01-31T12:13:01' });
    expect(shapes[0]!.payload.lineItems).toHaveLength(2);
    expect(shapes[0]!.timestampMs).toBe(1556890294484);
  });

  it('h4#2: additional fields placed in the envelope are not data; its eventType is the type', () => {
    const e = event(outboxFixture('h4#2'));
    expect(e.eventType).toBe('OrderCreated');
    expect(Object.keys(e.payload).sort()).toEqual(['customerId', 'id', 'lineItems', 'orderDate']);
  });

  it('h2: StringConverter keys are the aggregate id as plain text', () => {
    const e = event(outboxFixture('h2#1'));
    expect(e.aggregateId).toBe('17ef865e-39bf-404d-8d35-25c61ae0e082');
    expect(e.payload).toEqual({
      'order-id': 1,
      'customer-id': 456,
      'payment-due': 59,
      'credit-card-no': 'xxxx-yyyy-dddd-aaaa',
      type: 'REQUEST',
    });
    expect(e.eventType).toBeNull();
  });

  it('h3 with the id header the EventRouter always adds: key and value inside JsonConverter envelopes', () => {
    const e = event({ ...outboxFixture('h3#1'), headers: { id: Buffer.from('0195c8e2-edc0-7f3b') } });
    expect(e.id).toBe('0195c8e2-edc0-7f3b');
    expect(e.aggregateId).toBe('0195c8e2-edb8-7ead-a8a2-0ba7e275bc56');
    expect(e.payload).toMatchObject({ relation: 'workspace', resource: { id: '4321' } });
  });
});

const base: OutboxRecord = {
  topic: 'outbox.event.package',
  key: '"PKG-000001"',
  value: '{"package_id":"PKG-000001","customer_id":"customer-1","status":"In Transit"}',
  headers: { id: Buffer.from('5e3c1d0e-7a51-4c1f-9a8e-2f4b9c7d1a00') },
};

describe('hand-made records', () => {
  it.each<[string, Partial<OutboxRecord>, string]>([
    ['no headers at all', { headers: undefined }, 'poison:missing_id'],
    ['headers without id', { headers: { eventType: 'x' } }, 'poison:missing_id'],
    ['an empty id', { headers: { id: Buffer.alloc(0) } }, 'poison:missing_id'],
    ['an id with a space', { headers: { id: 'a b' } }, 'poison:bad_id'],
    ['an id with a line break', { headers: { id: 'a\r\nx-evil: 1' } }, 'poison:bad_id'],
    ['an id of 257 characters', { headers: { id: 'x'.repeat(257) } }, 'poison:bad_id'],
    ['a non-ASCII id', { headers: { id: 'idé' } }, 'poison:bad_id'],
    ['value cut short', { value: '{"package_id":' }, 'poison:invalid_json'],
    ['value not UTF-8 JSON', { value: Buffer.from([0xff, 0xfe, 0x00]) }, 'poison:invalid_json'],
    ['a JSON string that is not JSON inside', { value: '"{not json"' }, 'poison:invalid_json'],
    ['an array payload', { value: '[1,2]' }, 'poison:bad_payload'],
    ['an array inside a JSON string', { value: '"[1,2]"' }, 'poison:bad_payload'],
    ['a number payload', { value: '42' }, 'poison:bad_payload'],
    [
      'a string payload inside the envelope holding an array',
      { value: '{"schema":{"type":"string"},"payload":"[1]"}' },
      'poison:bad_payload',
    ],
    ['a Kafka tombstone (even without id)', { value: null, headers: undefined }, 'ignored:tombstone'],
    ['an empty value', { value: Buffer.alloc(0) }, 'ignored:tombstone'],
    [
      'an envelope around a null payload',
      { value: '{"schema":{"type":"string","optional":true},"payload":null}' },
      'ignored:tombstone',
    ],
    ['a blank payload string', { value: '"  "' }, 'ignored:tombstone'],
  ])('%s → %s', (_name, over, expected) => {
    expect(summary(decodeOutboxRecord({ ...base, ...over }))).toBe(expected);
  });

  it('poison reasons say what is wrong', () => {
    const r = decodeOutboxRecord({ ...base, headers: {} });
    expect(r).toMatchObject({ kind: 'poison', code: 'missing_id' });
    expect(r.kind === 'poison' && r.reason).toMatch(/`id` header/);
    const j = decodeOutboxRecord({ ...base, value: '{"a":' });
    expect(j.kind === 'poison' && j.reason).toMatch(/^value is not valid JSON/);
  });

  it('reads headers written by a JsonConverter header converter, with or without schemas', () => {
    expect(event({ ...base, headers: { id: '"evt-1"' } }).id).toBe('evt-1');
    expect(event({ ...base, headers: { id: '{"schema":{"type":"string"},"payload":"evt-2"}' } }).id).toBe(
      'evt-2',
    );
    expect(event({ ...base, headers: { id: '42' } }).id).toBe('42');
  });

  it('eventType: the header, else the topic is left to the caller (null)', () => {
    expect(
      event({ ...base, headers: { ...base.headers, eventType: Buffer.from('package.moved') } }).eventType,
    ).toBe('package.moved');
    expect(event(base).eventType).toBeNull();
    expect(event({ ...base, headers: { ...base.headers, eventType: '' } }).eventType).toBeNull();
  });

  it('the eventType header wins over one placed in the envelope', () => {
    const record = outboxFixture('h4#2');
    expect(event({ ...record, headers: { ...record.headers, eventType: 'FromHeader' } }).eventType).toBe(
      'FromHeader',
    );
  });

  it('without a schema, an object with payload and eventType fields is the data itself', () => {
    const e = event({ ...base, value: '{"payload":{"a":1},"eventType":"X"}' });
    expect(e.payload).toEqual({ payload: { a: 1 }, eventType: 'X' });
    expect(e.eventType).toBeNull();
  });

  it.each<[string, string | Buffer | null, string | null]>([
    ['JSON string key', '"PKG-1"', 'PKG-1'],
    ['plain text key', 'PKG-1', 'PKG-1'],
    ['enveloped key', '{"schema":{"type":"string"},"payload":"PKG-1"}', 'PKG-1'],
    ['numeric key', Buffer.from('{"schema":{"type":"int64"},"payload":42}'), '42'],
    ['object key (canonical text)', '{"z":1,"a":"b"}', '{"a":"b","z":1}'],
    ['no key', null, null],
    ['empty key', '', null],
  ])('aggregate id from a %s', (_name, key, expected) => {
    expect(event({ ...base, key }).aggregateId).toBe(expected);
  });

  it('keeps int64 values exact', () => {
    const e = event({ ...base, value: '{"n":9223372036854775807,"customer_id":"c"}' });
    expect(e.lossless).toBe(true);
    expect(e.payload.n).toBe(9223372036854775807n);
    const inner = event({ ...base, value: JSON.stringify('{"n":9223372036854775807}') });
    expect(inner.lossless).toBe(true);
    expect(inner.payload.n).toBe(9223372036854775807n);
  });

  it('record timestamp: a number of ms, or null', () => {
    expect(event({ ...base, timestamp: '1795370400123' }).timestampMs).toBe(1795370400123);
    expect(event({ ...base, timestamp: 'soon' }).timestampMs).toBeNull();
    expect(event(base).timestampMs).toBeNull();
  });
});
