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

/** Waits until `customer`'s ledger shows `want` unique deliveries; returns the last stats seen. */
export async function waitUnique(
  mocks: MockCustomersProcess,
  customer: string,
  want: number,
  timeoutMs: number,
): Promise<{ unique: number; received: number; duplicates: number; outOfOrder: number; timedOut: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await mocks.stats(customer);
    if (s.unique >= want || Date.now() > deadline)
      return {
        unique: s.unique,
        received: s.received,
        duplicates: s.duplicates,
        outOfOrder: s.outOfOrder,
        timedOut: s.unique < want,
      };
    await sleep(200);
  }
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
