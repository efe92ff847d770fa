/**
 * The one place that speaks HTTP to a customer (undici). One connection pool per customer, sized to its
 * concurrency, so a slow customer's sockets never compete with another's. Every attempt ends within its
 * timeout (it cancels the request, not just the wait), and every response body is consumed so the socket
 * returns to the pool.
 *
 * Requests go through undici's dispatch API with one small handler per attempt: no response stream, no
 * abort signal and no listener per request (the request API's per-request objects were a visible share of
 * each delivery's CPU). The caller's signal gets one listener per signal, not per request.
 *
 *   one attempt:  waiting ─start─▶ started ─response─▶ reading ─end─▶ done
 *                    │                │                   │
 *                    └──── timeout / caller's abort / error ────────▶ done (the request is cut)
 */
import { Pool, errors } from 'undici';
import type { Dispatcher } from 'undici';
import type { KeyObject } from 'node:crypto';
import type { AttemptReport } from './outcome.ts';
import { secretKey, webhookHeaders } from './signing.ts';

export interface SendRequest {
  id: string;
  body: string;
}

export interface Sender {
  send(req: SendRequest, signal?: AbortSignal): Promise<AttemptReport>;
  close(): Promise<void>;
}

const SNIPPET_BYTES = 512;
/** A 2xx body is read (and dropped) up to this size; beyond it the connection is closed instead. */
const DRAIN_LIMIT = 1 << 20;

type Controller = Dispatcher.DispatchController;

function networkCode(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code =
    typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : 'UNKNOWN';
  return { code, message: typeof e.message === 'string' ? e.message : String(err) };
}

function headerValue(v: string | string[] | undefined): string | null {
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** One attempt's handler: settles its promise exactly once, and cuts the request when it ends early. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private controller: Controller | null = null;
  private done = false;
  private status = 0;
  private retryAfter: string | null = null;
  private taken = 0;
  private readonly chunks: Buffer[] = [];
  timer: NodeJS.Timeout | null = null;
  signal: AbortSignal | undefined;

  constructor(
    private readonly settle: (r: AttemptReport, h: AttemptHandler) => void,
    private readonly timeoutMs: number,
  ) {}

  /** Ends the attempt now with `report` (a timeout or the caller's abort) and cuts the request. */
  cut(report: AttemptReport): void {
    if (this.done) return;
    this.finish(report);
    this.controller?.abort(new Error(report.kind));
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('attempt already ended'));
  }

  onResponseStart(
    _c: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, the real answer follows
    this.status = statusCode;
    this.retryAfter = headerValue(headers['retry-after']);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.done) return;
    if (this.status >= 200 && this.status < 300) {
      this.taken += chunk.length;
      if (this.taken > DRAIN_LIMIT) {
        // The answer is known; an endless body must not hold the socket.
        this.finish(this.response(''));
        controller.abort(new Error('response body too large'));
      }
      return;
    }
    if (this.taken < SNIPPET_BYTES) this.chunks.push(chunk.subarray(0, SNIPPET_BYTES - this.taken));
    this.taken += chunk.length;
  }

  onResponseEnd(): void {
    if (this.done) return;
    const ok = this.status >= 200 && this.status < 300;
    this.finish(
      this.response(ok ? '' : Buffer.concat(this.chunks).toString('utf8').replace(/\s+/g, ' ').trim()),
    );
  }

  onResponseError(_c: Controller | null, err: Error): void {
    if (this.done) return;
    if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
      this.finish({ kind: 'timeout', afterMs: this.timeoutMs });
    } else {
      this.finish({ kind: 'network', ...networkCode(err) });
    }
  }

  private response(bodySnippet: string): AttemptReport {
    return { kind: 'response', status: this.status, retryAfter: this.retryAfter, bodySnippet };
  }

  private finish(report: AttemptReport): void {
    this.done = true;
    this.settle(report, this);
  }
}

export function createHttpSender(opts: {
  url: string;
  secret: string;
  concurrency: number;
  timeoutMs: number;
  now?: () => number;
}): Sender {
  const target = new URL(opts.url);
  const path = `${target.pathname}${target.search}`;
  const key: KeyObject = secretKey(opts.secret);
  const now = opts.now ?? Date.now;
  const pool = new Pool(target.origin, {
    connections: opts.concurrency,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs + 1000,
    bodyTimeout: opts.timeoutMs + 1000,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
  });
  /** Attempts under way, per caller's signal: its one listener cuts them all. */
  const bySignal = new Map<AbortSignal, Set<AttemptHandler>>();
  const aborted: AttemptReport = { kind: 'network', code: 'ABORTED', message: 'aborted by shutdown' };

  function watch(signal: AbortSignal, h: AttemptHandler): void {
    let set = bySignal.get(signal);
    if (set === undefined) {
      const attempts = new Set<AttemptHandler>();
      set = attempts;
      bySignal.set(signal, attempts);
      signal.addEventListener(
        'abort',
        () => {
          bySignal.delete(signal);
          for (const a of attempts) a.cut(aborted);
        },
        { once: true },
      );
    }
    set.add(h);
  }

  function unwatch(h: AttemptHandler): void {
    if (h.timer !== null) clearTimeout(h.timer);
    const { signal } = h;
    if (signal === undefined) return;
    // The signal keeps its entry (and its one listener) while it lives: a lane has one at a time.
    bySignal.get(signal)?.delete(h);
  }

  return {
    send(req, signal) {
      if (signal?.aborted === true) return Promise.resolve(aborted);
      return new Promise<AttemptReport>((resolve) => {
        const h = new AttemptHandler((report, self) => {
          unwatch(self);
          resolve(report);
        }, opts.timeoutMs);
        h.timer = setTimeout(() => h.cut({ kind: 'timeout', afterMs: opts.timeoutMs }), opts.timeoutMs);
        if (signal !== undefined) {
          h.signal = signal;
          watch(signal, h);
        }
        pool.dispatch(
          {
            path,
            method: 'POST',
            headers: {
              ...webhookHeaders(key, req.id, req.body, now()),
              'user-agent': 'package-status-integrator',
            },
            body: req.body,
          },
          h,
        );
      });
    },
    async close() {
      await pool.destroy();
    },
  };
}
