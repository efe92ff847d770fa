import { describe, expect, it } from 'vitest';
import type { CustomerSummary, DemoSummary } from '../../demo/summary.ts';
import {
  formatMs,
  redraw,
  renderFrame,
  renderPlainLine,
  renderSummary,
  screenRows,
  summaryLine,
} from '../../demo/view.ts';
import type { Frame } from '../../demo/view.ts';

function customer(over: Partial<CustomerSummary>): CustomerSummary {
  const stats = { count: 10, p50Ms: 302, p99Ms: 320, maxMs: 330 };
  return {
    id: 'customer-1',
    role: 'fast',
    mockLatencyMs: 300,
    sent: 10,
    delivered: 10,
    undelivered: 0,
    inflight: 0,
    pending: 0,
    parked: 0,
    breaker: 'closed',
    e2e: stats,
    e2eFirstHalf: stats,
    e2eSecondHalf: stats,
    integrator: { delivered: 10, deadLettered: 0, e2eP50Ms: 375, e2eP99Ms: 498 },
    ...over,
  };
}

const none = { count: 0, p50Ms: null, p99Ms: null, maxMs: null };
const customers = [
  customer({}),
  customer({
    id: 'customer-2',
    role: 'slow',
    mockLatencyMs: 30_000,
    sent: 12,
    delivered: 0,
    undelivered: 12,
    inflight: 12,
    pending: 12,
    parked: 3,
    e2e: none,
    e2eFirstHalf: none,
    e2eSecondHalf: none,
    integrator: null,
  }),
];

const frame: Frame = {
  elapsedS: 3.7,
  durationS: 60,
  generating: true,
  rate: 20,
  source: 'in-memory topic t (6 partitions)',
  store: 'memory',
  metricsUrl: 'http://127.0.0.1:9/metrics',
  mocksUrl: 'http://127.0.0.1:8',
  customers,
};

describe('formatMs', () => {
  it.each([
    { v: null, want: '–' },
    { v: 0, want: '0 ms' },
    { v: 302.4, want: '302 ms' },
    { v: 9999, want: '9999 ms' },
    { v: 10_000, want: '10.0 s' },
    { v: 30_023, want: '30.0 s' },
  ])('$v → $want', ({ v, want }) => {
    expect(formatMs(v)).toBe(want);
  });
});

describe('renderFrame', () => {
  it('draws a header and one aligned row per customer', () => {
    expect(renderFrame(frame)).toEqual([
      'package-status integrator demo — 3 s of 60 s — generating 20 events/s',
      'source: in-memory topic t (6 partitions); store: memory',
      'metrics: http://127.0.0.1:9/metrics   mock customers: http://127.0.0.1:8/stats',
      '',
      'customer    answers in  sent  delivered  in flight  pending  parked  p50 e2e  p99 e2e  breaker',
      'customer-1      300 ms    10         10          0        0       0   302 ms   320 ms  closed',
      'customer-2      30.0 s    12          0         12       12       3        –        –  closed',
      '',
      "e2e = from the change's commit to the customer's 2xx. pending = in memory, parked = in the store.",
      'Ctrl-C ends early with the summary.',
    ]);
  });

  it('says when the generator has stopped', () => {
    expect(renderFrame({ ...frame, generating: false })[0]).toMatch(/generator stopped, draining$/);
  });
});

describe('renderPlainLine', () => {
  it('puts every customer on one line', () => {
    expect(renderPlainLine(frame)).toBe(
      '[   3s] customer-1 sent=10 delivered=10 inflight=0 pending=0 parked=0 p50=302ms p99=320ms breaker=closed' +
        ' | customer-2 sent=12 delivered=0 inflight=12 pending=12 parked=3 p50=– p99=– breaker=closed',
    );
    expect(renderPlainLine({ ...frame, elapsedS: 58, generating: false })).toMatch(
      /^\[ {2}58s\] \(draining\) /,
    );
  });

  it('writes unknown lane values as –', () => {
    const line = renderPlainLine({ ...frame, customers: [customer({ inflight: null, breaker: null })] });
    expect(line).toMatch(/inflight=– /);
    expect(line).toMatch(/breaker=-$/);
  });
});

describe('screenRows / redraw', () => {
  it.each([
    { lines: ['abc', '', 'de'], columns: 80, want: 3 },
    { lines: ['x'.repeat(80)], columns: 80, want: 1 },
    { lines: ['x'.repeat(81)], columns: 80, want: 2 },
    { lines: ['—'.repeat(10)], columns: 5, want: 2 },
    { lines: ['x'.repeat(500)], columns: undefined, want: 1 },
  ])('$want rows', ({ lines, columns, want }) => {
    expect(screenRows(lines, columns)).toBe(want);
  });

  it('moves up over the previous frame and clears it', () => {
    expect(redraw(0, ['a', 'b'])).toBe('a\nb\n');
    expect(redraw(2, ['c'])).toBe('\x1b[2F\x1b[0Jc\n');
  });
});

describe('renderSummary / summaryLine', () => {
  const s: DemoSummary = {
    source: 'in-memory topic t (6 partitions)',
    store: 'memory',
    durationS: 20,
    generatedForS: 17,
    rate: 20,
    metricsUrl: 'http://127.0.0.1:9/metrics',
    customers,
    verdict: { outcome: 'isolated', text: 'ISOLATED: it worked.' },
  };

  it('a table with the numbers, the verdict last', () => {
    const lines = renderSummary(s);
    expect(lines[0]).toBe(
      'Summary after 20 s (events generated for 17 s at 20/s; source: in-memory topic t (6 partitions), store: memory)',
    );
    expect(lines[2]).toMatch(
      /^customer +role +answers in +sent +delivered +waiting +p50 e2e +p99 e2e +max e2e/,
    );
    expect(lines[3]).toMatch(
      /^customer-1 +fast +300 ms +10 +10 +0 +302 ms +320 ms +330 ms +320 ms → 320 ms +498 ms$/,
    );
    expect(lines[4]).toMatch(/^customer-2 +slow +30\.0 s +12 +0 +12 +– +– +– +– → – +–$/);
    expect(lines[lines.length - 1]).toBe('Verdict: ISOLATED: it worked.');
  });

  it('one parseable line', () => {
    const line = summaryLine(s);
    expect(line.startsWith('DEMO_SUMMARY {')).toBe(true);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line.slice('DEMO_SUMMARY '.length))).toEqual(s);
  });
});
