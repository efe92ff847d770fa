import { describe, expect, it } from 'vitest';
import { classify, parseRetryAfter } from '../../../src/delivery/outcome.ts';
import type { AttemptReport } from '../../../src/delivery/outcome.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');

describe('classify', () => {
  it.each<[string, AttemptReport, string, string, boolean]>([
    ['200', { kind: 'response', status: 200 }, '2xx', 'delivered', false],
    ['204', { kind: 'response', status: 204 }, '2xx', 'delivered', false],
    ['400', { kind: 'response', status: 400 }, '4xx', 'dead', false],
    ['401', { kind: 'response', status: 401 }, '4xx', 'dead', false],
    ['404', { kind: 'response', status: 404 }, '4xx', 'dead', false],
    ['410 Gone', { kind: 'response', status: 410 }, '4xx', 'dead', false],
    ['301 (redirects are not followed)', { kind: 'response', status: 301 }, '4xx', 'dead', false],
    ['408', { kind: 'response', status: 408 }, '4xx', 'retry', true],
    ['429', { kind: 'response', status: 429 }, 'rate_limited', 'retry', false],
    ['500', { kind: 'response', status: 500 }, '5xx', 'retry', true],
    ['502', { kind: 'response', status: 502 }, '5xx', 'retry', true],
    ['503', { kind: 'response', status: 503 }, '5xx', 'retry', true],
    ['timeout', { kind: 'timeout', afterMs: 1000 }, 'timeout', 'retry', true],
    ['refused', { kind: 'network', code: 'ECONNREFUSED', message: 'x' }, 'network', 'retry', true],
    ['reset', { kind: 'network', code: 'ECONNRESET', message: 'x' }, 'network', 'retry', true],
  ])('%s → %s / %s (breaker failure: %s)', (_n, report, result, decision, breakerFailure) => {
    const o = classify(report, NOW);
    expect(o.result).toBe(result);
    expect(o.decision).toBe(decision);
    expect(o.breakerFailure).toBe(breakerFailure);
    expect(o.detail.length).toBeGreaterThan(0);
  });

  it('429 and 503 carry Retry-After; other statuses do not', () => {
    expect(classify({ kind: 'response', status: 429, retryAfter: '7' }, NOW).retryAfterMs).toBe(7000);
    expect(classify({ kind: 'response', status: 503, retryAfter: '2' }, NOW).retryAfterMs).toBe(2000);
    expect(classify({ kind: 'response', status: 500, retryAfter: '2' }, NOW).retryAfterMs).toBeNull();
  });

  it('keeps a snippet of the error body in the detail', () => {
    expect(classify({ kind: 'response', status: 400, bodySnippet: 'bad field x' }, NOW).detail).toBe(
      'HTTP 400: bad field x',
    );
  });
});

describe('parseRetryAfter', () => {
  it.each<[string | null, number | null]>([
    [null, null],
    ['0', 0],
    ['120', 120_000],
    [' 3 ', 3000],
    ['Sun, 22 Nov 2026 12:00:10 GMT', 10_000],
    ['Sun, 22 Nov 2026 11:00:00 GMT', 0],
    ['soon', null],
    ['-5', null],
  ])('%s → %s', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });
});
