/** The log's pure parts: the wire format round-trips anything; the reducer folds steps into states. */
import { describe, expect, it } from 'vitest';
import { decode, encodeChange, encodeDelivery } from '../../src/log/wire.ts';
import type { LogRecord } from '../../src/log/wire.ts';
import { reduce } from '../../src/log/reduce.ts';
import type { DeliveryEvent } from '../../src/report/delivery-events.ts';
import { change, step } from './conformance.ts';

const encode = (records: LogRecord[]): string =>
  records.map((r) => (r.record === 'change' ? encodeChange(r) : encodeDelivery(r as DeliveryEvent))).join('');

describe('wire format', () => {
  const tricky = 'tab\there\nnew line \\N back\\slash \r end';
  it.each<[string, LogRecord]>([
    ['a change', change('evt_1', 'PKG-1', 'In Transit', ['customer-1', 'customer-2'], 1000)],
    [
      'a change routed nowhere, null label',
      { ...change('evt_2', 'P', 'x', [], 1), label: null, occurredAt: null },
    ],
    [
      'free text with tabs, newlines, backslashes',
      { ...change(tricky, tricky, tricky, ['c'], 5), body: tricky },
    ],
    ['accepted', step('evt_1', 'PKG-1', 'customer-1', 10, { kind: 'accepted' })],
    ['sending', step('evt_1', 'PKG-1', 'customer-1', 11, { kind: 'sending', attempt: 3 })],
    [
      'attempted',
      step('evt_1', 'PKG-1', 'customer-1', 12, {
        kind: 'attempted',
        attempt: 3,
        result: 'timeout',
        httpStatus: null,
        durationMs: 60000.5,
        detail: tricky,
      }),
    ],
    ['parked', step('evt_1', 'PKG-1', 'customer-1', 13, { kind: 'parked', why: 'retry', dueAt: 99 })],
    ['parked, no due time', step('e', 'p', 'c', 13, { kind: 'parked', why: 'capacity', dueAt: null })],
    ['delivered', step('e', 'p', 'c', 14, { kind: 'delivered', attempts: 2, endToEndMs: null })],
    ['dead', step('e', 'p', 'c', 15, { kind: 'dead', attempts: 8, reason: tricky })],
    ['replayed', step('e', 'p', 'c', 16, { kind: 'replayed' })],
    ['discarded', step('e', 'p', 'c', 17, { kind: 'discarded' })],
    ['dropped', step('e', 'p', 'c', 18, { kind: 'dropped' })],
  ])('%s round-trips', (_name, record) => {
    const { records, bad } = decode(encode([record]));
    expect(bad).toBe(0);
    expect(records).toEqual([record]);
  });

  it('a line that does not parse is skipped and counted', () => {
    const good = encode([step('e', 'p', 'c', 1, { kind: 'accepted' })]);
    expect(decode(`X\tnonsense\n${good}D\t1\tc\n`)).toMatchObject({
      bad: 2,
      records: [{ kind: 'accepted' }],
    });
  });
});

