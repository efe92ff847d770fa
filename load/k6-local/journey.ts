/** One iteration of the local driver, the same as k6/lib/journey.js: a package's whole journey. */
import type { Dispatcher } from 'undici';
import { buildJourney } from '../generator/journey.ts';
import type { Rng } from '../generator/random.ts';
import type { RequestSample } from './stats.ts';

export interface JourneyContext {
  client: Dispatcher;
  /** Path prefix of the tracking API, usually ''. */
  basePath: string;
  rng: Rng;
  customers: readonly string[];
  record: (sample: RequestSample) => void;
  signal: AbortSignal;
}

async function call(
  ctx: JourneyContext,
  name: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const started = performance.now();
  try {
    const res = await ctx.client.request({
      method,
      path: `${ctx.basePath}${path}`,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: ctx.signal,
    });
    const text = await res.body.text();
    const durationMs = performance.now() - started;
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    ctx.record({ name, status: res.statusCode, durationMs, ok });
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.statusCode, json };
  } catch {
    ctx.record({ name, status: 0, durationMs: performance.now() - started, ok: false });
    return { status: 0, json: null };
  }
}

/** Runs one journey; true when every step answered as expected and the history came back complete. */
export async function runJourney(ctx: JourneyContext, sequence: number): Promise<boolean> {
  const rows = buildJourney(ctx.rng, {
    packageId: `LOCAL-${sequence}`,
    customerId: ctx.rng.pick(ctx.customers),
    hops: ctx.rng.int(1, 3),
  });
  const [posted, ...movements] = rows;
  if (!posted) return false;
  const created = await call(ctx, 'POST /packages', 'POST', '/packages', {
    customer_id: posted.customer_id,
    origin_address: posted.actual_address,
    next_address: posted.next_address,
  });
  const packageId = (created.json as { package_id?: unknown } | null)?.package_id;
  if (created.status !== 201 || typeof packageId !== 'string') return false;
  for (const step of movements) {
    const moved = await call(
      ctx,
      'POST /packages/:id/movements',
      'POST',
      `/packages/${packageId}/movements`,
      {
        status: step.status,
        actual_address: step.actual_address,
        next_address: step.next_address,
      },
    );
    if (moved.status !== 201) return false;
  }
  const read = await call(ctx, 'GET /packages/:id', 'GET', `/packages/${packageId}`);
  const history = (read.json as { history?: unknown } | null)?.history;
  return read.status === 200 && Array.isArray(history) && history.length === rows.length;
}
