/**
 * Classification of one attempt (pure), done once: everything downstream reads the decision, never the
 * status code or an error message.
 *
 *   2xx                                  → delivered
 *   408, 5xx, timeout, network error     → retry (counts against the breaker)
 *   429                                  → retry, honouring Retry-After (the customer is alive: not a breaker failure)
 *   any other status (4xx, 3xx, 1xx)     → dead letter at once: sending it again cannot succeed
 */
export type AttemptResult = '2xx' | '4xx' | '5xx' | 'timeout' | 'network' | 'breaker_open' | 'rate_limited';
export type Decision = 'delivered' | 'retry' | 'dead';

export interface Outcome {
  result: AttemptResult;
  decision: Decision;
  /** Does this attempt count as a failure of the customer's endpoint (for the circuit breaker)? */
  breakerFailure: boolean;
  status: number | null;
  /** Retry-After in ms, when the customer sent one. */
  retryAfterMs: number | null;
  /** Human-readable, for dead letters and logs. */
  detail: string;
}

export type AttemptReport =
  | { kind: 'response'; status: number; retryAfter?: string | null; bodySnippet?: string }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'network'; code: string; message: string };

/** `Retry-After`: delta-seconds or an HTTP date. Returns ms from `now`, or null when absent/unparseable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date (IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"); anything else is ignored.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return null;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

export function classify(report: AttemptReport, now: number): Outcome {
  if (report.kind === 'timeout') {
    return {
      result: 'timeout',
      decision: 'retry',
      breakerFailure: true,
      status: null,
      retryAfterMs: null,
      detail: `timeout after ${report.afterMs} ms`,
    };
  }
  if (report.kind === 'network') {
    return {
      result: 'network',
      decision: 'retry',
      breakerFailure: true,
      status: null,
      retryAfterMs: null,
      detail: `network error ${report.code}: ${report.message}`,
    };
  }
  const { status } = report;
  const snippet = report.bodySnippet ? `: ${report.bodySnippet}` : '';
  const base = { status, retryAfterMs: null, detail: `HTTP ${status}${snippet}` };
  if (status >= 200 && status < 300)
    return { ...base, result: '2xx', decision: 'delivered', breakerFailure: false };
  if (status === 429) {
    return {
      ...base,
      result: 'rate_limited',
      decision: 'retry',
      breakerFailure: false,
      retryAfterMs: parseRetryAfter(report.retryAfter, now),
    };
  }
  if (status === 408) return { ...base, result: '4xx', decision: 'retry', breakerFailure: true };
  if (status >= 500) {
    return {
      ...base,
      result: '5xx',
      decision: 'retry',
      breakerFailure: true,
      retryAfterMs: status === 503 ? parseRetryAfter(report.retryAfter, now) : null,
    };
  }
  return { ...base, result: '4xx', decision: 'dead', breakerFailure: false };
}