describe('reduce', () => {
  const at = 1000;
  it.each<[string, LogRecord[], Record<string, unknown>, string[]]>([
    [
      'accepted → pending',
      [step('e', 'p', 'c', at, { kind: 'accepted' })],
      { state: 'pending', attempts: 0 },
      [],
    ],
    [
      'sending → in flight',
      [
        step('e', 'p', 'c', at, { kind: 'accepted' }),
        step('e', 'p', 'c', at + 1, { kind: 'sending', attempt: 1 }),
      ],
      { state: 'in_flight', firstAt: at, lastAt: at + 1 },
      [],
    ],
    [
      'a failed attempt then parked for a retry',
      [
        step('e', 'p', 'c', at, { kind: 'sending', attempt: 1 }),
        step('e', 'p', 'c', at + 5, {
          kind: 'attempted',
          attempt: 1,
          result: '5xx',
          httpStatus: 502,
          durationMs: 5,
          detail: 'HTTP 502',
        }),
        step('e', 'p', 'c', at + 6, { kind: 'parked', why: 'retry', dueAt: at + 1006 }),
      ],
      {
        state: 'parked',
        attempts: 1,
        lastResult: '5xx',
        lastHttpStatus: 502,
        lastError: 'HTTP 502',
        parkedWhy: 'retry',
        dueAt: at + 1006,
      },
      ['attempt', 'parked'],
    ],
    [
      'a successful attempt: on the row, not a step',
      [
        step('e', 'p', 'c', at, { kind: 'sending', attempt: 1 }),
        step('e', 'p', 'c', at + 7, {
          kind: 'attempted',
          attempt: 1,
          result: '2xx',
          httpStatus: 204,
          durationMs: 6.5,
          detail: '',
        }),
        step('e', 'p', 'c', at + 8, { kind: 'delivered', attempts: 1, endToEndMs: 12 }),
      ],
      {
        state: 'delivered',
        attempts: 1,
        lastHttpStatus: 204,
        lastAttempt: 1,
        lastAttemptAt: at + 7,
        lastDurationMs: 6.5,
      },
      [],
    ],
    [
      'parked for capacity: a state, not a step',
      [step('e', 'p', 'c', at, { kind: 'parked', why: 'capacity', dueAt: null })],
      { state: 'parked', parkedWhy: 'capacity' },
      [],
    ],
    [
      'delivered clears parking, keeps when',
      [
        step('e', 'p', 'c', at, { kind: 'parked', why: 'retry', dueAt: 5 }),
        step('e', 'p', 'c', at + 9, { kind: 'delivered', attempts: 2, endToEndMs: 40 }),
      ],
      { state: 'delivered', parkedWhy: null, dueAt: null, deliveredAt: at + 9, endToEndMs: 40 },
      ['parked'],
    ],
    [
      'dead keeps its reason; a replay reopens it',
      [
        step('e', 'p', 'c', at, { kind: 'dead', attempts: 1, reason: 'HTTP 410' }),
        step('e', 'p', 'c', at + 1, { kind: 'replayed' }),
      ],
      { state: 'pending', deadReason: 'HTTP 410', deadAt: at, replays: 1 },
      ['dead', 'replayed'],
    ],
  ])('%s', (_name, records, want, steps) => {
    const batch = reduce(records);
    expect(batch.deliveries).toHaveLength(1);
    expect(batch.deliveries[0]).toMatchObject(want);
    expect(batch.steps.map((s) => s.kind)).toEqual(steps);
  });

  it('one row per delivery and per change, whatever the number of steps', () => {
    const batch = reduce([
      change('e1', 'p', 's', ['a', 'b'], at),
      change('e1', 'p', 's', ['a', 'b'], at), // seen twice (re-read after a rebalance)
      step('e1', 'p', 'a', at, { kind: 'accepted' }),
      step('e1', 'p', 'b', at, { kind: 'accepted' }),
      step('e1', 'p', 'a', at, { kind: 'sending', attempt: 1 }),
    ]);
    expect(batch.changes).toHaveLength(1);
    expect(batch.deliveries.map((d) => [d.customer, d.state])).toEqual([
      ['a', 'in_flight'],
      ['b', 'pending'],
    ]);
  });

  it("a change alone makes its customers' deliveries pending, as their `accepted` would (the host sends none)", () => {
    const alone = reduce([change('e1', 'p', 's', ['a', 'b'], at)]);
    const withAccepted = reduce([
      change('e1', 'p', 's', ['a', 'b'], at),
      step('e1', 'p', 'a', at, { kind: 'accepted' }),
      step('e1', 'p', 'b', at, { kind: 'accepted' }),
    ]);
    expect(alone.deliveries).toEqual(withAccepted.deliveries);
    expect(alone.deliveries.map((d) => [d.customer, d.state, d.firstAt, d.packageId, d.status])).toEqual([
      ['a', 'pending', at, 'p', 's'],
      ['b', 'pending', at, 'p', 's'],
    ]);
    // Routed to nobody: no delivery.
    expect(reduce([change('e2', 'p', 's', [], at)]).deliveries).toEqual([]);
  });
});
