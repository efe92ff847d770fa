/** The operator surface's pure parts: tickets and roles, per-second stats, query parsing, its config. */
import { describe, expect, it } from 'vitest';
import { Access, TICKET_MS } from '../../src/observe/auth.ts';
import { LiveStats, WINDOW_S } from '../../src/console/live-stats.ts';
import { deliveryQuery, parseTime } from '../../src/observe/routes/params.ts';
import { parseConsoleConfig } from '../../src/config/console.ts';
import type { DeliveryEvent } from '../../src/report/delivery-events.ts';

describe('access', () => {
  const admin = 'admin-token-000000000000';
  const read = 'read-token-0000000000000';
  it.each<[string | undefined, string | null]>([
    [`Bearer ${admin}`, 'admin'],
    [`Bearer ${read}`, 'read'],
    ['Bearer nope', null],
    [admin, null],
    [undefined, null],
    [`Bearer ${admin}x`, null],
  ])('%s → %s', (header, role) => {
    expect(new Access(admin, read).roleOf(header)).toBe(role);
  });

  it('tickets: valid for a minute, for the role they were given, not forgeable', () => {
    let now = 1_000_000;
    const a = new Access(admin, read, () => now);
    const { ticket } = a.ticket('read');
    expect(a.checkTicket(ticket)).toBe('read');
    expect(a.checkTicket(ticket.replace('.read.', '.admin.'))).toBeNull();
    expect(new Access(admin, read, () => now).checkTicket(ticket)).toBeNull(); // another process's key
    expect(a.checkTicket('v1.99999999999.admin.' + 'A'.repeat(43))).toBeNull();
    now += TICKET_MS + 1;
    expect(a.checkTicket(ticket)).toBeNull();
  });

  it('with no token configured, everything is refused', () => {
    expect(new Access(null, null).disabled).toBe(true);
    expect(new Access(admin, null).disabled).toBe(false);
  });
});

describe('live stats', () => {
  const ev = (at: number, kind: DeliveryEvent['kind'], result = '2xx'): DeliveryEvent =>
    ({
      at,
      customer: 'c',
      eventId: 'e',
      packageId: 'p',
      label: null,
      kind,
      result,
      attempts: 1,
    }) as DeliveryEvent;
  it('counts by the second; rates over complete seconds; old seconds fall out', () => {
    let now = 100_000_500;
    const s = new LiveStats(() => now);
    for (let i = 0; i < 30; i++) s.delivery(ev(100_000_000 - 3000 + i * 100, 'delivered'));
    s.delivery(ev(100_000_000 - 1000, 'attempted', '5xx'));
    s.delivery(ev(100_000_000 - 1000, 'attempted', '2xx'));
    s.delivery(ev(100_000_000 - 1000, 'dead'));
    expect(s.rate('c', 10)).toBe(3);
    const points = s.series('c', 4, 1);
    expect(points.map((p) => [p.delivered, p.failed, p.dead])).toEqual([
      [0, 0, 0],
      [10, 0, 0],
      [10, 0, 0],
      [10, 1, 1],
    ]);
    now += WINDOW_S * 1000;
    expect(s.rate('c', 10)).toBe(0);
    expect(s.series('c', 60, 5).every((p) => p.delivered === 0)).toBe(true);
  });
});

describe('query parameters', () => {
  it.each<[Record<string, string>, string | null]>([
    [{}, null],
    [{ customer: 'customer-1', outcome: 'dead', limit: '200' }, null],
    [{ since: '2026-11-22T18:00:00Z', until: '1795370500000' }, null],
    [{ outcome: 'gone' }, 'outcome'],
    [{ limit: '201' }, 'limit'],
    [{ since: 'now' }, 'since'],
    [{ until: '2026-13-45' }, 'until'],
    [{ cursor: 'a b' }, 'cursor'],
    [{ customer: 'UPPER' }, 'customer'],
    [{ package: 'x' }, 'package'],
  ])('%j → %s', (q, field) => {
    const r = deliveryQuery(q);
    if (field === null) expect(r.ok).toBe(true);
    else expect(r.ok ? null : r.bad.field).toBe(field);
  });
  it('times: ISO 8601 or epoch ms', () => {
    expect(parseTime('2026-11-22T18:00:00.000Z')).toBe(Date.UTC(2026, 10, 22, 18));
    expect(parseTime('1795370400000')).toBe(1795370400000);
    expect(parseTime('yesterday')).toBeNull();
  });
});

describe('console config', () => {
  it('defaults: embedded log in memory, a week, 100,000 rows per table', () => {
    const problems: string[] = [];
    expect(parseConsoleConfig({}, problems)).toEqual({
      readToken: null,
      log: {
        kind: 'embedded',
        url: null,
        dir: null,
        maxAgeMs: 168 * 3_600_000,
        maxRows: 100_000,
        buffer: 20_000,
      },
    });
    expect(problems).toEqual([]);
  });
  it('DATABASE_URL: the log goes to Postgres, with its own row default', () => {
    const c = parseConsoleConfig({ DATABASE_URL: 'postgres://x/y' }, []);
    expect(c.log).toMatchObject({ kind: 'postgres', url: 'postgres://x/y', maxRows: 10_000_000 });
  });
  it('lists every problem', () => {
    const problems: string[] = [];
    parseConsoleConfig(
      {
        ADMIN_TOKEN: 'same-token-as-the-read-one',
        READ_TOKEN: 'same-token-as-the-read-one',
        DELIVERY_LOG: 'maybe',
        DELIVERY_LOG_MAX_AGE_HOURS: '0',
        DELIVERY_LOG_MAX_ROWS: 'many',
        DELIVERY_LOG_BUFFER: '-1',
        DATABASE_URL: 'postgres://x/y',
        DELIVERY_LOG_DIR: '/var/lib/log',
      },
      problems,
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'READ_TOKEN',
      'DELIVERY_LOG',
      'DELIVERY_LOG_DIR',
      'DELIVERY_LOG_MAX_AGE_HOURS',
      'DELIVERY_LOG_MAX_ROWS',
      'DELIVERY_LOG_BUFFER',
    ]);
    const short: string[] = [];
    parseConsoleConfig({ READ_TOKEN: 'short' }, short);
    expect(short).toEqual(['READ_TOKEN: must be at least 16 characters']);
    expect(parseConsoleConfig({ DELIVERY_LOG: 'off' }, []).log.kind).toBe('off');
    expect(parseConsoleConfig({ DELIVERY_LOG_DIR: '/data/log' }, []).log.dir).toBe('/data/log');
  });
});
