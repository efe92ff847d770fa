import { describe, expect, it } from 'vitest';
import { compileMatch, route } from '../../../src/routing/match.ts';
import { eventId, orderingKeyOf, webhookBody } from '../../../src/routing/webhook.ts';
import type { ChangeEvent } from '../../../src/intake/debezium.ts';

const row = { id: 42, package_id: 'PKG-000042', customer_id: 'customer-1', status: 'In Transit' };

describe('match', () => {
  it.each<[string, Parameters<typeof compileMatch>[0], boolean]>([
    ['* takes everything', '*', true],
    ['equal value', { customer_id: 'customer-1' }, true],
    ['other value', { customer_id: 'customer-2' }, false],
    ['one of a list', { customer_id: ['customer-2', 'customer-1'] }, true],
    ['all columns must match', { customer_id: 'customer-1', status: 'Package Delivered' }, false],
    ['numbers compare as text', { id: 42 }, true],
    ['string against number', { id: '42' }, true],
    ['missing column never matches', { region: 'EU' }, false],
  ])('%s', (_n, spec, expected) => {
    expect(compileMatch(spec)(row)).toBe(expected);
  });

  it('routes to every matching customer, in configuration order', () => {
    const routes = [
      { target: 'c1', matches: compileMatch({ customer_id: 'customer-1' }) },
      { target: 'c2', matches: compileMatch({ customer_id: 'customer-2' }) },
      { target: 'audit', matches: compileMatch('*') },
    ];
    expect(route(routes, row)).toEqual(['c1', 'audit']);
    expect(route(routes, { ...row, customer_id: 'nobody' })).toEqual(['audit']);
  });

  it('a bigint column matches its decimal text', () => {
    expect(compileMatch({ id: '9007199254740993' })({ id: 9007199254740993n })).toBe(true);
  });
});

function change(over: Partial<ChangeEvent> = {}, src: Partial<ChangeEvent['source']> = {}): ChangeEvent {
  return {
    op: 'c',
    type: 'package_status.created',
    table: 'public.package_status',
    row,
    previous: null,
    unchanged: [],
    lossless: false,
    key: { package_id: 'PKG-000042' },
    source: {
      name: 'dbserver1',
      db: 'logistics',
      table: 'public.package_status',
      lsn: '24023128',
      txId: 555,
      tsMs: 1_763_830_800_123,
      snapshot: false,
      sequence: null,
      ...src,
    },
    ...over,
  };
}

describe('event identity', () => {
  it('is stable for the same change and has the contract shape', () => {
    expect(eventId(change())).toBe(eventId(change()));
    expect(eventId(change())).toMatch(/^evt_[0-9a-f]{32}$/);
  });

  it('does not depend on delivery-time data (a Debezium re-send has a new ts_ms, same LSN)', () => {
    expect(eventId(change({}, { tsMs: 1 }))).toBe(eventId(change()));
  });

  it.each<[string, ChangeEvent]>([
    ['another LSN', change({}, { lsn: '24023129' })],
    ['another row in the same snapshot LSN', change({ row: { ...row, id: 43 } })],
    ['another op', change({ op: 'u', type: 'package_status.updated' })],
    ['another table', change({ table: 'public.other' })],
    ['another server', change({}, { name: 'dbserver2' })],
  ])('differs for %s', (_n, other) => {
    expect(eventId(other)).not.toBe(eventId(change()));
  });

  it('orders by package id, else by the record key', () => {
    expect(orderingKeyOf(change(), 'x')).toBe('PKG-000042');
    expect(orderingKeyOf(change({ row: { id: 1 } }), 'x')).toBe('{"package_id":"PKG-000042"}');
    expect(orderingKeyOf(change({ row: { id: 1 }, key: null }), 'fallback')).toBe('fallback');
  });
});

describe('webhook body', () => {
  it('has the contract shape', () => {
    const body = webhookBody(change(), 'evt_x');
    expect(body).toEqual({
      id: 'evt_x',
      type: 'package_status.created',
      occurredAt: new Date(1_763_830_800_123).toISOString(),
      data: row,
      previous: null,
      source: { table: 'public.package_status', lsn: '24023128', txId: 555, snapshot: false },
    });
  });

  it('lists unchanged TOAST columns when there are some', () => {
    expect(webhookBody(change({ unchanged: ['notes'] }), 'evt_x').unchanged).toEqual(['notes']);
  });
});
