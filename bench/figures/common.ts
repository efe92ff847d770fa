/** What every figure shares: its signature, run settings, and ledger helpers. */
import type { Row } from '../table.ts';
import type { TestCustomer } from '../../test/harness/integrator.ts';
import type { DeliveryRecord, MockCustomersProcess, World } from '../world.ts';
import { SECRETS, sleep } from '../world.ts';

export interface BenchMode {
  quick: boolean;
  /** Where --cpu-prof profiles go (a profiled extra repetition is run), or null. */
  profileDir: string | null;
  log(message: string): void;
}

export interface FigureResult {
  rows: Row[];
  /** Method details and context numbers worth keeping with the table. */
  notes: string[];
  /** Raw per-repetition details for the JSON output. */
  raw?: unknown;
}

export type Figure = (world: World, mode: BenchMode) => Promise<FigureResult>;

/** One of the mock customers as the integrator's customers file names it, with `policy` (concurrency, retry, …). */
export function mockCustomer(
  mocks: MockCustomersProcess,
  id: string,
  policy: Record<string, unknown> = {},
): TestCustomer {
  return { id, url: mocks.url(id), secret: SECRETS[id]!, ...policy };
}

/**
 * A drain to fast customers gives up after this long without a new delivery (waitUnique's `stallMs`): they
 * answer in milliseconds, so 30 s of nothing is loss, not a slow machine. Churn's customer-3, whose breaker
 * holds its work for 30 s at a time, waits longer.
 */
export const FAST_DRAIN_STALL_MS = 30_000;

/** How long to wait for a ledger: a fixed limit, or as long as deliveries keep arriving (see waitUnique). */
export type WaitLimit = number | { stallMs: number; capMs: number };

/**
 * Waits until `customer`'s ledger shows `want` unique deliveries; returns the last stats seen. With a
 * number, gives up after that many ms. With `{ stallMs, capMs }`, waits as long as new unique deliveries
 * keep arriving: it gives up once none came for `stallMs` (`stalled`: what is missing is lost), or at
 * `capMs` in all (`timedOut` but not `stalled`: still arriving, so what is missing is late). For a slow
 * customer whose backlog takes longer than any fixed limit a figure could name.
 */
export async function waitUnique(
  mocks: MockCustomersProcess,
  customer: string,
  want: number,
  limit: WaitLimit,
): Promise<{
  unique: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  timedOut: boolean;
  /** Gave up because no new delivery arrived for `stallMs` (false with a fixed limit). */
  stalled: boolean;
}> {
  const started = Date.now();
  const cap = typeof limit === 'number' ? limit : limit.capMs;
  const stallMs = typeof limit === 'number' ? Infinity : limit.stallMs;
  let best = -1;
  let progressAt = started;
  for (;;) {
    const s = await mocks.stats(customer);
    const now = Date.now();
    if (s.unique > best) {
      best = s.unique;
      progressAt = now;
    }
    const stalled = now - progressAt > stallMs;
    if (s.unique >= want || stalled || now - started > cap)
      return {
        unique: s.unique,
        received: s.received,
        duplicates: s.duplicates,
        outOfOrder: s.outOfOrder,
        timedOut: s.unique < want,
        stalled: s.unique < want && stalled,
      };
    await sleep(200);
  }
}

/** How a drain that left events missing ended, for a figure's note: stalled, or cut at the cap. */
export function drainEnd(
  got: { unique: number; stalled: boolean },
  want: number,
  limit: { stallMs: number; capMs: number },
): string {
  if (got.unique >= want) return '';
  return got.stalled
    ? `deliveries had stopped for ${limit.stallMs / 1000} s`
    : `the ${limit.capMs / 1000} s drain cap was reached with deliveries still arriving`;
}

/** End-to-end ms of first deliveries (answer written − source.ts_ms) for events committed after `fromMs`. */
export function endToEnd(deliveries: DeliveryRecord[], fromMs: number, toMs = Infinity): number[] {
  const out: number[] = [];
  for (const d of deliveries) {
    if (d.duplicate || d.occurredAt === null) continue;
    const committed = Date.parse(d.occurredAt);
    if (committed < fromMs || committed > toMs) continue;
    out.push(Date.parse(d.receivedAt) - committed);
  }
  return out.sort((a, b) => a - b);
}

export function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}
