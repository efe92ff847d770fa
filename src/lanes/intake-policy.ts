/**
 * Where a lane's work lives (pure): memory, the store, or still in Kafka (back-pressure).
 *
 * A healthy backlog stays in Kafka: a lane parks only work the customer cannot take now — a request in
 * flight longer than PARK_AFTER_MS, a retry waiting for its time, everything while the breaker is open or
 * the lane is paused, and what the lane holds beyond what it can send within PARK_AFTER_MS at the rate it
 * has shown. A lane that can send a full memory (`maxInMemory`) within PARK_AFTER_MS is healthy: when it
 * is full, fetching waits for it instead. A slow or broken lane is never healthy, so it never makes
 * fetching wait: the others go on at full speed (README "Guarantees and how they are kept").
 *
 * The rate is Little's law: concurrency ÷ latency, where the latency is the recent average and at least
 * the age of the oldest request still out (a customer that has not answered for 20 s is not fast, whatever
 * it did before), capped by the customer's `ratePerSecond`. While the process itself is saturated
 * (`process-load.ts`) latencies measure the process, not the customer: a lane whose oldest request out is
 * younger than PARK_AFTER_MS is then healthy, and its queued heads are not parked for their age
 * either: parking would add work to a saturated process and make every lane look slower still.
 */
import type { LaneMode } from './lane-mode.ts';

const ALPHA = 0.2;

export class DrainRate {
  private latencyMs: number | null = null;

  constructor(
    private readonly concurrency: number,
    private readonly ratePerSecond: number | null,
  ) {}

  observe(durationMs: number): void {
    const ms = Math.max(0, durationMs);
    this.latencyMs = this.latencyMs === null ? ms : this.latencyMs + ALPHA * (ms - this.latencyMs);
  }

  /** Deliveries per second the lane can make now; `oldestOutMs`: age of the oldest request in flight. */
  perSecond(oldestOutMs: number): number {
    const latency = Math.max(1, this.latencyMs ?? 0, oldestOutMs);
    const byLatency = (this.concurrency * 1000) / latency;
    return this.ratePerSecond === null ? byLatency : Math.min(byLatency, this.ratePerSecond);
  }
}

export interface LaneLoad {
  mode: LaneMode;
  /** Deliveries the lane holds in memory: queued, in flight, claimed from the store, waiting for a write. */
  held: number;
  /** `maxInMemory`. */
  cap: number;
  concurrency: number;
  /** Deliveries the lane can send within PARK_AFTER_MS at its rate. */
  drainable: number;
  /** The process's event loop is saturated (`process-load.ts`). */
  processBusy: boolean;
  /** Age of the oldest request out (0 when none). */
  oldestOutMs: number;
  parkAfterMs: number;
  /** The lane's settled judgment (`HealthJudge`, `health.ts`); null: judge by this instant alone. */
  verdict: 'healthy' | 'unhealthy' | null;
}

/**
 * Can the lane send a full memory within PARK_AFTER_MS, judging by this instant? While the process is
 * saturated, the latency it sees is its own: a lane with no request out for PARK_AFTER_MS is healthy.
 */
export function healthyNow(load: LaneLoad): boolean {
  if (load.drainable >= load.cap) return true;
  return load.processBusy && load.oldestOutMs < load.parkAfterMs;
}

/** Is the lane healthy (then a full lane makes fetching wait, and nothing is parked for capacity)? */
export function healthy(load: LaneLoad): boolean {
  return load.verdict === null ? healthyNow(load) : load.verdict === 'healthy';
}

/** What the lane keeps in memory before it parks new work: what it can drain in time, within [concurrency, cap]. */
export function budget(load: LaneLoad): number {
  return Math.min(load.cap, Math.max(load.concurrency, Math.floor(load.drainable)));
}

/** Should fetching wait for this lane? Only when it is full and will empty soon (or a rebalance holds it). */
export function saturated(load: LaneLoad): boolean {
  if (load.held < load.cap) return false;
  return load.mode === 'held' || (load.mode === 'running' && healthy(load));
}

/**
 * How many deliveries must fit before a pipeline waiting on a saturated lane is woken: a quarter of the
 * memory, at most `concurrency`, at least one. A backlog then goes in by chunks, one wake-up (one timer,
 * one heartbeat) per chunk rather than per settled delivery. Whatever else ends the saturation (a pause,
 * the lane turning unhealthy, stopping) wakes it at once.
 */
export function refill(cap: number, concurrency: number): number {
  return Math.max(1, Math.min(concurrency, Math.floor(cap / 4)));
}

/** Where a delivery goes whose package has nothing in memory and nothing parked. */
export function placeNew(load: LaneLoad): 'memory' | 'store' {
  if (load.mode === 'open' || load.mode === 'paused') return 'store';
  if (load.mode === 'held') return 'memory';
  if (load.held < budget(load) || healthy(load)) return 'memory';
  return 'store';
}

/** A package whose statuses are in memory, as the spill decision sees it. */
export interface PackageView {
  key: string;
  size: number;
  /** When its head went out (in flight), or null. */
  outSince: number | null;
  /** Its head failed and waits in memory for a retry at this time (the store could not take it), or null. */
  retryAt: number | null;
  /** Arrival of its head (ms). */
  headSeenAt: number;
  /** Arrival of its newest status (ms). */
  newestSeenAt: number;
}

export type MoveReason = 'slow' | 'retry' | 'capacity' | 'breaker_open' | 'paused';

/**
 * Which memory packages to move to the store now, whole (the one-home rule: a package's pending statuses
 * live in memory or in the store, never both).
 */
export function chooseMoves(
  pkgs: readonly PackageView[],
  load: LaneLoad,
  now: number,
  parkAfterMs: number,
): { key: string; why: MoveReason }[] {
  if (load.mode === 'held' || load.mode === 'stopping' || load.mode === 'stopped') return [];
  const cutoff = now - parkAfterMs;
  // A healthy lane of a saturated process: its queued heads wait for the process, not for the customer.
  const waitingOnProcess = load.processBusy && healthy(load);
  const out: { key: string; why: MoveReason }[] = [];
  const rest: PackageView[] = [];
  let held = load.held;
  const take = (p: PackageView, why: MoveReason) => {
    out.push({ key: p.key, why });
    held -= p.size;
  };
  for (const p of pkgs) {
    if (p.outSince !== null) {
      if (p.outSince <= cutoff) take(p, 'slow');
    } else if (load.mode === 'open') take(p, 'breaker_open');
    else if (load.mode === 'paused') take(p, 'paused');
    else if (p.retryAt !== null) take(p, 'retry');
    else if (p.headSeenAt <= cutoff && !waitingOnProcess) take(p, 'slow');
    else rest.push(p);
  }
  const limit = budget(load);
  if (held > limit && !healthy(load)) {
    // The newest wait longest: they go first, so what stays in memory is what will be sent soonest.
    rest.sort((a, b) => b.newestSeenAt - a.newestSeenAt);
    for (const p of rest) {
      if (held <= limit) break;
      take(p, 'capacity');
    }
  }
  return out;
}
