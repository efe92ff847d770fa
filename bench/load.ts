/**
 * Load for the bench: Debezium-shaped `package_status` change events (test/harness/events.ts), keyed by
 * package_id, produced at a steady rate by either client (`Sender`). Each event's commit time
 * (`source.ts_ms`) is the moment it is handed to the producer, so receivers can measure end-to-end latency
 * from it.
 *
 * A send that fails (broker down) is retried, in order, until acknowledged; only acknowledged events count
 * as produced, per customer, so "lost" = produced − delivered unique is exact.
 */
import { STATUSES, changeValue, keyOf, row } from '../test/harness/events.ts';
import type { KafkaMessage } from '../test/harness/events.ts';
import { sleep } from './world.ts';
import type { Sender } from './world.ts';

export interface Mix {
  /** Customer id → share of the events (weights, need not sum to 1). */
  [customer: string]: number;
}

/** Round-robin over customers by weight; each customer walks its packages through the statuses. */
export class EventStream {
  private readonly plan: string[];
  private i = 0;
  private readonly steps = new Map<string, number>();

  constructor(
    private readonly prefix: string,
    mix: Mix,
    private readonly packagesPerCustomer: number,
  ) {
    const total = Object.values(mix).reduce((a, b) => a + b, 0);
    // A 100-slot schedule interleaving customers by weight.
    const slots: { c: string; at: number }[] = [];
    for (const [c, w] of Object.entries(mix)) {
      const n = Math.max(1, Math.round((w / total) * 100));
      for (let k = 0; k < n; k++) slots.push({ c, at: (k + 0.5) / n });
    }
    this.plan = slots.sort((a, b) => a.at - b.at).map((s) => s.c);
  }

  /** The next event, committed (and captured) at `at`, ms since the epoch. */
  next(at = Date.now()): { customer: string; message: KafkaMessage } {
    const customer = this.plan[this.i % this.plan.length]!;
    this.i += 1;
    const n = this.steps.get(customer) ?? 0;
    this.steps.set(customer, n + 1);
    const pkgIndex = n % this.packagesPerCustomer;
    const step = Math.floor(n / this.packagesPerCustomer);
    const pkg = `${this.prefix}-${customer}-${String(pkgIndex).padStart(6, '0')}`;
    const status = STATUSES[step % STATUSES.length]!;
    const r = row(pkg, customer, status, step);
    return { customer, message: { key: keyOf(pkg), value: changeValue(r, { tsMs: at, nowMs: at }) } };
  }
}

export interface ProduceStats {
  /** Acknowledged events per customer. */
  produced: Map<string, number>;
  total: number;
  failedSends: number;
}

export function newStats(): ProduceStats {
  return { produced: new Map(), total: 0, failedSends: 0 };
}

/** Send a fixed list of events now (batches of `batch`), retrying each batch until acknowledged. */
export async function produceAll(
  producer: Sender,
  topic: string,
  events: { customer: string; message: KafkaMessage }[],
  stats: ProduceStats = newStats(),
  batch = 500,
): Promise<ProduceStats> {
  for (let i = 0; i < events.length; i += batch) {
    const chunk = events.slice(i, i + batch);
    await sendWithRetry(producer, topic, chunk, stats, () => true);
  }
  return stats;
}

async function sendWithRetry(
  producer: Sender,
  topic: string,
  chunk: { customer: string; message: KafkaMessage }[],
  stats: ProduceStats,
  keepTrying: () => boolean,
): Promise<boolean> {
  for (;;) {
    try {
      await producer.send({ topic, messages: chunk.map((e) => e.message) });
      for (const e of chunk) stats.produced.set(e.customer, (stats.produced.get(e.customer) ?? 0) + 1);
      stats.total += chunk.length;
      return true;
    } catch {
      stats.failedSends += 1;
      if (!keepTrying()) return false;
      await sleep(250);
    }
  }
}

export interface PacedRun {
  readonly stats: ProduceStats;
  /** Stop producing (what is already due and unsent is still sent) and wait for the loop to end. */
  stop(): Promise<ProduceStats>;
}

/**
 * `rate` events/s from `stream`, in ticks of `tickMs`, until stop(). If sends fall behind (or fail while the
 * broker is down), due events accumulate and go out, in order, as soon as sends succeed again.
 */
export function producePaced(
  producer: Sender,
  topic: string,
  stream: EventStream,
  rate: number,
  tickMs = 10,
): PacedRun {
  const stats = newStats();
  let stopping = false;
  const started = Date.now();
  let generated = 0;
  const loop = (async () => {
    for (;;) {
      const due = Math.floor(((Date.now() - started) * rate) / 1000);
      const n = stopping ? 0 : Math.min(due - generated, 5000);
      const chunk: { customer: string; message: KafkaMessage }[] = [];
      for (let k = 0; k < n; k++) chunk.push(stream.next());
      generated += n;
      if (chunk.length > 0) await sendWithRetry(producer, topic, chunk, stats, () => true);
      if (stopping) return;
      await sleep(tickMs);
    }
  })();
  return {
    stats,
    async stop() {
      stopping = true;
      await loop;
      return stats;
    },
  };
}
