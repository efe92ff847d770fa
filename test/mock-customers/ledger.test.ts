import { describe, expect, it } from 'vitest';
import { extractEventFacts, judgeOrder, Ledger } from '../../mock-customers/ledger.ts';
import type { EventFacts } from '../../mock-customers/ledger.ts';
import fc from 'fast-check';
import { LatencyWindow, percentile } from '../../mock-customers/percentiles.ts';
import { eventBody } from './helpers.ts';

const T0 = Date.UTC(2026, 10, 22, 18, 0, 0);

function facts(
  eventId: string,
  packageId: string | null,
  position: string | null,
  occurredAtOffsetMs: number | null,
): EventFacts {
  return {
    eventId,
    bodyId: eventId,
    type: position === null ? 'package_status.deleted' : 'package_status.updated',
    packageId,
    status: 'In Transit',
    position,
    occurredAt: occurredAtOffsetMs === null ? null : new Date(T0 + occurredAtOffsetMs).toISOString(),
  };
}

describe('extractEventFacts', () => {
  it('reads a CONTRACT §5 body', () => {
    const body = eventBody({ id: 'evt_1', packageId: 'PKG-7', position: 42, status: 'Package Posted' });
    expect(extractEventFacts('evt_1', body)).toEqual({
      eventId: 'evt_1',
      bodyId: 'evt_1',
      type: 'package_status.created',
      packageId: 'PKG-7',
      status: 'Package Posted',
      position: '42',
      occurredAt: body['occurredAt'],
    });
  });

  it.each([
    [
      'a bigint as a string',
      { type: 'package_status.updated', data: { id: '9007199254740993' } },
      '9007199254740993',
    ],
    ['leading zeros', { type: 'package_status.snapshot', data: { id: '007' } }, '7'],
    [
      'a deleted event (before-image id is an old row)',
      { type: 'package_status.deleted', data: { id: 5 } },
      null,
    ],
    ['a non-integer id', { type: 'package_status.created', data: { id: 1.5 } }, null],
    ['no data', { type: 'package_status.created' }, null],
  ])('position from %s', (_name, body, position) => {
    expect(extractEventFacts('evt', body).position).toBe(position);
  });

  it('survives bodies of the wrong shape', () => {
    expect(extractEventFacts('evt', 'nope')).toMatchObject({
      eventId: 'evt',
      packageId: null,
      position: null,
    });
  });
});

describe('judgeOrder', () => {
  // Each row: a sequence of first deliveries and the verdict for each.
  it.each<[string, EventFacts[], string[]]>([
    [
      'increasing positions',
      [facts('a', 'P', '1', 0), facts('b', 'P', '2', 1), facts('c', 'P', '10', 2)],
      ['in_order', 'in_order', 'in_order'],
    ],
    [
      'a lower position after a higher one',
      [facts('a', 'P', '2', 0), facts('b', 'P', '1', 1), facts('c', 'P', '3', 2)],
      ['in_order', 'out_of_order', 'in_order'],
    ],
    [
      'positions compare as integers, not strings',
      [facts('a', 'P', '9', 0), facts('b', 'P', '10', 1)],
      ['in_order', 'in_order'],
    ],
    [
      'packages are independent',
      [facts('a', 'P', '5', 0), facts('b', 'Q', '1', 1)],
      ['in_order', 'in_order'],
    ],
    [
      'same row changed again: occurredAt decides',
      [facts('a', 'P', '5', 10), facts('b', 'P', '5', 20), facts('c', 'P', '5', 15)],
      ['in_order', 'in_order', 'out_of_order'],
    ],
    [
      'a delete falls back to occurredAt',
      [facts('a', 'P', '5', 10), facts('d', 'P', null, 5)],
      ['in_order', 'out_of_order'],
    ],
    [
      'a delete after the newest change is in order',
      [facts('a', 'P', '5', 10), facts('d', 'P', null, 11)],
      ['in_order', 'in_order'],
    ],
    [
      'an out-of-order event does not lower the mark',
      [facts('a', 'P', '5', 0), facts('b', 'P', '3', 1), facts('c', 'P', '4', 2)],
      ['in_order', 'out_of_order', 'out_of_order'],
    ],
    [
      'no package id or no position and no time: unknown',
      [facts('a', null, '5', 0), facts('b', 'P', null, null)],
      ['unknown', 'unknown'],
    ],
  ])('%s', (_name, sequence, verdicts) => {
    const marks = new Map();
    expect(sequence.map((event) => judgeOrder(marks, event))).toEqual(verdicts);
  });
});

