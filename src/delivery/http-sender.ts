/**
 * The one place that speaks HTTP to a customer (undici). One connection pool per customer, sized to its
 * concurrency, so a slow customer's sockets never compete with another's. Every attempt has its own abort
 * signal for the timeout (it cancels the request, not just the wait), and every response body is consumed
 * so the socket returns to the pool.
 */
import { Pool, errors } from 'undici';
import type { Dispatcher } from 'undici';
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

class TimeoutSignal extends Error {}

function networkCode(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code =
    typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : 'UNKNOWN';
  return { code, message: typeof e.message === 'string' ? e.message : String(err) };
}

async function readSnippet(body: Dispatcher.ResponseData['body']): Promise<string> {
  let taken = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (taken < SNIPPET_BYTES) chunks.push(buf.subarray(0, SNIPPET_BYTES - taken));
    taken += buf.length;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
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
  const key = secretKey(opts.secret);
  const now = opts.now ?? Date.now;
  const pool = new Pool(target.origin, {
    connections: opts.concurrency,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs + 1000,
    bodyTimeout: opts.timeoutMs + 1000,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
  });

  return {
    async send(req, outer) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new TimeoutSignal('timeout')), opts.timeoutMs);
      const onOuterAbort = (): void => controller.abort(outer?.reason);
      outer?.addEventListener('abort', onOuterAbort, { once: true });
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: {
            ...webhookHeaders(key, req.id, req.body, now()),
            'user-agent': 'package-status-integrator',
          },
          body: req.body,
          signal: controller.signal,
        });
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        let bodySnippet = '';
        if (ok) await res.body.dump({ limit: 1 << 20 });
        else bodySnippet = await readSnippet(res.body);
        const retryAfter = res.headers['retry-after'];
        return {
          kind: 'response',
          status: res.statusCode,
          retryAfter: Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
          bodySnippet,
        };
      } catch (err) {
        if (controller.signal.aborted && controller.signal.reason instanceof TimeoutSignal) {
          return { kind: 'timeout', afterMs: opts.timeoutMs };
        }
        if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
          return { kind: 'timeout', afterMs: opts.timeoutMs };
        }
        if (controller.signal.aborted)
          return { kind: 'network', code: 'ABORTED', message: 'aborted by shutdown' };
        return { kind: 'network', ...networkCode(err) };
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
      }
    },
    async close() {
      await pool.destroy();
    },
  };
}