describe('Ledger', () => {
  it('counts received, unique, duplicates and out-of-order; judges duplicates only once', () => {
    const ledger = new Ledger();
    const at = T0;
    expect(ledger.recordDelivered(facts('a', 'P', '2', 0), at)).toEqual({
      duplicate: false,
      outOfOrder: false,
    });
    expect(ledger.recordDelivered(facts('b', 'P', '1', 1), at)).toEqual({
      duplicate: false,
      outOfOrder: true,
    });
    // A re-delivery of an old event is a duplicate, not a second out-of-order.
    expect(ledger.recordDelivered(facts('b', 'P', '1', 1), at)).toEqual({
      duplicate: true,
      outOfOrder: false,
    });
    expect(ledger.recordDelivered(facts('a', 'P', '2', 0), at)).toEqual({
      duplicate: true,
      outOfOrder: false,
    });
    expect(ledger.stats()).toMatchObject({ received: 4, unique: 2, duplicates: 2, outOfOrder: 1 });
  });

  it('keeps separate counters for refusals and injected failures', () => {
    const ledger = new Ledger();
    ledger.countRequest();
    ledger.recordInvalidSignature('bad_signature');
    ledger.recordInvalidSignature('stale_timestamp');
    ledger.recordInjected('error');
    ledger.recordInjected('rateLimited');
    ledger.recordAbandoned();
    ledger.recordMalformed();
    expect(ledger.stats()).toMatchObject({
      requests: 1,
      received: 0,
      unique: 0,
      invalidSignatures: 2,
      invalidSignatureReasons: { missing_headers: 0, stale_timestamp: 1, bad_signature: 1 },
      injected: { rateLimited: 1, reset: 0, hang: 0, error: 1, gone: 0 },
      abandoned: 1,
      malformed: 1,
    });
  });

  it('counts a body id that differs from webhook-id', () => {
    const ledger = new Ledger();
    ledger.recordDelivered({ ...facts('a', 'P', '1', 0), bodyId: 'other' }, T0);
    expect(ledger.stats().idMismatches).toBe(1);
  });

  it('keeps the most recent deliveries up to the limit', () => {
    const ledger = new Ledger({ deliveryLogLimit: 3 });
    for (let i = 1; i <= 10; i += 1) ledger.recordDelivered(facts(`e${i}`, 'P', String(i), i), T0 + i);
    const snapshot = ledger.snapshot();
    expect(snapshot.deliveries.map((d) => d.eventId)).toEqual(['e8', 'e9', 'e10']);
    expect(snapshot.deliveriesDropped).toBe(7);
    expect(snapshot.deliveries[2]).toEqual({
      eventId: 'e10',
      type: 'package_status.updated',
      packageId: 'P',
      status: 'In Transit',
      position: '10',
      occurredAt: new Date(T0 + 10).toISOString(),
      receivedAt: new Date(T0 + 10).toISOString(),
      duplicate: false,
      outOfOrder: false,
    });
  });

  it('keeps no list with limit 0 but still counts', () => {
    const ledger = new Ledger({ deliveryLogLimit: 0 });
    ledger.recordDelivered(facts('a', 'P', '1', 0), T0);
    expect(ledger.snapshot()).toMatchObject({ received: 1, deliveries: [], deliveriesDropped: 0 });
  });
});

describe('percentile (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it.each([
    [[], 50, 0],
    [[7], 99, 7],
    [ten, 50, 5],
    [ten, 90, 9],
    [ten, 99, 10],
    [ten, 100, 10],
    [ten, 10, 1],
    [[1, 2], 50, 1],
    [[1, 2], 51, 2],
  ])('%j p%f = %f', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('refuses p outside (0, 100]', () => {
    expect(() => percentile(ten, 0)).toThrow(RangeError);
    expect(() => percentile(ten, 101)).toThrow(RangeError);
  });
});

describe('LatencyWindow', () => {
  it('summarises the recent window; count and max cover everything', () => {
    const window = new LatencyWindow(100);
    window.add(10_000);
    for (let i = 1; i <= 100; i += 1) window.add(i);
    expect(window.summary()).toEqual({ count: 101, p50: 50, p90: 90, p99: 99, max: 10_000 });
  });

  it('is all zeros when empty', () => {
    expect(new LatencyWindow().summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('answers what sorting the window would (counts per 0.01 ms, samples leaving the window)', () => {
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.oneof(
            fc.double({ min: 0, max: 5, noNaN: true }),
            fc.double({ min: 0, max: 60_000, noNaN: true }),
            fc.constantFrom(0, 0.004, 0.005, 0.015, 1, 1.005, 30_000),
          ),
          { maxLength: 200 },
        ),
        (capacity, values) => {
          const window = new LatencyWindow(capacity);
          for (const v of values) window.add(v);
          const kept = Float64Array.from(values.slice(-capacity)).sort();
          expect(window.summary()).toEqual({
            count: values.length,
            p50: round(percentile(kept, 50)),
            p90: round(percentile(kept, 90)),
            p99: round(percentile(kept, 99)),
            max: round(Math.max(0, ...values)),
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
